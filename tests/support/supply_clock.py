"""TEST ONLY: move a cover request's dates into the past.

A browser test books cover for next week and then needs that week to have happened, so that the
agency can submit its timesheet: this moves the request (and its proposals and booking) some
days earlier, straight in the live server's database. Production code has no such command.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from marketplace.supply.models import Booking, CoverRequest, Proposal
from tests.support.live_database import live_database


def shift_request_dates(database_url: str, request_id: int, days: int, tmp_path: object) -> None:
    """Move cover request `request_id`'s dates `days` into the past, in the database at
    `database_url`."""
    with live_database(database_url, tmp_path):
        _shift(request_id, timedelta(days=days))


def _shift(request_id: int, delta: timedelta) -> None:
    request = db.session.get(CoverRequest, request_id)
    assert request is not None, f"There is no cover request {request_id}."
    request.starts_on -= delta
    request.ends_on -= delta
    for name in ("posted_at", "fill_by_at", "filled_at", "cancelled_at"):
        value = getattr(request, name)
        if value is not None:
            setattr(request, name, value - delta)
    proposals = sa.select(Proposal).where(Proposal.request_id == request_id)
    for proposal in db.session.scalars(proposals):
        proposal.proposed_at -= delta
    for booking in db.session.scalars(sa.select(Booking).where(Booking.request_id == request_id)):
        booking.confirmed_at -= delta
