"""Billing fixtures: orders in any state, contracts for call-offs, the local Stripe server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import stripe
from flask import Flask

from app.calendar import Term
from app.extensions import db
from app.models import School
from app.time import london_today, utcnow
from marketplace.billing.models import Invoice
from marketplace.billing.stripe_gateway import StripeGateway
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts.models import Contract, ContractSource, ContractStatus
from tests import factories
from tests.support.stripe_fixtures import (
    TEST_API_KEY,
    TEST_WEBHOOK_SECRET,
    localstripe_url,  # noqa: F401  (the session fixture: a local Stripe on 127.0.0.1)
    stripe_client,
)

STRIPE_SETTINGS = ("STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")


@pytest.fixture
def stripe_config(app: Flask, localstripe_url: str) -> Iterator[str]:  # noqa: F811
    """The app pointed at the local Stripe server for one test; its URL."""
    saved = {name: app.config.get(name) for name in STRIPE_SETTINGS}
    app.config.update(
        STRIPE_API_KEY=TEST_API_KEY,
        STRIPE_API_BASE=localstripe_url,
        STRIPE_WEBHOOK_SECRET=TEST_WEBHOOK_SECRET,
    )
    try:
        yield localstripe_url
    finally:
        app.config.update(saved)


@pytest.fixture
def no_stripe(app: Flask) -> Iterator[None]:
    """The app with Stripe not configured (the embedded default)."""
    saved = {name: app.config.get(name) for name in STRIPE_SETTINGS}
    app.config.update(STRIPE_API_KEY="", STRIPE_API_BASE="", STRIPE_WEBHOOK_SECRET="")
    try:
        yield
    finally:
        app.config.update(saved)


@pytest.fixture
def client_stripe(localstripe_url: str) -> stripe.StripeClient:  # noqa: F811
    """The real Stripe client on the local server, for looking at what billing made there."""
    return stripe_client(localstripe_url)


@pytest.fixture
def gateway(localstripe_url: str) -> StripeGateway:  # noqa: F811
    return StripeGateway(stripe_client(localstripe_url))


def previous_term(today: date | None = None) -> Term:
    current = Term.containing(today or london_today())
    return Term.containing(current.starts_on - timedelta(days=1))


def make_order(
    school: School,
    offer: Offer,
    quantity: int = 4,
    *,
    status: OrderStatus = OrderStatus.DELIVERED,
    term_key: str | None = None,
    unit_price_pence: int | None = None,
    setup_pence: int = 0,
    entitled: int = 0,
    po_number: str = "PO-7731",
    contract: Contract | None = None,
    cancellation_charge_pence: int = 0,
) -> Order:
    """An order (or a call-off, with `contract`) already in `status`, priced plainly."""
    unit = unit_price_pence if unit_price_pence is not None else offer.tiers[0].unit_price_pence
    now = utcnow()
    order = Order(
        school_id=school.id,
        provider_id=offer.provider_id,
        service_id=offer.service_id,
        offer_id=offer.id,
        contract_id=contract.id if contract else None,
        kind=OrderKind.CALL_OFF if contract else OrderKind.ORDER,
        term_key=term_key or factories.this_term().key,
        quantity=quantity,
        entitled_quantity=entitled,
        unit_price_pence=unit,
        setup_pence=setup_pence,
        total_pence=(quantity - entitled) * unit + setup_pence,
        cancellation_charge_pence=cancellation_charge_pence,
        po_number=po_number,
        status=status,
        submitted_at=now,
        approved_at=now,
        confirmed_at=now,
        delivered_at=now if status in (OrderStatus.DELIVERED, OrderStatus.INVOICED) else None,
        # Delivered orders here were accepted by the school (tests of acceptance set their own).
        accepted_at=now if status in (OrderStatus.DELIVERED, OrderStatus.INVOICED) else None,
    )
    db.session.add(order)
    db.session.flush()
    return order


def make_contract(offer: Offer, reference: str | None = None) -> Contract:
    """An active contract with the offer's provider for its service."""
    year = factories.this_year()
    contract = Contract(
        reference=reference or f"ELP-C-{offer.id}-{utcnow().timestamp():.0f}",
        title=f"{offer.service.name} framework",
        provider_id=offer.provider_id,
        service_id=offer.service_id,
        source=ContractSource.ROUND,
        status=ContractStatus.ACTIVE,
        starts_on=year.starts_on - timedelta(days=400),
        ends_on=year.ends_on,
    )
    db.session.add(contract)
    db.session.flush()
    return contract


def invoices() -> list[Invoice]:
    """Every invoice, oldest first, read fresh."""
    return list(
        db.session.scalars(
            sa.select(Invoice).order_by(Invoice.id).execution_options(populate_existing=True)
        )
    )


def count(model: Any, *conditions: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def standard_rated_service() -> Service:
    """A traded service charged VAT at 20% (e.g. HR advice to a non-eligible body)."""
    from marketplace.catalogue.models import Unit, VatTreatment

    return factories.make_service(
        name="HR advice", category="hr", unit=Unit.HOUR, vat=VatTreatment.STANDARD
    )


def ours(objects: Any, key: str, namespace: str) -> list[Any]:
    """Stripe objects whose metadata[key] belongs to this database's namespace."""
    return [
        o
        for o in objects
        if str((o.metadata.to_dict() if o.metadata else {}).get(key, "")).startswith(
            namespace + ":"
        )
    ]


def stripe_invoices(client: stripe.StripeClient, namespace: str) -> list[Any]:
    listed = client.v1.invoices.list({"limit": 100}).auto_paging_iter()
    return ours(listed, "pooled_invoice", namespace)


def stripe_customers(client: stripe.StripeClient, namespace: str) -> list[Any]:
    listed = client.v1.customers.list({"limit": 100}).auto_paging_iter()
    return ours(listed, "pooled_school", namespace)
