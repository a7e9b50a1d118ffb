"""Evaluation use cases: declarations of interest, scores, moderation and the ranking.

The arithmetic lives in `procurement.tenders.scoring` (pure); this module loads, checks who may
do what at which stage, and records it. An evaluator declares interests per lot before seeing
any of its bids; one who declares a conflict cannot see or score that lot. The award decision
made from the ranking is in `procurement.tenders.award`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Role, User
from app.time import utcnow
from app.use_case import use_case
from procurement.tenders import scoring
from procurement.tenders.access import get_lot, locked_tender, record, require_committee
from procurement.tenders.bids import declaration_for, require_evaluator
from procurement.tenders.errors import BidNotFound, TenderError, TenderStateConflict
from procurement.tenders.models import (
    BidStatus,
    Criterion,
    Tender,
    TenderBid,
    TenderConflictDeclaration,
    TenderLot,
    TenderScore,
    TenderStatus,
)

DETAILS_MAX = 2_000
COMMENT_MAX = 2_000
EVALUATING_STATUSES = frozenset({TenderStatus.OPENED, TenderStatus.EVALUATION})


@use_case
def declare_interests(
    tender_id: int,
    lot_id: int,
    actor: User,
    has_conflict: bool,
    details: str,
    now: datetime | None = None,
) -> TenderConflictDeclaration:
    """Declare, once per lot, whether you have a conflict of interest with its bidders."""
    now = now or utcnow()
    require_committee(actor, "Only committee members evaluate bids.")
    tender = locked_tender(tender_id)
    lot = get_lot(tender, lot_id)
    if tender.status not in EVALUATING_STATUSES:
        raise TenderStateConflict(
            "Interests are declared once the bids are opened, before evaluation ends."
        )
    if declaration_for(lot.id, actor.id) is not None:
        raise TenderStateConflict(f"You have already declared your interests for lot {lot.number}.")
    details = (details or "").strip()
    if has_conflict and not details:
        raise TenderError("Describe the conflict of interest", field="details")
    if len(details) > DETAILS_MAX:
        raise TenderError(f"Keep it to {DETAILS_MAX:,} characters or fewer", field="details")
    declaration = TenderConflictDeclaration(
        lot_id=lot.id,
        evaluator_id=actor.id,
        has_conflict=has_conflict,
        details=details,
        declared_at=now,
    )
    db.session.add(declaration)
    db.session.flush()
    record(
        actor,
        tender,
        "tender_lot",
        lot.id,
        "conflict declared" if has_conflict else "no conflict declared",
        now,
        after={"lot": lot.number, "has_conflict": has_conflict, "note": details},
    )
    db.session.commit()
    return declaration


def valid_bids(lot: TenderLot) -> list[TenderBid]:
    """The bids of a lot that are evaluated: submitted, not disqualified or withdrawn."""
    return list(
        db.session.scalars(
            sa.select(TenderBid)
            .where(TenderBid.lot_id == lot.id, TenderBid.status == BidStatus.SUBMITTED)
            .order_by(TenderBid.submitted_at, TenderBid.id)
            .options(
                selectinload(TenderBid.tiers),
                selectinload(TenderBid.answers),
                selectinload(TenderBid.provider),
            )
        )
    )


def _clean_score(value: int | None, criterion: Criterion, label: str) -> int:
    if value is None or not 0 <= value <= 100:
        raise TenderError(f"{label}: give a whole number from 0 to 100", field=f"{criterion.value}")
    return value


@use_case
def score_bid(
    tender_id: int,
    bid_id: int,
    actor: User,
    scores: dict[Criterion, int | None],
    comments: dict[Criterion, str],
    now: datetime | None = None,
) -> list[TenderScore]:
    """An evaluator scores one bid 0–100 on each weighted criterion (again to change them)."""
    now = now or utcnow()
    tender = locked_tender(tender_id)
    bid = db.session.get(TenderBid, bid_id)
    if bid is None or bid.tender_id != tender.id:
        raise BidNotFound()
    require_evaluator(tender, bid.lot, actor)
    if tender.status is not TenderStatus.EVALUATION:
        raise TenderStateConflict("Bids are scored during evaluation.")
    if bid.lot.unsuccessful:
        raise TenderStateConflict(f"Lot {bid.lot.number} was unsuccessful: nothing to score.")
    if bid.status is not BidStatus.SUBMITTED:
        raise TenderStateConflict("Only valid bids are scored.")
    saved = []
    for criterion in tender.scored_criteria:
        value = _clean_score(scores.get(criterion), criterion, criterion.label)
        comment = (comments.get(criterion) or "").strip()
        if len(comment) > COMMENT_MAX:
            raise TenderError(
                f"Keep comments to {COMMENT_MAX:,} characters or fewer",
                field=f"{criterion.value}_comment",
            )
        row = db.session.scalar(
            sa.select(TenderScore).where(
                TenderScore.bid_id == bid.id,
                TenderScore.evaluator_id == actor.id,
                TenderScore.criterion == criterion,
            )
        )
        before = {"score": row.score} if row else None
        if row is None:
            row = TenderScore(bid_id=bid.id, evaluator_id=actor.id, criterion=criterion)
            db.session.add(row)
        row.score = value
        row.comment = comment
        row.scored_at = now
        saved.append(row)
        db.session.flush()
        record(
            actor,
            tender,
            "tender_score",
            row.id,
            "scored",
            now,
            before=before,
            after={"bid": bid.id, "criterion": criterion.value, "score": value, "note": comment},
        )
    db.session.commit()
    return saved


def scores_for_lot(lot: TenderLot) -> list[TenderScore]:
    return list(
        db.session.scalars(
            sa.select(TenderScore)
            .join(TenderBid, TenderBid.id == TenderScore.bid_id)
            .where(TenderBid.lot_id == lot.id)
            .order_by(TenderScore.bid_id, TenderScore.criterion, TenderScore.evaluator_id)
            .options(selectinload(TenderScore.evaluator))
        )
    )


@dataclass(frozen=True)
class ModerationRow:
    bid: TenderBid
    scores: dict[Criterion, list[TenderScore]]
    suggested: dict[Criterion, int | None]


def moderation_rows(tender: Tender, lot: TenderLot) -> list[ModerationRow]:
    """Each valid bid with every evaluator's scores and the mean moderation starts from."""
    scores = scores_for_lot(lot)
    rows = []
    for bid in valid_bids(lot):
        per = {
            c: [s for s in scores if s.bid_id == bid.id and s.criterion is c]
            for c in tender.scored_criteria
        }
        rows.append(
            ModerationRow(
                bid=bid,
                scores=per,
                suggested={c: scoring.suggested_score([s.score for s in per[c]]) for c in per},
            )
        )
    return rows


@use_case
def moderate_lot(
    tender_id: int,
    lot_id: int,
    actor: User,
    moderated: dict[int, dict[Criterion, int | None]],
    now: datetime | None = None,
) -> TenderLot:
    """Agree the final scores of every valid bid of a lot, after the evaluators have scored."""
    now = now or utcnow()
    tender = locked_tender(tender_id)
    lot = get_lot(tender, lot_id)
    require_evaluator(tender, lot, actor)
    if tender.status is not TenderStatus.EVALUATION:
        raise TenderStateConflict("Scores are moderated during evaluation.")
    if lot.unsuccessful:
        raise TenderStateConflict(f"Lot {lot.number} was unsuccessful: nothing to moderate.")
    rows = moderation_rows(tender, lot)
    for row in rows:
        for criterion, scores in row.scores.items():
            if not scores:
                raise TenderError(
                    f"{row.bid.provider.name}'s bid has no {criterion.label.lower()} score yet: "
                    "an evaluator must score it before moderation.",
                    code="not_scored",
                )
    changes = []
    for row in rows:
        given = moderated.get(row.bid.id) or {}
        for criterion in tender.scored_criteria:
            value = _clean_score(
                given.get(criterion), criterion, f"{row.bid.provider.name} ({criterion.label})"
            )
            if criterion is Criterion.QUALITY:
                row.bid.quality_score = value
            else:
                row.bid.social_value_score = value
        for criterion in Criterion:
            if criterion not in tender.scored_criteria:
                if criterion is Criterion.QUALITY:
                    row.bid.quality_score = 0
                else:
                    row.bid.social_value_score = 0
        changes.append(
            {
                "bid": row.bid.id,
                "quality": row.bid.quality_score,
                "social_value": row.bid.social_value_score,
            }
        )
    lot.moderated_at = now
    lot.moderated_by_id = actor.id
    record(
        actor,
        tender,
        "tender_lot",
        lot.id,
        "scores moderated",
        now,
        after={"lot": lot.number, "moderated": changes},
    )
    db.session.commit()
    return lot


def _to_score(bid: TenderBid) -> scoring.BidToScore:
    return scoring.BidToScore(
        bid_id=bid.id,
        received_at=bid.submitted_at,
        tiers=tuple(scoring.PriceTier(t.min_quantity, t.unit_price_pence) for t in bid.tiers),
        quality=bid.quality_score or 0,
        social_value=bid.social_value_score or 0,
    )


def weights(tender: Tender) -> scoring.Weights:
    return scoring.Weights(tender.price_weight, tender.quality_weight, tender.social_value_weight)


def ranking(tender: Tender, lot: TenderLot) -> list[scoring.ScoredBid]:
    """The lot's ranking from the moderated scores (empty until moderated)."""
    if lot.moderated_at is None or lot.unsuccessful:
        return []
    return scoring.rank(
        [_to_score(b) for b in valid_bids(lot)], weights(tender), lot.expected_volume
    )


def rankings(
    tender: Tender, all_bids: Iterable[TenderBid] | None = None
) -> dict[int, list[scoring.ScoredBid]]:
    """Every lot's ranking by lot id, as `ranking` gives it, from one query for all the bids;
    or from `all_bids`, every bid of the tender already read with its tiers (`opened_bids`)."""
    by_lot: dict[int, list[TenderBid]] = {lot.id: [] for lot in tender.lots}
    if all_bids is None:
        bids: Iterable[TenderBid] = db.session.scalars(
            sa.select(TenderBid)
            .where(TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED)
            .order_by(TenderBid.submitted_at, TenderBid.id)
            .options(selectinload(TenderBid.tiers))
        )
    else:
        bids = sorted(
            (bid for bid in all_bids if bid.status is BidStatus.SUBMITTED),
            key=lambda bid: (bid.submitted_at, bid.id),
        )
    for bid in bids:
        by_lot.setdefault(bid.lot_id, []).append(bid)
    return {
        lot.id: []
        if lot.moderated_at is None or lot.unsuccessful
        else scoring.rank(
            [_to_score(b) for b in by_lot[lot.id]], weights(tender), lot.expected_volume
        )
        for lot in tender.lots
    }


def evaluated_prices(tender: Tender, lot: TenderLot) -> dict[int, int]:
    """Each valid bid's evaluated price (for evaluators, before moderation)."""
    return {
        bid.id: scoring.evaluated_price(
            [scoring.PriceTier(t.min_quantity, t.unit_price_pence) for t in bid.tiers],
            lot.expected_volume,
        )
        for bid in valid_bids(lot)
    }


def evaluation_progress(tender: Tender, user: User) -> dict[int, dict[str, object]]:
    """Per lot: this evaluator's declaration and how far scoring and moderation have got."""
    declarations = {}
    if user.role is Role.COMMITTEE and tender.lots:
        declarations = {
            d.lot_id: d
            for d in db.session.scalars(
                sa.select(TenderConflictDeclaration).where(
                    TenderConflictDeclaration.lot_id.in_([lot.id for lot in tender.lots]),
                    TenderConflictDeclaration.evaluator_id == user.id,
                )
            )
        }
    return {
        lot.id: {"declaration": declarations.get(lot.id), "moderated": lot.moderated_at is not None}
        for lot in tender.lots
    }
