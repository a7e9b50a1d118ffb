"""The outbox (every email, before it is sent), in-app notifications and preferences."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models import enum_column
from app.notifications.kinds import Delivery
from app.time import utcnow
from app.types import UTCDateTime


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for the send task
    SENDING = "sending"  # claimed by a send task
    SENT = "sent"
    FAILED = "failed"  # gave up after the retries; last_error says why
    HELD = "held"  # waiting for the recipient's daily digest
    DIGESTED = "digested"  # went out inside a digest


OUTBOX_STATUS_TEXT = {
    OutboxStatus.QUEUED: "Queued",
    OutboxStatus.SENDING: "Sending",
    OutboxStatus.SENT: "Sent",
    OutboxStatus.FAILED: "Failed",
    OutboxStatus.HELD: "Held for digest",
    OutboxStatus.DIGESTED: "Sent in a digest",
}


class OutboxMessage(Model):
    """One email to one person about one event; `key` is unique per event and recipient, so
    the same event told twice writes one row, and the send task sends a row once."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str] = mapped_column(sa.Text)
    # The record the event is about, e.g. ("order", "40").
    subject_type: Mapped[str] = mapped_column(sa.String(40), default="")
    subject_id: Mapped[str] = mapped_column(sa.String(40), default="")
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The digest a held message went out in.
    digest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_messages.id"))

    @property
    def message_id(self) -> str:
        """The Message-ID header: the same for every attempt, so mail servers can drop a
        repeat."""
        return f"<outbox-{self.id}.{self.key.replace(':', '.')}@pooled>"


class Notification(Model):
    """What a person sees in their notification list (the same events as the email)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(Model):
    """How one person wants one kind of message by email (no row: straight away)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    delivery: Mapped[Delivery] = enum_column(Delivery)
