"""The awarded contract price a school pays instead of an offer's tiers.

A school pays the contract price when it takes part in an active contract (a ContractSchool
row) for the same service with the same provider, running during the order's term, while the
contract has room left for the order (its capacity and maximum value, as call-offs draw it
down); beyond that the order is priced at the offer's own tiers. A contract
terminated early still prices orders before its termination takes effect (`terminated_on`,
counted from today and from the term's start), and none from that day. The app
factory installs `ContractRegisterPrices` into the marketplace's seam
(`marketplace.orders.contract_prices`), so orders are priced by it without the marketplace
importing procurement.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.calendar import Term
from app.extensions import db
from app.money import multiply
from app.time import london_today
from marketplace.offers.pricing import PricingError, Tier, contract_unit_price
from marketplace.orders.contract_prices import ContractPrice
from marketplace.orders.models import ORDER_RESERVING_STATUSES, Order
from procurement.contracts.models import Contract, ContractSchool, ContractStatus


def _in_force(starts_on: date) -> sa.ColumnElement[bool]:
    """Active, or terminated with effect from a day still to come (today and the term's start)."""
    not_yet = max(starts_on, london_today())
    return sa.or_(
        Contract.status == ContractStatus.ACTIVE,
        sa.and_(
            Contract.status == ContractStatus.TERMINATED,
            Contract.terminated_on.is_not(None),
            Contract.terminated_on > not_yet,
        ),
    )


def _contracts(school_id: int, service_id: int, starts_on: date, ends_on: date) -> sa.Select:
    return (
        sa.select(Contract, ContractSchool)
        .join(ContractSchool, ContractSchool.contract_id == Contract.id)
        .where(
            ContractSchool.school_id == school_id,
            Contract.service_id == service_id,
            _in_force(starts_on),
            Contract.starts_on <= ends_on,
            Contract.ends_on >= starts_on,
        )
        .options(selectinload(Contract.tiers), selectinload(Contract.provider))
        .order_by(Contract.starts_on.desc(), Contract.id.desc())
    )


def _price(school_price: int | None, tiers: list[Tier], quantity: int) -> int | None:
    try:
        return contract_unit_price(school_price, tiers, quantity)
    except PricingError:
        return None


def has_room(contract: Contract, quantity: int, unit_price_pence: int) -> bool:
    """Whether the contract can still take `quantity` more at this price: its call-offs (orders
    under it in a reserving status) and these units within its capacity and maximum value
    (`procurement.contracts.rules.Drawdown`; None: not limited)."""
    if contract.capacity is None and contract.value_pence is None:
        return True
    units, pence = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Order.quantity), 0),
            sa.func.coalesce(sa.func.sum(Order.total_pence), 0),
        ).where(Order.contract_id == contract.id, Order.status.in_(ORDER_RESERVING_STATUSES))
    ).one()
    if contract.capacity is not None and int(units) + quantity > contract.capacity:
        return False
    value = int(pence) + multiply(unit_price_pence, quantity)
    return contract.value_pence is None or value <= contract.value_pence


class ContractRegisterPrices:
    """Contract prices read from the contract register (the `ContractPrices` seam)."""

    def price_for(
        self,
        school_id: int,
        service_id: int,
        provider_id: int,
        term: Term,
        quantity: int,
        *,
        lock: bool = False,
    ) -> ContractPrice | None:
        """The price of the school's active contract with this provider for this service and
        term, while the contract has room for the quantity: an order beyond what is left is
        priced at the offer's own tiers instead (it is not a call-off). With lock (submitting),
        the contract's row is held first, as call-offs do, so orders submitted at once on
        PostgreSQL count each other and never draw more than the contract has."""
        stmt = _contracts(school_id, service_id, term.starts_on, term.ends_on).where(
            Contract.provider_id == provider_id
        )
        for contract, member in db.session.execute(stmt).all():
            tiers = [Tier(t.min_quantity, t.unit_price_pence) for t in contract.tiers]
            price = _price(member.unit_price_pence, tiers, quantity)
            if price is None:
                continue
            if lock:
                db.session.execute(
                    sa.select(Contract.id).where(Contract.id == contract.id).with_for_update()
                )
            if has_room(contract, quantity, price):
                return ContractPrice(contract.id, contract.reference, contract.provider.name, price)
        return None

    def for_school(self, school_id: int, service_id: int, today: date) -> list[ContractPrice]:
        """The school's active contracts for a service (any provider), for the service page."""
        result = []
        for contract, member in db.session.execute(_contracts(school_id, service_id, today, today)):
            tiers = [Tier(t.min_quantity, t.unit_price_pence) for t in contract.tiers]
            price = _price(member.unit_price_pence, tiers, max(1, member.allocated_quantity))
            if price is not None:
                result.append(
                    ContractPrice(contract.id, contract.reference, contract.provider.name, price)
                )
        return result

    def reference(self, contract_id: int) -> str:
        reference = db.session.scalar(
            sa.select(Contract.reference).where(Contract.id == contract_id)
        )
        return reference or str(contract_id)
