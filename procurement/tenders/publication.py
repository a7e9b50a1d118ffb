"""Publishing a draft for bids (the UK4 tender notice) and cancelling a tender.

A draft is published only when nothing stops it (`publication_problems`): lots, a question for
each weighted criterion, schools, enough working days' notice, and a contract that does not
start before the deadline. Cancelled before the bids are opened, every bid is discarded
unopened and its bidder told; after opening, the bids stay on record. A tender cancelled after
publication gets a UK12 termination notice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.time import london_date, utcnow
from app.use_case import use_case
from procurement.tenders import ocds
from procurement.tenders.access import (
    locked_tender,
    notify_bidders,
    record,
    require_committee,
    tender_fields,
)
from procurement.tenders.changes import require_reason
from procurement.tenders.emails import tender_published
from procurement.tenders.errors import TenderError, TenderStateConflict
from procurement.tenders.models import (
    TENDER_CANCELLABLE_STATUSES,
    Tender,
    TenderBid,
    TenderDocument,
    TenderStatus,
)
from procurement.tenders.rules import (
    NOTICE_WORKING_DAYS,
    deadline_after_change,
    earliest_deadline_day,
)


def publication_problems(tender: Tender, now: datetime) -> list[str]:
    """What stops a draft from being published, in plain words (empty when ready)."""
    problems = []
    if not tender.lots:
        problems.append("Add at least one lot.")
    for criterion in tender.scored_criteria:
        if not any(q.criterion is criterion for q in tender.questions):
            problems.append(
                f"{criterion.label} has a weight of {tender.weight(criterion)}%: add at least "
                f"one {criterion.label.lower()} question."
            )
    if not tender.schools:
        problems.append("Choose the schools taking part.")
    if deadline_after_change(tender.deadline_at, now) != tender.deadline_at:
        problems.append(
            f"Give bidders at least {NOTICE_WORKING_DAYS} working days: move the deadline to "
            f"{earliest_deadline_day(now):%-d %B %Y} or later."
        )
    if tender.contract_starts_on < london_date(tender.deadline_at):
        problems.append("The contract cannot start before the deadline for bids.")
    return problems


@use_case
def publish_tender(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """Open a draft for bids: providers see it, and the UK4 tender notice is released."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.DRAFT:
        raise TenderStateConflict("Only a draft can be published.")
    problems = publication_problems(tender, now)
    if problems:
        raise TenderError("The tender cannot be published yet: " + " ".join(problems))
    before = tender_fields(tender)
    tender.status = TenderStatus.OPEN
    tender.published_at = now
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "published",
        now,
        before=before,
        after=tender_fields(tender),
    )
    db.session.flush()
    ocds.record_release(tender, "tender", now)
    tender_published(tender)
    db.session.commit()
    return tender


@use_case
def cancel_tender(tender_id: int, actor: User, reason: str, now: datetime | None = None) -> Tender:
    """Cancel: before opening the bids are discarded unopened; after it they stay on record."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status not in TENDER_CANCELLABLE_STATUSES:
        raise TenderStateConflict(
            f"A tender at the “{tender.stage(now).label}” stage cannot be cancelled."
        )
    reason = require_reason(reason, "Say why the tender is cancelled")
    before = tender_fields(tender)
    was_published = tender.was_published
    if tender.opened_at is None:
        _discard_bids(tender, now)
    tender.status = TenderStatus.CANCELLED
    tender.cancelled_at = now
    tender.cancel_reason = reason
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "cancelled",
        now,
        before=before,
        after={**tender_fields(tender), "reason": reason},
    )
    db.session.flush()
    if was_published:
        ocds.record_release(tender, "tenderCancellation", now)
    db.session.commit()
    return tender


def _discard_bids(tender: Tender, now: datetime) -> None:
    """Delete every bid unopened (contents, answers, documents); tell the bidders."""
    provider_ids = set(
        db.session.scalars(sa.select(TenderBid.provider_id).where(TenderBid.tender_id == tender.id))
    )
    notify_bidders(
        tender,
        now,
        f"“{tender.title}” was cancelled before the bids were opened. Your bid was discarded "
        "unopened: nobody saw it.",
        provider_ids=provider_ids,
    )
    db.session.execute(
        sa.delete(TenderDocument).where(
            TenderDocument.tender_id == tender.id, TenderDocument.bid_id.is_not(None)
        )
    )
    bids = list(db.session.scalars(sa.select(TenderBid).where(TenderBid.tender_id == tender.id)))
    for bid in bids:
        db.session.delete(bid)
    tender.bids_discarded = True
