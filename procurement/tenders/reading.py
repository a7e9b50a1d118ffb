"""Reading a tender: its documents, amendments, bidders' messages, opened bids, the audit
trail and notice counts.

Sealed bids: `opened_bids` and the trail show nothing of a bid until the bids are opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from app import audit
from app.extensions import db
from app.models import Role, School, User
from procurement.tenders.models import (
    BidStatus,
    Tender,
    TenderAmendment,
    TenderBid,
    TenderDocument,
    TenderLot,
    TenderNotification,
    TenderRelease,
    TenderSchool,
)


def tender_documents(tender: Tender) -> list[TenderDocument]:
    """The tender's own (published) documents, never bid documents."""
    return list(
        db.session.scalars(
            sa.select(TenderDocument)
            .where(TenderDocument.tender_id == tender.id, TenderDocument.bid_id.is_(None))
            .order_by(TenderDocument.uploaded_at, TenderDocument.id)
        )
    )


def amendments(tender: Tender) -> list[TenderAmendment]:
    return list(
        db.session.scalars(
            sa.select(TenderAmendment)
            .where(TenderAmendment.tender_id == tender.id)
            .order_by(TenderAmendment.at, TenderAmendment.id)
        )
    )


def notifications_for_provider(
    provider_id: int, tender_id: int | None = None
) -> list[TenderNotification]:
    stmt = sa.select(TenderNotification).where(TenderNotification.provider_id == provider_id)
    if tender_id is not None:
        stmt = stmt.where(TenderNotification.tender_id == tender_id)
    return list(
        db.session.scalars(
            stmt.order_by(TenderNotification.created_at.desc(), TenderNotification.id.desc()).limit(
                20
            )
        )
    )


def submitted_bid_counts(provider_id: int) -> dict[int, int]:
    """How many live (submitted) bids this provider has in each tender, by tender id."""
    return {
        tender_id: count
        for tender_id, count in db.session.execute(
            sa.select(TenderBid.tender_id, sa.func.count())
            .where(
                TenderBid.provider_id == provider_id,
                TenderBid.status == BidStatus.SUBMITTED,
            )
            .group_by(TenderBid.tender_id)
        )
    }


def opened_bids(tender: Tender, *, with_tiers: bool = False) -> list[TenderBid]:
    """Every bid of an opened tender (bidder, status, receipt time); nothing before opening.
    `with_tiers` loads each bid's price tiers too (for the rankings)."""
    if tender.opened_at is None:
        return []
    stmt = (
        sa.select(TenderBid)
        .join(TenderLot, TenderLot.id == TenderBid.lot_id)
        .where(TenderBid.tender_id == tender.id)
        .order_by(TenderLot.number, TenderBid.submitted_at, TenderBid.id)
        .options(joinedload(TenderBid.provider, innerjoin=True))
    )
    if with_tiers:
        stmt = stmt.options(selectinload(TenderBid.tiers))
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class TrailRow:
    at: datetime
    who: str
    what: str
    entity: str
    details: str


_ENTITY_LABELS = {
    "tender": "Tender",
    "tender_lot": "Lot",
    "tender_question": "Question",
    "tender_document": "Document",
    "tender_clarification": "Clarification",
    "tender_bid": "Bid",
    "tender_bid_document": "Bid document",
    "tender_score": "Score",
    "contract": "Contract",
}


def _details(event: audit.AuditEvent) -> str:
    before, after = event.before or {}, event.after or {}
    parts = []
    if event.entity_type != "tender" and after.get("title"):
        parts.append(f"“{after['title']}”")
    if before.get("status") and before.get("status") != after.get("status"):
        parts.append(f"status {before['status']} → {after.get('status')}")
    elif after.get("status") and event.entity_type == "tender":
        parts.append(f"status {after['status']}")
    if "deadline_at" in before and before["deadline_at"] != after.get("deadline_at"):
        parts.append("deadline moved")
    if "bid" in after:
        parts.append(f"bid {after['bid']}")
    for key in ("reason", "note", "question", "answer", "filename", "sha256", "reference"):
        if after.get(key):
            parts.append(f"{key.replace('_', ' ')}: {after[key]}")
    if "score" in after:
        parts.append(f"{after.get('criterion', '')} score {after['score']}")
    if after.get("standstill_ends_on"):
        parts.append(f"standstill to {after['standstill_ends_on']}")
    if event.action == "updated":
        changed = [k for k in after if k in before and before[k] != after[k]]
        if changed:
            parts.append("changed: " + ", ".join(k.replace("_", " ") for k in changed))
    return "; ".join(parts)


def trail_rows(tender: Tender) -> list[TrailRow]:
    """The trail as the committee reads it: who asked a clarification is never named."""
    events = trail(tender)
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    actors = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    rows = []
    for event in events:
        actor = actors.get(event.actor_id) if event.actor_id is not None else None
        who = event.actor_label
        if actor is not None and actor.role is Role.PROVIDER:
            if event.entity_type == "tender_clarification":
                who = "A provider (not named)"
            elif actor.provider is not None:
                who = f"{actor.provider.name} ({event.actor_label})"
        rows.append(
            TrailRow(
                at=event.at,
                who=who,
                what=event.action.capitalize(),
                entity=f"{_ENTITY_LABELS.get(event.entity_type, event.entity_type)} "
                f"{event.entity_id}",
                details=_details(event),
            )
        )
    return rows


def published_tenders() -> list[Tender]:
    """Every tender ever published (the notices page), latest publication first."""
    return list(
        db.session.scalars(
            sa.select(Tender)
            .where(Tender.was_published)
            .order_by(Tender.published_at.desc(), Tender.id.desc())
        )
    )


def contract_notices() -> list[tuple[TenderRelease, Tender]]:
    """The contract change (UK10) and termination (UK11) releases, latest first."""
    rows = db.session.execute(
        sa.select(TenderRelease, Tender)
        .join(Tender, Tender.id == TenderRelease.tender_id)
        .where(TenderRelease.tag.in_(["contractAmendment", "contractTermination"]))
        .order_by(TenderRelease.published_at.desc(), TenderRelease.id.desc())
    )
    return [(release, tender) for release, tender in rows]


def release_counts(tender_ids: list[int]) -> dict[int, int]:
    if not tender_ids:
        return {}
    return {
        tender_id: count
        for tender_id, count in db.session.execute(
            sa.select(TenderRelease.tender_id, sa.func.count())
            .where(TenderRelease.tender_id.in_(tender_ids))
            .group_by(TenderRelease.tender_id)
        )
    }


def trail(tender: Tender) -> list[audit.AuditEvent]:
    """The tender's audit trail; bid events stay hidden unless the bids were opened."""
    events = audit.events_in_scope(f"tender:{tender.id}")
    if tender.opened_at is None:
        events = [e for e in events if e.entity_type not in ("tender_bid", "tender_bid_document")]
    return events


def school_names(tender: Tender) -> list[str]:
    """The names of the schools the tender is for, in one query for the names alone."""
    return sorted(
        db.session.scalars(
            sa.select(School.name)
            .join(TenderSchool, TenderSchool.school_id == School.id)
            .where(TenderSchool.tender_id == tender.id)
        )
    )
