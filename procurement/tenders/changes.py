"""Changing a tender: which stages allow it, and what a change to an open tender sets in motion.

A draft changes freely. An open tender changes only before its deadline and with a reason; the
change is an amendment: a deadline too close for the notice bidders are owed moves later
(`procurement.tenders.rules`), every submitted bid must be re-confirmed, bidders are told, and a
`tenderAmendment` release is published.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.time import format_instant
from procurement.tenders import ocds
from procurement.tenders.access import notify_bidders, record
from procurement.tenders.errors import TenderError, TenderStateConflict
from procurement.tenders.models import BidStatus, Tender, TenderAmendment, TenderBid, TenderStage
from procurement.tenders.rules import deadline_after_change

REASON_MAX = 2_000


def editable_stage(tender: Tender, now: datetime) -> TenderStage:
    """The stage at `now` if the tender may still change (a draft, or open before its deadline)."""
    stage = tender.stage(now)
    if stage is TenderStage.CLOSED:
        raise TenderStateConflict(
            "The deadline for bids has passed: the tender can no longer be changed."
        )
    if stage not in (TenderStage.DRAFT, TenderStage.OPEN):
        raise TenderStateConflict(f"A tender at the “{stage.label}” stage cannot be changed.")
    return stage


def require_reason(
    reason: str | None,
    missing: str = (
        "Say why the tender is changing: bidders are told and must re-confirm their bids"
    ),
) -> str:
    """The reason given for a change, a cancellation or a disqualification, trimmed; `missing`
    is what to say when there is none."""
    text = (reason or "").strip()
    if not text:
        raise TenderError(missing, field="reason")
    if len(text) > REASON_MAX:
        raise TenderError(f"Keep the reason to {REASON_MAX:,} characters or fewer", field="reason")
    return text


def record_change(
    tender: Tender, actor: User, now: datetime, reason: str, what: Iterable[str]
) -> None:
    """A change to an open tender: extend a short deadline, re-confirm bids, tell bidders."""
    description = "Changed: " + ", ".join(what) + "."
    before = tender.deadline_at
    tender.deadline_at = deadline_after_change(tender.deadline_at, now)
    if tender.deadline_at != before:
        description += f" The deadline moved to {format_instant(tender.deadline_at)}."
    db.session.add(
        TenderAmendment(
            tender_id=tender.id,
            at=now,
            by_id=actor.id,
            rationale=reason,
            description=description,
            deadline_before=before,
            deadline_after=tender.deadline_at,
        )
    )
    db.session.execute(
        sa.update(TenderBid)
        .where(TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED)
        .values(needs_reconfirmation=True)
        .execution_options(synchronize_session="fetch")
    )
    notify_bidders(
        tender,
        now,
        f"The committee changed “{tender.title}” on {format_instant(now)}. {description} "
        f"Reason: {reason} Re-confirm your bid before the deadline "
        f"({format_instant(tender.deadline_at)}); a bid that is not re-confirmed will not count.",
    )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "changed",
        now,
        before={"deadline_at": before.isoformat()},
        after={
            "deadline_at": tender.deadline_at.isoformat(),
            "reason": reason,
            "note": description,
        },
    )
    db.session.flush()
    ocds.record_release(tender, "tenderAmendment", now)
