"""`notify`: what a use case calls when something happened that people should hear about.

It writes, in the caller's transaction (the caller's use case commits): an in-app
notification per person, and an outbox row per person who wants the email, keyed by event and
recipient so that telling the same event twice writes nothing new. Rows to send straight away
are handed to the send task (app.notifications.tasks) when the transaction commits; rows for
a daily digest wait (status held).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.jobs import enqueue_after_commit
from app.models import User
from app.notifications.kinds import Delivery, effective_delivery, kind
from app.notifications.models import (
    Notification,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
)
from app.notifications.rendering import Email, render_email
from app.notifications.tasks import send_email


def preference(user_id: int, kind_key: str) -> Delivery | None:
    return db.session.scalar(
        sa.select(NotificationPreference.delivery).where(
            NotificationPreference.user_id == user_id, NotificationPreference.kind == kind_key
        )
    )


def _exists(statement: sa.Select[Any]) -> bool:
    return db.session.scalar(statement.limit(1)) is not None


def _add_once(row: Notification | OutboxMessage) -> bool:
    """Add a row unless its unique key is already taken (by us earlier, or by a concurrent
    transaction: the savepoint keeps the caller's transaction usable)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def _in_app(link: str) -> str:
    """The link as a path on this site, for the notification list (emails keep BASE_URL)."""
    base = current_app.config["BASE_URL"]
    return link[len(base) :] or "/" if link.startswith(base) else link


def notify(
    kind_key: str,
    recipients: Iterable[User],
    *,
    event: str,
    template: str,
    subject: str,
    link: str,
    about: tuple[str, int | str] = ("", ""),
    summary: str = "",
    **context: Any,
) -> list[OutboxMessage]:
    """Tell each (distinct, active) recipient about an event, by notification and email.

    `event` names the event uniquely (e.g. "order-40-approved"); `template` is the mail
    template under templates/app/mail/, rendered per recipient with `recipient`, `link` and
    `context`. Returns the outbox rows written now (none for an event already told).
    """
    kind(kind_key)  # an unknown kind is a programming error, caught here
    written: list[OutboxMessage] = []
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        if not _exists(
            sa.select(Notification.id).where(
                Notification.user_id == user.id, Notification.key == event
            )
        ) and kind_key not in ("password_reset", "invitation"):
            _add_once(
                Notification(
                    user_id=user.id,
                    key=event,
                    kind=kind_key,
                    title=subject,
                    summary=summary,
                    link=_in_app(link),
                )
            )
        delivery = effective_delivery(kind_key, preference(user.id, kind_key))
        if delivery is Delivery.OFF:
            continue
        email = render_email(template, subject, recipient=user, link=link, **context)
        row = outbox_row(
            kind_key,
            user,
            key=f"{event}:{user.id}",
            email=email,
            about=about,
            held=delivery is Delivery.DIGEST,
        )
        if row is not None:
            written.append(row)
    return written


def outbox_row(
    kind_key: str,
    user: User,
    *,
    key: str,
    email: Email,
    about: tuple[str, int | str] = ("", ""),
    held: bool = False,
) -> OutboxMessage | None:
    """Write one outbox row (None if the key was written before) and, unless it waits for
    a digest, have it sent after the commit."""
    return _write(kind_key, user.email, user.id, key=key, email=email, about=about, held=held)


def email_address(
    kind_key: str,
    address: str,
    *,
    key: str,
    email: Email,
    about: tuple[str, int | str] = ("", ""),
) -> OutboxMessage | None:
    """Email someone who has no account (e.g. an applicant): one outbox row, sent after the
    commit; None if the key was written before."""
    kind(kind_key)
    return _write(kind_key, address, None, key=key, email=email, about=about, held=False)


def _write(
    kind_key: str,
    address: str,
    user_id: int | None,
    *,
    key: str,
    email: Email,
    about: tuple[str, int | str],
    held: bool,
) -> OutboxMessage | None:
    if _exists(sa.select(OutboxMessage.id).where(OutboxMessage.key == key)):
        return None
    row = OutboxMessage(
        key=key,
        kind=kind_key,
        recipient=address,
        user_id=user_id,
        subject=email.subject,
        text_body=email.text,
        html_body=email.html,
        subject_type=about[0],
        subject_id=str(about[1]),
        status=OutboxStatus.HELD if held else OutboxStatus.QUEUED,
        attempts=0,
        last_error="",
    )
    if not _add_once(row):
        return None
    if not held:
        enqueue_after_commit(send_email, row.id)
    return row
