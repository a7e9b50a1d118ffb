"""Reading the outbox and notifications in tests: who was told what."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.notifications.models import Notification, OutboxMessage


def emails(kind: str | None = None, to: User | None = None) -> list[OutboxMessage]:
    """Outbox rows, oldest first, of a kind and/or to a person."""
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    if to is not None:
        stmt = stmt.where(OutboxMessage.user_id == to.id)
    return list(db.session.scalars(stmt))


def recipients(kind: str) -> set[str]:
    """The addresses emailed about a kind of event."""
    return {row.recipient for row in emails(kind)}


def notifications(user: User) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )
