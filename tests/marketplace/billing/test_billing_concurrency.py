"""Runs at the same moment, on PostgreSQL: still one invoice per thing, here and in Stripe."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.time import london_today
from marketplace.billing import runs
from marketplace.billing.models import BillingRun, Invoice, InvoiceLine, InvoiceStatus
from marketplace.billing.state import gateway_from_config, namespace
from tests import factories
from tests.marketplace.billing.conftest import make_order, stripe_invoices
from tests.support.concurrency import race, racing_app
from tests.support.stripe_fixtures import stripe_client, stripe_env

RUNS = 4
pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(
    backend: str, module_database: str, tmp_path_factory: Any, localstripe_url: str
) -> Iterator[Flask]:
    """The app on a database of its own, billing through the local Stripe server."""
    tmp = tmp_path_factory.mktemp("billing-concurrency")
    with racing_app(backend, module_database, tmp, RUNS + 4, **stripe_env(localstripe_url)) as app:
        yield app


def test_four_runs_at_once_bill_each_thing_once(live_app: Flask, localstripe_url: str) -> None:
    with live_app.app_context():
        world = factories.make_world()
        for school in (world.school_a, world.school_b):
            school.finance_email = f"finance{school.id}@example.test"
        for n in range(6):
            make_order(world.school_a if n % 2 else world.school_b, world.offer_a, n + 1)
        started = [BillingRun(as_of=london_today(), stripe_configured=True) for _ in range(RUNS)]
        db.session.add_all(started)
        db.session.commit()
        run_ids = [r.id for r in started]

    def job(run_id: int) -> Callable[[], Any]:
        def bill() -> Any:
            run = db.session.get(BillingRun, run_id)
            return runs.execute(run, gateway_from_config())

        return bill

    outcomes = race(live_app, [job(run_id) for run_id in run_ids], timeout=120)

    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    assert sum(o.invoices_created for o in outcomes) == 8  # 2 memberships + 6 orders
    with live_app.app_context():
        # A run that met another on the same invoice records it and leaves it to the next.
        runs.execute(runs.start_run(None), gateway_from_config())
        rows = db.session.scalars(sa.select(Invoice)).all()
        assert len(rows) == 8
        order_lines = db.session.scalars(
            sa.select(InvoiceLine.order_id).where(InvoiceLine.order_id.is_not(None))
        ).all()
        assert len(order_lines) == len(set(order_lines)) == 6
        assert all(i.status is InvoiceStatus.OPEN and i.stripe_invoice_id for i in rows)
        remote = stripe_invoices(stripe_client(localstripe_url), namespace())
        assert sorted(r.id for r in remote) == sorted(i.stripe_invoice_id for i in rows)


def test_four_runs_at_once_bill_a_trust_once_on_one_invoice(
    live_app: Flask, localstripe_url: str
) -> None:
    with live_app.app_context():
        # (The module's database already holds the first test's world, all billed.)
        trust = factories.make_trust(invoice_once=True, finance_email="finance@trust.example")
        schools = [factories.make_school(trust=trust) for _ in range(2)]
        offer = factories.make_offer(factories.make_provider(), factories.make_service())
        trust_orders = [make_order(schools[n % 2], offer, n + 1).id for n in range(6)]
        started = [BillingRun(as_of=london_today(), stripe_configured=True) for _ in range(RUNS)]
        db.session.add_all(started)
        db.session.commit()
        run_ids = [r.id for r in started]
        trust_id = trust.id

    def job(run_id: int) -> Callable[[], Any]:
        def bill() -> Any:
            run = db.session.get(BillingRun, run_id)
            return runs.execute(run, gateway_from_config())

        return bill

    outcomes = race(live_app, [job(run_id) for run_id in run_ids], timeout=120)

    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    with live_app.app_context():
        runs.execute(runs.start_run(None), gateway_from_config())
        [invoice] = db.session.scalars(sa.select(Invoice).where(Invoice.trust_id == trust_id))
        assert sorted(line.order_id for line in invoice.lines) == sorted(trust_orders)
        order_lines = db.session.scalars(
            sa.select(InvoiceLine.order_id).where(InvoiceLine.order_id.in_(trust_orders))
        ).all()
        assert len(order_lines) == len(set(order_lines)) == 6
        assert invoice.status is InvoiceStatus.OPEN and invoice.stripe_invoice_id
