"""Contracts for tests: to change (one from a tender, through the real use cases, so it has
OCDS releases, and one from a buying round) and to call off under (a provider with no catalogue
offer, awarded tiers, schools)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count

from app.extensions import db
from app.models import Provider, School, User
from app.time import london_today, utcnow
from marketplace.catalogue.models import Service
from procurement.contracts import amendments
from procurement.contracts.models import (
    AmendmentKind,
    Contract,
    ContractAmendment,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from procurement.tenders import award
from tests import factories
from tests.procurement.tenders.factories import (
    TenderWorld,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)

ROUND_SCHOOL_PRICE = 22_222  # £222.22, school B's agreed price in the round contract


@dataclass
class ContractWorld:
    tw: TenderWorld
    contract: Contract

    @property
    def world(self) -> factories.World:
        return self.tw.world

    @property
    def committee(self) -> User:
        return self.tw.committee

    @property
    def committee2(self) -> User:
        return self.tw.committee2


def tender_contract(world: factories.World) -> ContractWorld:
    """Provider A wins a counselling tender (£234.57 a day, £219.83 from 300 days, capacity
    4,321); its contract started a month ago and runs two years, for schools A and B."""
    now = utcnow()
    tw = make_tender(world, now=now - timedelta(days=60), deadline_at=now - timedelta(days=40))
    bid_a, bid_b = submit_both_bids(tw, now=now - timedelta(days=50))
    open_bids(tw, now=now - timedelta(days=39))
    evaluate(tw, {bid_a.id: (60, 60), bid_b.id: (60, 60)}, now=now - timedelta(days=38))
    award.decide_award(tw.tender.id, world.committee, now=now - timedelta(days=30))
    (contract,) = award.enter_into_contracts(tw.tender.id, world.committee, now=now)
    return ContractWorld(tw=tw, contract=contract)


def round_contract(world: factories.World, *, ends_on: date | None = None) -> Contract:
    """Provider B's contract from a buying round: £250.00 a day, school B at its own £222.22."""
    today = london_today()
    ends_on = ends_on or today + timedelta(days=300)
    contract = Contract(
        reference=f"RND-{ends_on:%Y%m%d}",
        title="Counselling from a buying round",
        provider_id=world.provider_b.id,
        service_id=world.service.id,
        source=ContractSource.ROUND,
        source_id=7,
        status=ContractStatus.ACTIVE,
        starts_on=today - timedelta(days=30),
        ends_on=ends_on,
        capacity=500,
        tiers=[ContractTier(min_quantity=0, unit_price_pence=25_000)],
        schools=[
            ContractSchool(
                school_id=world.school_b.id,
                allocated_quantity=12,
                unit_price_pence=ROUND_SCHOOL_PRICE,
                charge_pence=266_664,
            )
        ],
    )
    db.session.add(contract)
    db.session.commit()
    return contract


def propose(
    contract: Contract, actor: User, kind: AmendmentKind = AmendmentKind.PRICE_INDEXATION, **values
) -> ContractAmendment:
    """A proposal by `actor`: +3.2% indexation unless told otherwise, taking effect today."""
    fields: dict = {"reason": "Annual CPI indexation", "effective_on": london_today()}
    if kind is AmendmentKind.PRICE_INDEXATION:
        fields["indexation_bp"] = 320
    fields.update(values)
    return amendments.propose_amendment(
        contract.id, actor, amendments.AmendmentInput(kind=kind, **fields)
    )


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
