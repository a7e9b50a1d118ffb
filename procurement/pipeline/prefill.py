"""Drafts prefilled from the pipeline: a tender or a buying round to follow a contract, and a
joint tender for schools whose outside contracts end together.

A prefilled tender carries the contract's service as its lot, the participating schools and,
as **evaluator-only reference data** (`ReferencePrice`, `ReferenceVolume`: never on a bidder's
page, never in a notice), the previous prices and the volumes each school called off over the
last 12 months. The committee then edits and publishes it as any other tender; a prefilled
round is a draft the committee checks and opens as usual. Each draft is one use case that
commits once: the draft, its reference data, the decision acted on and the audit events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import Term
from app.extensions import db
from app.models import School, User
from app.money import half_up
from app.time import format_date, london_instant, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders.models import Order, OrderStatus
from procurement.contracts.models import Contract, ContractSchool
from procurement.pipeline import rules
from procurement.pipeline.errors import DecisionActedOn, PipelineError
from procurement.pipeline.models import (
    ExternalContract,
    ReferencePrice,
    ReferenceVolume,
    RenewalDecision,
)
from procurement.pipeline.rules import RenewalChoice
from procurement.pipeline.services import (
    RESERVED,
    decide_now,
    get_pipeline_contract,
    require_committee,
)
from procurement.rounds.access import audit_scope
from procurement.rounds.lifecycle import offer_runs_in
from procurement.rounds.models import BuyingRound, RoundOffer, RoundService, RoundStatus
from procurement.tenders.access import record, tender_fields
from procurement.tenders.models import Tender, TenderLot, TenderSchool, TenderStatus

NOON = time(12, 0)
CALLED_OFF = (*RESERVED, OrderStatus.DELIVERED, OrderStatus.INVOICED)


@dataclass(frozen=True)
class SchoolVolume:
    school_id: int
    quantity: int
    value_pence: int


def called_off_last_year(contract_id: int, today: date) -> dict[int, SchoolVolume]:
    """Units and pence each school called off under the contract in terms that started in the
    last 12 months (cancelled, declined, rejected and draft orders aside)."""
    rows = db.session.execute(
        sa.select(Order.school_id, Order.term_key, Order.quantity, Order.total_pence).where(
            Order.contract_id == contract_id, Order.status.in_(CALLED_OFF)
        )
    )
    units: dict[int, int] = defaultdict(int)
    pence: dict[int, int] = defaultdict(int)
    for school_id, term_key, quantity, total in rows:
        if rules.term_in_last_year(Term.parse(term_key).starts_on, today):
            units[school_id] += quantity
            pence[school_id] += total
    return {sid: SchoolVolume(sid, units[sid], pence[sid]) for sid in units}


def _participants(contract: Contract) -> list[ContractSchool]:
    return list(
        db.session.scalars(
            sa.select(ContractSchool)
            .where(ContractSchool.contract_id == contract.id)
            .options(selectinload(ContractSchool.school))
        )
    )


def _schools(ids: set[int]) -> dict[int, School]:
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(sa.select(School).where(School.id.in_(ids)))}


def _reference_prices(
    contract: Contract, participants: list[ContractSchool]
) -> list[ReferencePrice]:
    source = f"{contract.reference}, {contract.provider.name}"
    prices = [
        ReferencePrice(
            contract_id=contract.id,
            service_id=contract.service_id,
            source=source,
            min_quantity=tier.min_quantity,
            unit_price_pence=tier.unit_price_pence,
        )
        for tier in contract.tiers
    ]
    units = sum(p.allocated_quantity for p in participants if p.charge_pence is not None)
    charges = sum(p.charge_pence or 0 for p in participants)
    if not prices and units > 0:
        # No tiers: the average charge per unit agreed at the award.
        prices.append(
            ReferencePrice(
                contract_id=contract.id,
                service_id=contract.service_id,
                source=f"{source} (average charge per unit agreed at the award)",
                min_quantity=0,
                unit_price_pence=half_up(charges, units),
            )
        )
    return prices


def _reference_volumes(
    contract: Contract, participants: list[ContractSchool], today: date
) -> list[ReferenceVolume]:
    called = called_off_last_year(contract.id, today)
    school_ids = {p.school_id for p in participants} | set(called)
    basis = f"Called off under {contract.reference} in terms starting in the last 12 months"
    return [
        ReferenceVolume(
            school_id=school_id,
            service_id=contract.service_id,
            quantity=called[school_id].quantity if school_id in called else 0,
            annual_value_pence=called[school_id].value_pence if school_id in called else 0,
            basis=basis,
        )
        for school_id in sorted(school_ids)
    ]


def _claim_decision(
    contract: Contract, actor: User, choice: RenewalChoice, now: datetime
) -> RenewalDecision:
    """The contract's decision set to `choice` and marked acted on (refused when it already was)."""
    existing = db.session.scalar(
        sa.select(RenewalDecision)
        .where(RenewalDecision.contract_id == contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if existing is not None and existing.acted_at is not None:
        made = (
            f"tender TEN-{existing.tender_id:04d}"
            if existing.tender_id
            else f"buying round {existing.round_id}"
        )
        raise DecisionActedOn(f"A draft has already been made from {contract.reference}: {made}.")
    note = existing.note if existing is not None else ""
    decision = decide_now(contract, actor, choice, note, now)
    decision.acted_at = now
    return decision


def _active_service(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None or not service.active:
        raise PipelineError(
            "The contract's service has been retired from the catalogue: draft a tender by hand."
        )
    return service


def _new_tender(
    actor: User,
    title: str,
    description: str,
    period: rules.NextPeriod,
    service: Service,
    expected_volume: int,
    member_ids: list[int],
    now: datetime,
) -> Tender:
    tender = Tender(
        status=TenderStatus.DRAFT,
        title=title[:200],
        description=description,
        created_by_id=actor.id,
        created_at=now,
        deadline_at=london_instant(period.deadline_on, NOON),
        contract_starts_on=period.starts_on,
        contract_ends_on=period.ends_on,
        lots=[
            TenderLot(
                number=1,
                title=service.name,
                service_id=service.id,
                expected_volume=max(1, min(expected_volume, 1_000_000)),
                max_suppliers=1,
            )
        ],
        schools=[TenderSchool(school_id=school_id) for school_id in sorted(member_ids)],
    )
    db.session.add(tender)
    db.session.flush()
    return tender


@use_case
def draft_tender_from_contract(
    contract_id: int, actor: User, today: date, now: datetime | None = None
) -> Tender:
    """Re-tender: a draft tender prefilled from the contract (service, schools, volumes of the
    last 12 months), with its prices kept for evaluators only."""
    now = now or utcnow()
    require_committee(actor)
    contract = get_pipeline_contract(contract_id, today, lock=True)
    decision = _claim_decision(contract, actor, RenewalChoice.RETENDER, now)
    service = _active_service(contract.service_id)
    participants = _participants(contract)
    volumes = _reference_volumes(contract, participants, today)
    schools = _schools({v.school_id for v in volumes})
    members = [sid for sid, school in schools.items() if school.is_member]
    called = sum(v.quantity or 0 for v in volumes)
    allocated = sum(p.allocated_quantity for p in participants)
    expected = called or allocated or (contract.capacity or 1)
    tender = _new_tender(
        actor,
        f"{service.name}: to follow {contract.reference}",
        f"{service.name} for the schools taking part, to follow the current contract, which "
        f"ends on {format_date(contract.ends_on)}.",
        rules.next_period(contract.starts_on, contract.ends_on, today),
        service,
        expected,
        members,
        now,
    )
    prices = _reference_prices(contract, participants)
    for price in prices:
        price.tender_id = tender.id
    for volume in volumes:
        volume.tender_id = tender.id
    db.session.add_all([*prices, *volumes])
    decision.tender_id = tender.id
    record(actor, tender, "tender", tender.id, "created", now, after=tender_fields(tender))
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "prefilled from contract",
        now,
        after={"contract_id": contract.id, "schools": sorted(members), "expected_volume": expected},
    )
    db.session.commit()
    return tender


def _round_terms(after: date, today: date, offers: list[Offer]) -> list[Term]:
    """The year of terms after `after` that some live offer runs in and whose pledges can still
    be taken (a deadline at least a week away and two weeks before the first term)."""
    terms = rules.next_terms(max(after, today + timedelta(days=21)), 3)
    return [t for t in terms if any(offer_runs_in(o, t) for o in offers)]


@use_case
def draft_round_from_contract(
    contract_id: int, actor: User, today: date, now: datetime | None = None
) -> BuyingRound:
    """Buying round: a draft round for the contract's service and the terms after it ends, with
    each school's volume of the last 12 months as its suggested pledge (committee only)."""
    now = now or utcnow()
    require_committee(actor)
    contract = get_pipeline_contract(contract_id, today, lock=True)
    decision = _claim_decision(contract, actor, RenewalChoice.ROUND, now)
    service = _active_service(contract.service_id)
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .where(Offer.service_id == service.id, Offer.status == OfferStatus.LIVE)
            .options(selectinload(Offer.capacities))
            .order_by(Offer.id)
        )
    )
    terms = _round_terms(contract.ends_on, today, offers)
    if not terms:
        raise PipelineError(
            f"No live offer for {service.name} has capacity in the terms after "
            f"{format_date(contract.ends_on)}, so a buying round could not be priced: "
            "re-tender instead, or ask providers to add capacity."
        )
    chosen: dict[int, Offer] = {}
    for offer in offers:
        if any(offer_runs_in(offer, t) for t in terms):
            chosen.setdefault(offer.provider_id, offer)  # one offer per provider
    deadline_on = min(terms[0].starts_on - timedelta(days=14), today + timedelta(days=28))
    participants = _participants(contract)
    buying_round = BuyingRound(
        title=f"{service.name}: to follow {contract.reference}"[:200],
        description=(
            f"Pledges for {service.name} from {terms[0].label}, to follow the current contract, "
            f"which ends on {format_date(contract.ends_on)}."
        ),
        status=RoundStatus.DRAFT,
        term_keys=[t.key for t in terms],
        pledge_deadline_at=london_instant(deadline_on, NOON),
        max_share_percent=100,
        min_providers=1,
        single_source=False,
        created_by_id=actor.id,
        services=[RoundService(service_id=service.id)],
        offers=[RoundOffer(offer_id=o.id) for o in sorted(chosen.values(), key=lambda o: o.id)],
    )
    db.session.add(buying_round)
    db.session.flush()
    prices = _reference_prices(contract, participants)
    volumes = _reference_volumes(contract, participants, today)
    for price in prices:
        price.round_id = buying_round.id
    for volume in volumes:
        volume.round_id = buying_round.id
    db.session.add_all([*prices, *volumes])
    decision.round_id = buying_round.id
    audit.record(
        actor,
        "round",
        buying_round.id,
        "created",
        after={**buying_round.snapshot(), "prefilled_from_contract": contract.id},
        scope=audit_scope(buying_round),
    )
    db.session.commit()
    return buying_round


@use_case
def draft_joint_tender(
    external_ids: list[int], actor: User, today: date, now: datetime | None = None
) -> Tender:
    """A joint tender for schools whose outside contracts for one catalogue service end close
    together: the schools taking part, and each one's annual value for evaluators only."""
    now = now or utcnow()
    require_committee(actor)
    contracts = list(
        db.session.scalars(
            sa.select(ExternalContract)
            .where(ExternalContract.id.in_(set(external_ids)))
            .order_by(ExternalContract.ends_on, ExternalContract.id)
        )
    )
    if not contracts or len(contracts) != len(set(external_ids)):
        raise PipelineError("Choose a group of contracts from the pipeline.")
    service_ids = {c.service_id for c in contracts}
    if len(service_ids) != 1 or None in service_ids:
        raise PipelineError(
            "A joint tender needs contracts for one service from the catalogue: ask the "
            "schools to choose the service on their outside contracts."
        )
    if len({c.school_id for c in contracts}) < rules.JOINT_MIN_SCHOOLS:
        raise PipelineError("A joint tender needs the contracts of at least two schools.")
    service = _active_service(contracts[0].service_id or 0)
    last_end = max(c.ends_on for c in contracts)
    first_end = min(c.ends_on for c in contracts)
    if last_end < today:
        raise PipelineError("These contracts have all ended.")
    schools = _schools({c.school_id for c in contracts})
    members = [sid for sid, school in schools.items() if school.is_member]
    tender = _new_tender(
        actor,
        f"{service.name}: joint tender for {len(schools)} schools",
        f"{service.name} for the schools taking part, whose current contracts end between "
        f"{format_date(first_end)} and {format_date(last_end)}.",
        rules.next_period(max(first_end, today), last_end, today),
        service,
        1,
        members,
        now,
    )
    for contract in contracts:
        db.session.add(
            ReferenceVolume(
                tender_id=tender.id,
                school_id=contract.school_id,
                service_id=service.id,
                quantity=None,
                annual_value_pence=contract.annual_value_pence,
                basis=f"Outside contract with {contract.supplier_name}, ending "
                f"{format_date(contract.ends_on)}",
            )
        )
    record(actor, tender, "tender", tender.id, "created", now, after=tender_fields(tender))
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "prefilled from outside contracts",
        now,
        after={"external_contract_ids": sorted(c.id for c in contracts)},
    )
    db.session.commit()
    return tender


@dataclass(frozen=True)
class References:
    """A draft's evaluator-only reference data, for committee and evaluator pages."""

    prices: list[ReferencePrice]
    volumes: list[ReferenceVolume]

    def __bool__(self) -> bool:
        return bool(self.prices or self.volumes)


def references(*, tender_id: int | None = None, round_id: int | None = None) -> References:
    """The reference prices and volumes kept on a tender or a round (committee pages only)."""
    price_where = (
        ReferencePrice.tender_id == tender_id if tender_id else ReferencePrice.round_id == round_id
    )
    volume_where = (
        ReferenceVolume.tender_id == tender_id
        if tender_id
        else ReferenceVolume.round_id == round_id
    )
    prices = list(
        db.session.scalars(
            sa.select(ReferencePrice)
            .where(price_where)
            .order_by(ReferencePrice.source, ReferencePrice.min_quantity, ReferencePrice.id)
        )
    )
    volumes = list(
        db.session.scalars(
            sa.select(ReferenceVolume)
            .where(volume_where)
            .options(selectinload(ReferenceVolume.school))
        )
    )
    volumes.sort(key=lambda v: v.school.name)
    return References(prices, volumes)
