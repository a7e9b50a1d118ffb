"""Contracts to change in tests: one from a tender (through the real use cases, so it has
OCDS releases) and one from a buying round (no OCDS process)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.extensions import db
from app.models import User
from app.time import london_today, utcnow
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
