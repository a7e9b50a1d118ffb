"""The awarded contract price a school pays instead of an offer's tiers.

A school pays the contract price when it takes part in an active contract (a ContractSchool
row) for the same service with the same provider, running during the order's term. A contract
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
from app.time import london_today
from marketplace.offers.pricing import PricingError, Tier, contract_unit_price
from marketplace.orders.contract_prices import ContractPrice
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


class ContractRegisterPrices:
    """Contract prices read from the contract register (the `ContractPrices` seam)."""

    def price_for(
        self, school_id: int, service_id: int, provider_id: int, term: Term, quantity: int
    ) -> ContractPrice | None:
        """The price of the school's active contract with this provider for this service and
        term."""
        stmt = _contracts(school_id, service_id, term.starts_on, term.ends_on).where(
            Contract.provider_id == provider_id
        )
        for contract, member in db.session.execute(stmt):
            tiers = [Tier(t.min_quantity, t.unit_price_pence) for t in contract.tiers]
            price = _price(member.unit_price_pence, tiers, quantity)
            if price is not None:
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
