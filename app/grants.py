"""Grants and commissions the partnership received: income beside subscriptions and trading."""

from __future__ import annotations

from datetime import date

from app import audit
from app.errors import DomainError
from app.extensions import db
from app.models import Grant, User
from app.time import london_today
from app.use_case import use_case


class GrantError(DomainError):
    code = "grant_invalid"


@use_case
def record_grant(
    actor: User,
    *,
    source: str,
    description: str,
    amount_pence: int,
    received_on: date,
    today: date | None = None,
) -> Grant:
    """Record money received on a day up to today (London); audited, committed once."""
    if received_on > (today or london_today()):
        raise GrantError("Received on must be today or in the past", field="received_on")
    grant = Grant(
        source=source.strip(),
        description=description.strip(),
        amount_pence=amount_pence,
        received_on=received_on,
        recorded_by_id=actor.id,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        actor,
        "grant",
        grant.id,
        "recorded",
        after={
            "source": grant.source,
            "amount_pence": grant.amount_pence,
            "received_on": grant.received_on.isoformat(),
        },
        scope="partnership",
    )
    db.session.commit()
    return grant
