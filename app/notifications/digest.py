"""The daily digest: one email per person gathering the messages they chose to get daily."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.rendering import link, render_email
from app.notifications.services import outbox_row
from app.time import format_date, london_date, utcnow
from app.use_case import use_case


@use_case
def send_digests(now: datetime | None = None) -> int:
    """Fold each person's held messages into one digest email (queued to send); how many
    digests. Running it twice on a day makes no second digest for the same messages."""
    now = now or utcnow()
    day = london_date(now)
    held = db.session.scalars(
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.HELD,
            OutboxMessage.user_id.is_not(None),
            OutboxMessage.created_at <= now,
        )
        .order_by(OutboxMessage.user_id, OutboxMessage.created_at, OutboxMessage.id)
        .with_for_update()
    ).all()
    made = 0
    for user_id, rows in groupby(held, key=lambda row: row.user_id):
        items = list(rows)
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            continue
        count = len(items)
        email = render_email(
            "digest",
            f"Pooled: {count} update{'s' if count != 1 else ''} for {format_date(day)}",
            recipient=user,
            items=items,
            link=link("notifications.notifications"),
        )
        digest = outbox_row("digest", user, key=f"digest:{user.id}:{day.isoformat()}", email=email)
        if digest is None:  # today's digest was made already: these wait for tomorrow's
            continue
        for item in items:
            item.status = OutboxStatus.DIGESTED
            item.digest_id = digest.id
        made += 1
    db.session.commit()
    return made
