"""Call-offs under concurrency (PostgreSQL): however many schools call off at one moment, the
contract's capacity and maximum value are never exceeded; the refused are told what is left."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Role, User
from marketplace.offers.models import Offer
from marketplace.orders import drafting
from marketplace.orders.errors import PriceChanged
from marketplace.orders.models import ORDER_RESERVING_STATUSES, Order
from procurement.contracts import calloffs
from procurement.contracts.errors import DrawdownExceeded
from tests import factories
from tests.marketplace.conftest import term_key
from tests.procurement.contracts.factories import make_contract, make_ep_provider
from tests.support.concurrency import race, racing_app

pytestmark = pytest.mark.postgres_only

SCHOOLS = 10


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    """The app on a database of its own, with a connection for every racing school."""
    with racing_app(
        backend, module_database, tmp_path_factory.mktemp("calloff-concurrency"), SCHOOLS + 2
    ) as app:
        yield app


def _schools_and_contract(**contract: Any) -> tuple[int, list[tuple[int, int]]]:
    """A contract (no catalogue offer) with SCHOOLS schools taking part, each with an SBM;
    the contract's id and (user id, school id) of each SBM."""
    service = factories.make_service()
    schools = [factories.make_school() for _ in range(SCHOOLS)]
    sbms = [factories.make_user(Role.SBM, school=school) for school in schools]
    made = make_contract(make_ep_provider(), service, schools, **contract)
    return made.id, [(user.id, user.school_id) for user in sbms]


def _call_off(contract_id: int, user_id: int, school_id: int) -> Callable[[], Any]:
    def job() -> Any:
        return calloffs.call_off(
            contract_id,
            school_id,
            db.session.get(User, user_id),
            term_key=factories.this_term().key,
            quantity=3,
            po_number=f"PO-RACE-{school_id}",
        )

    return job


def _held(contract_id: int) -> tuple[int, int]:
    units, pence = db.session.execute(
        sa.select(sa.func.sum(Order.quantity), sa.func.sum(Order.total_pence)).where(
            Order.contract_id == contract_id, Order.status.in_(ORDER_RESERVING_STATUSES)
        )
    ).one()
    return int(units or 0), int(pence or 0)


def test_concurrent_call_offs_never_draw_more_units_than_the_contract_has(live_app):
    with live_app.app_context():
        contract_id, callers = _schools_and_contract(capacity=20)

    results = race(live_app, [_call_off(contract_id, u, s) for u, s in callers])

    placed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, DrawdownExceeded)]
    assert (len(placed), len(refused)) == (6, 4), results  # 6 × 3 = 18 of 20 units
    assert all("has only 2 days left" in r.message for r in refused), refused
    with live_app.app_context():
        assert _held(contract_id) == (18, 18 * 30_000)


def test_concurrent_call_offs_never_draw_more_value_than_the_contract_has(live_app):
    with live_app.app_context():
        contract_id, callers = _schools_and_contract(capacity=None, value_pence=450_000)

    results = race(live_app, [_call_off(contract_id, u, s) for u, s in callers])

    placed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, DrawdownExceeded)]
    assert (len(placed), len(refused)) == (5, 5), results  # 5 × £900 = £4,500
    assert all("reached its maximum value" in r.message for r in refused), refused
    with live_app.app_context():
        assert _held(contract_id) == (15, 450_000)


def test_orders_priced_by_a_contract_and_submitted_at_once_never_draw_more_than_it_has(live_app):
    """Orders from a catalogue offer that the school's contract prices (call-offs with an offer)
    lock the contract at submit as call-offs do: beyond what is left, a draft saved at the
    contract's price is refused as repriced at the offer's, never submitted over the capacity."""
    with live_app.app_context():
        provider = make_ep_provider()
        service = factories.make_service()
        factories.make_offer(provider, service, tiers=[(0, 40_000)], capacity=1_000)
        schools = [factories.make_school() for _ in range(SCHOOLS)]
        sbms = [factories.make_user(Role.SBM, school=school) for school in schools]
        contract_id = make_contract(provider, service, schools, capacity=20).id
        offer_id = db.session.scalar(sa.select(Offer.id).where(Offer.service_id == service.id))
        drafts = [
            (
                drafting.create_draft(
                    school_id=sbm.school_id,
                    offer_id=offer_id,
                    term_key=term_key(),
                    quantity=3,
                    po_number="PO-RACE",
                    actor=sbm,
                ),
                sbm,
            )
            for sbm in sbms
        ]
        assert all(order.contract_id == contract_id for order, _ in drafts)
        jobs = [(order.id, sbm.school_id, sbm.id) for order, sbm in drafts]
        db.session.commit()

    def submit(order_id: int, school_id: int, user_id: int) -> Callable[[], Any]:
        return lambda: drafting.submit(order_id, school_id, db.session.get(User, user_id))

    results = race(live_app, [submit(*job) for job in jobs])

    refused = [r for r in results if isinstance(r, PriceChanged)]
    assert len(refused) == 4, results  # 6 × 3 = 18 of 20 units at the contract's price
    with live_app.app_context():
        assert _held(contract_id) == (18, 18 * 30_000)
