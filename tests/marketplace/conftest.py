"""Marketplace fixtures: the shared world, committed, plus helpers to place orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.calendar import AcademicYear, Term, add_working_days
from app.extensions import db
from app.models import AuditEvent
from app.time import london_today
from marketplace.offers.models import OfferCapacity
from marketplace.orders import drafting
from marketplace.orders.models import Order
from tests import factories


def term_key() -> str:
    """The term orders are placed for: the current one if a 10-day lead time fits, else the next."""
    today = london_today()
    current = Term.containing(today)
    if add_working_days(today, 10) <= current.ends_on:
        return current.key
    return Term.containing(current.ends_on + timedelta(days=1)).key


@pytest.fixture
def market(world: factories.World) -> factories.World:
    """The world, committed (a savepoint), so a use case that refuses and rolls back keeps it.

    The world's offers also run through next academic year, so `term_key()` always has
    capacity whatever today's date.
    """
    next_year = AcademicYear(factories.this_year().start_year + 1)
    for offer in (world.offer_a, world.offer_b):
        offer.valid_to = next_year.ends_on
        capacity = offer.capacities[0].capacity
        for term in next_year.terms():
            offer.capacities.append(OfferCapacity(term_key=term.key, capacity=capacity))
    db.session.commit()
    return world


def draft(world: factories.World, quantity: int = 5, **kwargs: Any) -> Order:
    """A draft order from school A for offer A (counselling at £250 a day, £230 from 20)."""
    return drafting.create_draft(
        school_id=kwargs.pop("school_id", world.school_a.id),
        offer_id=kwargs.pop("offer_id", world.offer_a.id),
        term_key=kwargs.pop("term_key", term_key()),
        quantity=quantity,
        po_number=kwargs.pop("po_number", "PO-1001"),
        actor=kwargs.pop("actor", world.sbm_a),
        **kwargs,
    )


def reserved(offer_id: int, key: str | None = None) -> int:
    """Units reserved on an offer for a term, read fresh from the database."""
    return db.session.execute(
        sa.select(OfferCapacity.reserved).where(
            OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == (key or term_key())
        )
    ).scalar_one()


def counts() -> tuple[int, int]:
    """(orders, audit events): what a refused action must leave unchanged."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Order)),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    )


@pytest.fixture
def login(auth: Any) -> Any:
    """Sign in as a user, signing out whoever was signed in first."""

    def switch(user: Any) -> Any:
        auth.logout()
        return auth.as_user(user)

    return switch
