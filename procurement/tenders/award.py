"""The award decision, the standstill, and the contracts that follow it.

The award goes to each lot's best-ranked bid(s) from the moderated scores
(`procurement.tenders.evaluation`); every bidder is told and gets its assessment summary, the
UK6 award notice is published and the standstill starts (`procurement.tenders.rules`). Once it
is over, a contract per awarded bid is entered into (UK7), and the tender is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import User
from app.time import format_instant, london_date, utcnow
from app.use_case import use_case
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from procurement.kpis.targets import install_default_kpis
from procurement.tenders import ocds, scoring
from procurement.tenders.access import (
    locked_tender,
    notify_bidders,
    record,
    require_committee,
    tender_fields,
)
from procurement.tenders.emails import standstill_letter
from procurement.tenders.errors import StandstillNotOver, TenderError, TenderStateConflict
from procurement.tenders.evaluation import ranking, valid_bids
from procurement.tenders.models import Tender, TenderBid, TenderLot, TenderStatus
from procurement.tenders.rules import standstill_last_day, standstill_over


@use_case
def decide_award(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """Award each lot to its best-ranked bid(s); the standstill starts now."""
    now = now or utcnow()
    require_committee(actor, "Only committee members decide awards.")
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.EVALUATION:
        raise TenderStateConflict("The award is decided at the end of evaluation.")
    live_lots = [lot for lot in tender.lots if not lot.unsuccessful]
    waiting = [lot.number for lot in live_lots if lot.moderated_at is None]
    if waiting:
        raise TenderError(
            "Moderate the scores of every lot first (waiting: lot "
            + ", ".join(str(n) for n in waiting)
            + ")."
        )
    winners: set[int] = set()
    bidders: set[int] = set()
    for lot in live_lots:
        bids = {b.id: b for b in valid_bids(lot)}
        for scored in ranking(tender, lot):
            bid = bids[scored.bid_id]
            bid.rank = scored.rank
            bid.evaluated_price_pence = scored.evaluated_price_pence
            bid.total_score_hundredths = scored.total_hundredths
            bid.awarded = scored.rank <= lot.max_suppliers
            bidders.add(bid.provider_id)
            if bid.awarded:
                winners.add(bid.provider_id)
    before = {"status": tender.status.value}
    tender.status = TenderStatus.STANDSTILL
    tender.award_decided_at = now
    tender.standstill_ends_on = standstill_last_day(now)
    for provider_id in sorted(bidders):
        outcome = "successful" if provider_id in winners else "not successful"
        notify_bidders(
            tender,
            now,
            f"The award decision for “{tender.title}” was made on {format_instant(now)}: your bid "
            f"was {outcome}. Your assessment summary is on the tender page. The standstill runs "
            f"until the end of {tender.standstill_ends_on:%-d %B %Y}.",
            provider_ids=[provider_id],
            email=False,  # the standstill letter below says it in full
        )
        standstill_letter(
            tender,
            provider_id,
            [
                assessment_summary(tender, bid)
                for lot in live_lots
                for bid in valid_bids(lot)
                if bid.provider_id == provider_id
            ],
        )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "award decided",
        now,
        before=before,
        after={
            "status": tender.status.value,
            "standstill_ends_on": tender.standstill_ends_on.isoformat(),
        },
    )
    db.session.flush()
    ocds.record_release(tender, "award", now)
    db.session.commit()
    return tender


@dataclass(frozen=True)
class AssessmentSummary:
    """What one bidder is told about its own bid for a lot, and the winning bid's scores."""

    bid: TenderBid
    lot: TenderLot
    scored: scoring.ScoredBid | None
    winners: list[tuple[TenderBid, scoring.ScoredBid]]
    bids_evaluated: int


def assessment_summary(tender: Tender, bid: TenderBid) -> AssessmentSummary:
    """The bidder's own scores and rank, with the winning scores (never other bids' prices)."""
    if tender.award_decided_at is None:
        raise TenderStateConflict("Assessment summaries are sent with the award decision.")
    lot = bid.lot
    ranked = ranking(tender, lot)
    by_id = {s.bid_id: s for s in ranked}
    bids = {b.id: b for b in valid_bids(lot)}
    winners = [(bids[s.bid_id], s) for s in ranked if bids[s.bid_id].awarded]
    return AssessmentSummary(
        bid=bid,
        lot=lot,
        scored=by_id.get(bid.id),
        winners=winners,
        bids_evaluated=len(ranked),
    )


@use_case
def enter_into_contracts(
    tender_id: int, actor: User, now: datetime | None = None
) -> list[Contract]:
    """After the standstill: a contract per awarded bid, with its tiers and schools."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.STANDSTILL or tender.standstill_ends_on is None:
        raise TenderStateConflict("Contracts follow an award decision and its standstill.")
    if not standstill_over(tender.standstill_ends_on, now):
        raise StandstillNotOver(
            "The standstill runs until the end of "
            f"{tender.standstill_ends_on:%A %-d %B %Y}: no contract can be entered into before "
            "it ends."
        )
    if london_date(now) > tender.contract_ends_on:
        raise TenderStateConflict("The contract period has already ended.")
    winners = list(
        db.session.scalars(
            sa.select(TenderBid)
            .join(TenderLot, TenderLot.id == TenderBid.lot_id)
            .where(TenderBid.tender_id == tender.id, TenderBid.awarded.is_(True))
            .order_by(TenderLot.number, TenderBid.rank)
            .options(selectinload(TenderBid.tiers))
        )
    )
    school_ids = sorted(s.school_id for s in tender.schools)
    contracts = []
    for bid in winners:
        lot = bid.lot
        contract = Contract(
            reference=f"{tender.reference}-L{lot.number}-{bid.rank}",
            title=f"{lot.title} – {tender.title}"[:200],
            provider_id=bid.provider_id,
            service_id=lot.service_id,
            source=ContractSource.TENDER,
            source_id=tender.id,
            status=ContractStatus.ACTIVE,
            starts_on=tender.contract_starts_on,
            ends_on=tender.contract_ends_on,
            capacity=bid.capacity,
            # A lot awarded to several suppliers is a framework: schools direct-award by rank.
            framework_rank=bid.rank if lot.max_suppliers > 1 else None,
            awarded_at=tender.award_decided_at or now,
            created_at=now,
            tiers=[
                ContractTier(min_quantity=t.min_quantity, unit_price_pence=t.unit_price_pence)
                for t in bid.tiers
            ],
            schools=[ContractSchool(school_id=school_id) for school_id in school_ids],
        )
        db.session.add(contract)
        contracts.append(contract)
    db.session.flush()
    install_default_kpis(contracts)
    before = tender_fields(tender)
    tender.status = TenderStatus.CONTRACTED
    tender.contracted_at = now
    for contract in contracts:
        record(
            actor,
            tender,
            "contract",
            contract.id,
            "contract entered into",
            now,
            after={"reference": contract.reference, "provider_id": contract.provider_id},
        )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "contracted",
        now,
        before=before,
        after=tender_fields(tender),
    )
    notify_bidders(
        tender,
        now,
        f"Your contract under “{tender.title}” has been entered into: see Contracts.",
        provider_ids={bid.provider_id for bid in winners},
    )
    db.session.flush()
    ocds.record_release(tender, "contract", now)
    db.session.commit()
    return contracts


@use_case
def complete_tender(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """Close the procurement once its contracts are in place."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.CONTRACTED:
        raise TenderStateConflict("A tender is complete once its contracts are entered into.")
    before = tender_fields(tender)
    tender.status = TenderStatus.COMPLETE
    tender.completed_at = now
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "completed",
        now,
        before=before,
        after=tender_fields(tender),
    )
    db.session.flush()
    ocds.record_release(tender, "tenderUpdate", now)
    db.session.commit()
    return tender


def tender_contracts(tender: Tender) -> list[Contract]:
    return list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.source == ContractSource.TENDER, Contract.source_id == tender.id)
            .order_by(Contract.reference)
        )
    )
