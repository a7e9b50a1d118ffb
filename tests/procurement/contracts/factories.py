"""Contracts to call off under: a provider with no catalogue offer, awarded tiers, schools."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

from app.extensions import db
from app.models import Provider, School
from marketplace.catalogue.models import Service
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from tests import factories

_numbers = count(1)


def make_ep_provider() -> Provider:
    """A provider in good standing with no catalogue offer at all."""
    return factories.make_provider(f"Gamma Psychology {next(_numbers)}")


def make_contract(
    provider: Provider,
    service: Service,
    schools: list[School],
    *,
    tiers: tuple[tuple[int, int], ...] = ((0, 30_000), (20, 25_000)),
    capacity: int | None = 100,
    value_pence: int | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    status: ContractStatus = ContractStatus.ACTIVE,
    open_to_new_schools: bool = False,
    school_prices: dict[int, int] | None = None,
) -> Contract:
    """An awarded tender contract running this academic year and the next, by default."""
    year = factories.this_year()
    prices = school_prices or {}
    contract = Contract(
        reference=f"ELP-T-{next(_numbers):04d}",
        title=f"{service.name} contract",
        provider_id=provider.id,
        service_id=service.id,
        source=ContractSource.TENDER,
        source_id=None,
        status=status,
        starts_on=starts_on or year.starts_on,
        ends_on=ends_on or year.ends_on + timedelta(days=365),
        capacity=capacity,
        value_pence=value_pence,
        open_to_new_schools=open_to_new_schools,
        tiers=[ContractTier(min_quantity=q, unit_price_pence=p) for q, p in tiers],
        schools=[
            ContractSchool(
                school_id=school.id, allocated_quantity=10, unit_price_pence=prices.get(school.id)
            )
            for school in schools
        ],
    )
    db.session.add(contract)
    db.session.commit()
    return contract
