"""A person's notification list and email preferences."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.errors import NotFound
from app.extensions import db, rows_changed
from app.models import User
from app.notifications.kinds import CHOOSABLE, Delivery, kind
from app.notifications.models import Notification, NotificationPreference
from app.time import utcnow
from app.use_case import use_case


def unread_count(user_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_for(user_id: int) -> sa.Select[Any]:
    return (
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


@use_case
def open_notification(notification_id: int, user: User) -> Notification:
    """The person opens one of their notifications: it is read."""
    notification = db.session.scalar(
        sa.select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if notification is None:
        raise NotFound("There is no such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
    db.session.commit()
    return notification


@use_case
def mark_all_read(user: User) -> int:
    changed = rows_changed(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return changed


def preferences(user_id: int) -> dict[str, Delivery]:
    """Every choosable kind with the person's choice (straight away unless chosen)."""
    chosen = dict(
        db.session.execute(
            sa.select(NotificationPreference.kind, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user_id
            )
        ).all()
    )
    return {k.key: chosen.get(k.key, Delivery.IMMEDIATELY) for k in CHOOSABLE}


@use_case
def save_preferences(user: User, choices: dict[str, Delivery]) -> None:
    """Record the person's choices; required kinds cannot be changed."""
    for key, delivery in choices.items():
        if kind(key).required:
            continue
        row = db.session.get(NotificationPreference, (user.id, key))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=key, delivery=delivery))
        else:
            row.delivery = delivery
    db.session.commit()
