"""Sending outbox rows, each at most once however often the send task runs.

A send first *claims* the row: an UPDATE from queued to sending, committed, that only one
task can win. Only the winner transmits, then marks it sent. A task that fails puts the row
back to queued with its error (the queue retries with back-off) or, after MAIL_MAX_ATTEMPTS,
marks it failed. A task that finds the row claimed by another raises ClaimHeld, so the queue
tries again later; a claim older than MAIL_CLAIM_SECONDS (its worker died between claiming
and marking, e.g. killed mid-SMTP) is then taken over. The message keeps its Message-ID on
every attempt, so a mail server can drop a repeat of one that did get through just before
its worker died.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db, rows_changed
from app.notifications.mailer import transmit
from app.notifications.models import OutboxMessage, OutboxStatus
from app.time import utcnow

MAIL_MAX_ATTEMPTS = 6  # the first try and five retries


class DeliveryFailed(RuntimeError):
    """The mail server (or the disk) refused; the queue retries the task."""


class ClaimHeld(RuntimeError):
    """Another worker is sending the row right now; the queue retries the task later."""


def claim_timeout() -> timedelta:
    from flask import current_app

    return timedelta(seconds=float(current_app.config["MAIL_CLAIM_SECONDS"]))


def _claim(message_id: int, now: datetime) -> bool:
    claimable = sa.or_(
        OutboxMessage.status == OutboxStatus.QUEUED,
        sa.and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at < now - claim_timeout(),
        ),
    )
    won = rows_changed(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, claimable)
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return won == 1


def send_message(message_id: int, now: datetime | None = None) -> bool:
    """Send one outbox row if nobody else has; True when this call sent it, False when it is
    already sent (or failed for good, or not to be sent alone). ClaimHeld while another
    worker holds it."""
    now = now or utcnow()
    if not _claim(message_id, now):
        status = db.session.scalar(
            sa.select(OutboxMessage.status).where(OutboxMessage.id == message_id)
        )
        if status is OutboxStatus.SENDING:
            raise ClaimHeld(f"outbox {message_id} is being sent by another worker")
        return False
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    assert message is not None
    try:
        transmit(message)
    except Exception as exc:  # noqa: BLE001 — any failure is recorded, then retried
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        message.status = (
            OutboxStatus.FAILED if message.attempts >= MAIL_MAX_ATTEMPTS else OutboxStatus.QUEUED
        )
        db.session.commit()
        raise DeliveryFailed(message.last_error) from exc
    message.status = OutboxStatus.SENT
    message.sent_at = utcnow()
    message.last_error = ""
    db.session.commit()
    return True


def retry(message_id: int) -> OutboxMessage | None:
    """An admin sends a failed message again: it goes back to the queue with fresh attempts."""
    from app.jobs import enqueue_after_commit
    from app.notifications.tasks import send_email

    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status is not OutboxStatus.FAILED:
        return None
    message.status = OutboxStatus.QUEUED
    message.attempts = 0
    enqueue_after_commit(send_email, message.id)
    db.session.commit()
    return message
