"""Helpers for the dashboard tests: booked orders and contracts on the marketplace's world."""

from __future__ import annotations

from datetime import date, timedelta

from app.extensions import db
from marketplace.orders import decisions, drafting
from marketplace.orders.models import OrderStatus
from procurement.contracts.models import Contract, ContractSource, ContractStatus, ContractTier
from tests.marketplace.conftest import draft


def booked(market, quantity: int = 5, **kwargs):
    """An order from school A, submitted, approved where needed and confirmed by provider A."""
    order = draft(market, quantity=quantity, **kwargs)
    drafting.submit(order.id, order.school_id, market.sbm_a)
    if order.status is OrderStatus.SUBMITTED:
        decisions.approve(order.id, order.school_id, market.head_a)
    return decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)


def make_contract(market, ends_on: date, status=ContractStatus.ACTIVE, source=ContractSource.ROUND):
    contract = Contract(
        reference=f"C-{ends_on.isoformat()}-{status.value}",
        title="Counselling",
        provider_id=market.provider_a.id,
        service_id=market.offer_a.service_id,
        source=source,
        status=status,
        starts_on=ends_on - timedelta(days=300),
        ends_on=ends_on,
        tiers=[ContractTier(min_quantity=0, unit_price_pence=20_000)],
    )
    db.session.add(contract)
    db.session.flush()
    return contract
