"""Tender use cases: drafting, publishing, changing, cancelling, opening, contracts.

Every public use case takes `now` (one instant per request; tests inject it), checks the
stage the tender is at *at that instant*, writes an audit event in scope ``tender:<id>`` and
commits once at its end; a refused one writes nothing. Sealed bids: nothing here tells anyone
but the bidder whether a bid exists until two committee members have opened the bids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import Role, School, User
from app.time import format_instant, london_date, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from procurement.tenders import ocds
from procurement.tenders.errors import (
    LotNotFound,
    OpeningRefused,
    StandstillNotOver,
    TenderError,
    TenderNotFound,
    TenderStateConflict,
)
from procurement.tenders.models import (
    TENDER_CANCELLABLE_STATUSES,
    TENDER_PUBLISHED_STATUSES,
    BidStatus,
    Criterion,
    Tender,
    TenderAmendment,
    TenderBid,
    TenderClarification,
    TenderDocument,
    TenderLot,
    TenderNotification,
    TenderOpeningConfirmation,
    TenderQuestion,
    TenderRelease,
    TenderSchool,
    TenderStage,
    TenderStatus,
)
from procurement.tenders.rules import (
    NOTICE_WORKING_DAYS,
    deadline_after_change,
    earliest_deadline_day,
    standstill_over,
)

TITLE_MAX = 200
TEXT_MAX = 10_000
REASON_MAX = 2_000
QUESTION_MAX = 2_000
MAX_LOTS = 10
MAX_QUESTIONS = 12
MAX_VOLUME = 1_000_000
MIN_VALID_BIDS_MAX = 20


def record(
    actor: User | None,
    tender: Tender,
    entity_type: str,
    entity_id: int | str,
    action: str,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event in the tender's scope, timed by the use case's one `now`."""
    event = audit.record(
        actor,
        entity_type,
        entity_id,
        action,
        before=before,
        after=after,
        scope=f"tender:{tender.id}",
    )
    event.at = now


# --- Loading and who may see what ------------------------------------------------------------


def get_tender_for_user(tender_id: int, user: User) -> Tender:
    """The tender, if this user may see it: the partnership sees all, providers published ones."""
    tender = db.session.get(Tender, tender_id)
    if tender is None:
        raise TenderNotFound("Page not found")
    if user.role in (Role.COMMITTEE, Role.ADMIN):
        return tender
    if user.role is Role.PROVIDER and tender.status in TENDER_PUBLISHED_STATUSES:
        return tender
    raise TenderNotFound("Page not found")


def locked_tender(tender_id: int) -> Tender:
    """The tender row, locked until the use case commits (PostgreSQL: SELECT … FOR UPDATE)."""
    tender = db.session.execute(
        sa.select(Tender)
        .where(Tender.id == tender_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if tender is None:
        raise TenderNotFound("Page not found")
    return tender


def get_lot(tender: Tender, lot_id: int) -> TenderLot:
    lot = db.session.get(TenderLot, lot_id)
    if lot is None or lot.tender_id != tender.id:
        raise LotNotFound("Page not found")
    return lot


def tenders_for_user(user: User) -> list[Tender]:
    """The tenders list: everything for the partnership, published tenders for providers."""
    stmt = sa.select(Tender).order_by(Tender.created_at.desc(), Tender.id.desc())
    if user.role is Role.PROVIDER:
        stmt = stmt.where(Tender.status.in_(TENDER_PUBLISHED_STATUSES))
    elif user.role not in (Role.COMMITTEE, Role.ADMIN):
        return []
    return list(db.session.scalars(stmt.options(selectinload(Tender.lots))))


def require_committee(actor: User) -> None:
    if actor.role is not Role.COMMITTEE:
        raise TenderError("Only committee members can do this.", code="committee_only")


# --- Drafting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderInput:
    title: str
    description: str
    deadline_at: datetime
    contract_starts_on: date
    contract_ends_on: date
    min_valid_bids: int
    price_weight: int
    quality_weight: int
    social_value_weight: int
    school_ids: tuple[int, ...]


@dataclass(frozen=True)
class LotInput:
    title: str
    description: str
    service_id: int
    expected_volume: int
    max_suppliers: int


@dataclass(frozen=True)
class QuestionInput:
    criterion: Criterion
    text: str


def _check_tender_input(data: TenderInput) -> None:
    title = data.title.strip()
    if not title:
        raise TenderError("Enter a title for the tender", field="title")
    if len(title) > TITLE_MAX:
        raise TenderError(f"Keep the title to {TITLE_MAX} characters or fewer", field="title")
    if len(data.description) > TEXT_MAX:
        raise TenderError("The description is too long", field="description")
    if data.deadline_at.tzinfo is None:
        raise TenderError("The deadline needs a time zone", field="deadline_on")
    weights = (data.price_weight, data.quality_weight, data.social_value_weight)
    if any(w is None or not 0 <= w <= 100 for w in weights):
        raise TenderError("Each weight must be between 0 and 100", field="price_weight")
    if sum(weights) != 100:
        raise TenderError(
            f"The weights must add up to 100 (they add up to {sum(weights)})", field="price_weight"
        )
    if not 1 <= data.min_valid_bids <= MIN_VALID_BIDS_MAX:
        raise TenderError(
            f"The minimum number of valid bids must be between 1 and {MIN_VALID_BIDS_MAX}",
            field="min_valid_bids",
        )
    if data.contract_ends_on < data.contract_starts_on:
        raise TenderError(
            "The contract must end on or after the day it starts", field="contract_ends_on"
        )
    if data.contract_starts_on < london_date(data.deadline_at):
        raise TenderError(
            "The contract cannot start before the deadline for bids", field="contract_starts_on"
        )
    if not data.school_ids:
        raise TenderError("Choose at least one school taking part", field="school_ids")
    found = set(
        db.session.scalars(
            sa.select(School.id).where(School.id.in_(data.school_ids), School.is_member.is_(True))
        )
    )
    if found != set(data.school_ids):
        raise TenderError("Only member schools can take part", field="school_ids")


def _tender_fields(tender: Tender) -> dict[str, Any]:
    """The fields an audit event records."""
    return {
        "status": tender.status.value,
        "title": tender.title,
        "deadline_at": tender.deadline_at.isoformat(),
        "contract_starts_on": tender.contract_starts_on.isoformat(),
        "contract_ends_on": tender.contract_ends_on.isoformat(),
        "min_valid_bids": tender.min_valid_bids,
        "weights": [tender.price_weight, tender.quality_weight, tender.social_value_weight],
    }


def _apply(tender: Tender, data: TenderInput) -> list[str]:
    """Copy the input onto the tender; return the labels of what changed."""
    changed = []
    for name, label, value in (
        ("title", "title", data.title.strip()),
        ("description", "description", data.description.strip()),
        ("deadline_at", "deadline", data.deadline_at),
        ("contract_starts_on", "contract start", data.contract_starts_on),
        ("contract_ends_on", "contract end", data.contract_ends_on),
        ("min_valid_bids", "minimum number of valid bids", data.min_valid_bids),
        ("price_weight", "price weight", data.price_weight),
        ("quality_weight", "quality weight", data.quality_weight),
        ("social_value_weight", "social value weight", data.social_value_weight),
    ):
        if getattr(tender, name) != value:
            setattr(tender, name, value)
            changed.append(label)
    current = {s.school_id for s in tender.schools}
    wanted = set(data.school_ids)
    if current != wanted:
        tender.schools = [s for s in tender.schools if s.school_id in wanted] + [
            TenderSchool(school_id=school_id) for school_id in sorted(wanted - current)
        ]
        changed.append("schools taking part")
    return changed


@use_case
def create_tender(actor: User, data: TenderInput, now: datetime | None = None) -> Tender:
    """Start a draft tender."""
    now = now or utcnow()
    require_committee(actor)
    _check_tender_input(data)
    tender = Tender(
        status=TenderStatus.DRAFT,
        created_by_id=actor.id,
        created_at=now,
        title="",
        deadline_at=data.deadline_at,
        contract_starts_on=data.contract_starts_on,
        contract_ends_on=data.contract_ends_on,
    )
    _apply(tender, data)
    db.session.add(tender)
    db.session.flush()
    record(actor, tender, "tender", tender.id, "created", now, after=_tender_fields(tender))
    db.session.commit()
    return tender


def editable_stage(tender: Tender, now: datetime) -> TenderStage:
    stage = tender.stage(now)
    if stage is TenderStage.CLOSED:
        raise TenderStateConflict(
            "The deadline for bids has passed: the tender can no longer be changed."
        )
    if stage not in (TenderStage.DRAFT, TenderStage.OPEN):
        raise TenderStateConflict(f"A tender at the “{stage.label}” stage cannot be changed.")
    return stage


def require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise TenderError(
            "Say why the tender is changing: bidders are told and must re-confirm their bids",
            field="reason",
        )
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


def notify_bidders(
    tender: Tender, now: datetime, message: str, provider_ids: Iterable[int] | None = None
) -> None:
    """An in-app message to every provider with a live bid (or to the providers given)."""
    if provider_ids is None:
        provider_ids = db.session.scalars(
            sa.select(TenderBid.provider_id)
            .where(TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED)
            .distinct()
        )
    for provider_id in sorted(set(provider_ids)):
        db.session.add(
            TenderNotification(
                tender_id=tender.id, provider_id=provider_id, message=message, created_at=now
            )
        )


def _check_deadline_for_publication(tender: Tender, now: datetime) -> None:
    if deadline_after_change(tender.deadline_at, now) != tender.deadline_at:
        raise TenderError(
            f"Give bidders at least {NOTICE_WORKING_DAYS} working days: the deadline must be on "
            f"or after {earliest_deadline_day(now):%-d %B %Y}",
            field="deadline_on",
        )


@use_case
def update_tender(
    tender_id: int,
    actor: User,
    data: TenderInput,
    now: datetime | None = None,
    reason: str | None = None,
) -> Tender:
    """Change a draft freely; change an open tender with a reason (bidders re-confirm)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    stage = editable_stage(tender, now)
    _check_tender_input(data)
    if stage is TenderStage.OPEN:
        reason = require_reason(reason)
        if data.deadline_at < tender.deadline_at:
            raise TenderError(
                "The deadline of an open tender can be moved later, not earlier",
                field="deadline_on",
            )
    before = _tender_fields(tender)
    changed = _apply(tender, data)
    if not changed:
        raise TenderError("Nothing was changed.", code="nothing_changed")
    if stage is TenderStage.OPEN:
        record_change(tender, actor, now, reason or "", changed)
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "updated",
        now,
        before=before,
        after=_tender_fields(tender),
    )
    db.session.commit()
    return tender


def _check_lot_input(data: LotInput) -> Service:
    if not data.title.strip():
        raise TenderError("Enter a title for the lot", field="title")
    if len(data.title.strip()) > TITLE_MAX:
        raise TenderError(f"Keep the title to {TITLE_MAX} characters or fewer", field="title")
    if len(data.description) > TEXT_MAX:
        raise TenderError("The description is too long", field="description")
    service = db.session.get(Service, data.service_id) if data.service_id else None
    if service is None or not service.active:
        raise TenderError("Choose a service from the catalogue", field="service_id")
    if not 1 <= data.expected_volume <= MAX_VOLUME:
        raise TenderError(
            f"The expected volume must be between 1 and {MAX_VOLUME:,}", field="expected_volume"
        )
    if not 1 <= data.max_suppliers <= 10:
        raise TenderError("A lot can go to between 1 and 10 providers", field="max_suppliers")
    return service


def _lot_fields(lot: TenderLot) -> dict[str, Any]:
    return {
        "number": lot.number,
        "title": lot.title,
        "service_id": lot.service_id,
        "expected_volume": lot.expected_volume,
        "max_suppliers": lot.max_suppliers,
    }


@use_case
def add_lot(
    tender_id: int,
    actor: User,
    data: LotInput,
    now: datetime | None = None,
    reason: str | None = None,
) -> TenderLot:
    """Add a lot to a draft (or, with a reason, to an open tender)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    stage = editable_stage(tender, now)
    _check_lot_input(data)
    if stage is TenderStage.OPEN:
        reason = require_reason(reason)
    if len(tender.lots) >= MAX_LOTS:
        raise TenderError(f"A tender can have at most {MAX_LOTS} lots")
    lot = TenderLot(
        tender_id=tender.id,
        number=max((lot.number for lot in tender.lots), default=0) + 1,
        title=data.title.strip(),
        description=data.description.strip(),
        service_id=data.service_id,
        expected_volume=data.expected_volume,
        max_suppliers=data.max_suppliers,
    )
    tender.lots.append(lot)
    db.session.flush()
    if stage is TenderStage.OPEN:
        record_change(tender, actor, now, reason or "", [f"lot {lot.number} added"])
    record(actor, tender, "tender_lot", lot.id, "lot added", now, after=_lot_fields(lot))
    db.session.commit()
    return lot


@use_case
def update_lot(
    tender_id: int,
    lot_id: int,
    actor: User,
    data: LotInput,
    now: datetime | None = None,
    reason: str | None = None,
) -> TenderLot:
    """Change a lot of a draft (or, with a reason, of an open tender)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    lot = get_lot(tender, lot_id)
    stage = editable_stage(tender, now)
    _check_lot_input(data)
    if stage is TenderStage.OPEN:
        reason = require_reason(reason)
    before = _lot_fields(lot)
    lot.title = data.title.strip()
    lot.description = data.description.strip()
    lot.service_id = data.service_id
    lot.expected_volume = data.expected_volume
    lot.max_suppliers = data.max_suppliers
    after = _lot_fields(lot)
    if after == before and lot.description == data.description.strip():
        if not db.session.is_modified(lot):
            raise TenderError("Nothing was changed.", code="nothing_changed")
    db.session.flush()
    if stage is TenderStage.OPEN:
        record_change(tender, actor, now, reason or "", [f"lot {lot.number}"])
    record(actor, tender, "tender_lot", lot.id, "lot changed", now, before=before, after=after)
    db.session.commit()
    return lot


@use_case
def remove_lot(tender_id: int, lot_id: int, actor: User, now: datetime | None = None) -> None:
    """Remove a lot from a draft (an open tender keeps its lots: bids may be on them)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    lot = get_lot(tender, lot_id)
    if tender.status is not TenderStatus.DRAFT:
        raise TenderStateConflict("Lots can be removed only while the tender is a draft.")
    record(actor, tender, "tender_lot", lot.id, "lot removed", now, before=_lot_fields(lot))
    tender.lots.remove(lot)
    db.session.commit()


def _check_question(data: QuestionInput) -> str:
    text = data.text.strip()
    if not text:
        raise TenderError("Enter the question", field="text")
    if len(text) > QUESTION_MAX:
        raise TenderError(
            f"Keep the question to {QUESTION_MAX:,} characters or fewer", field="text"
        )
    if not isinstance(data.criterion, Criterion):
        raise TenderError("Choose what the question is scored under", field="criterion")
    return text


@use_case
def add_question(
    tender_id: int,
    actor: User,
    data: QuestionInput,
    now: datetime | None = None,
    reason: str | None = None,
) -> TenderQuestion:
    """Add a quality or social-value question every bid must answer."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    stage = editable_stage(tender, now)
    text = _check_question(data)
    if stage is TenderStage.OPEN:
        reason = require_reason(reason)
    if len(tender.questions) >= MAX_QUESTIONS:
        raise TenderError(f"A tender can have at most {MAX_QUESTIONS} questions")
    question = TenderQuestion(
        number=max((q.number for q in tender.questions), default=0) + 1,
        criterion=data.criterion,
        text=text,
    )
    tender.questions.append(question)
    db.session.flush()
    if stage is TenderStage.OPEN:
        record_change(tender, actor, now, reason or "", [f"question {question.number} added"])
    record(
        actor,
        tender,
        "tender_question",
        question.id,
        "question added",
        now,
        after={"number": question.number, "criterion": question.criterion.value, "text": text},
    )
    db.session.commit()
    return question


@use_case
def remove_question(
    tender_id: int, question_id: int, actor: User, now: datetime | None = None
) -> None:
    """Remove a question from a draft."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    question = db.session.get(TenderQuestion, question_id)
    if question is None or question.tender_id != tender.id:
        raise TenderNotFound("Page not found")
    if tender.status is not TenderStatus.DRAFT:
        raise TenderStateConflict("Questions can be removed only while the tender is a draft.")
    record(
        actor,
        tender,
        "tender_question",
        question.id,
        "question removed",
        now,
        before={"number": question.number, "text": question.text},
    )
    tender.questions.remove(question)
    db.session.commit()


# --- Publishing, cancelling ------------------------------------------------------------------


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
    before = _tender_fields(tender)
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
        after=_tender_fields(tender),
    )
    db.session.flush()
    ocds.record_release(tender, "tender", now)
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
    reason = (reason or "").strip()
    if not reason:
        raise TenderError("Say why the tender is cancelled", field="reason")
    if len(reason) > REASON_MAX:
        raise TenderError(f"Keep the reason to {REASON_MAX:,} characters or fewer", field="reason")
    before = _tender_fields(tender)
    was_published = tender.status is not TenderStatus.DRAFT
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
        after={**_tender_fields(tender), "reason": reason},
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


# --- Clarifications --------------------------------------------------------------------------


@use_case
def ask_clarification(
    tender_id: int, actor: User, question: str, now: datetime | None = None
) -> TenderClarification:
    """A provider asks a question; nobody else ever sees who asked."""
    now = now or utcnow()
    if actor.role is not Role.PROVIDER or actor.provider_id is None:
        raise TenderError("Only providers ask clarification questions.", code="provider_only")
    tender = locked_tender(tender_id)
    if tender.status is TenderStatus.DRAFT:
        raise TenderNotFound("Page not found")
    if not tender.is_accepting_bids(now):
        raise TenderStateConflict("The deadline has passed: clarification questions are closed.")
    text = (question or "").strip()
    if not text:
        raise TenderError("Enter your question", field="question")
    if len(text) > QUESTION_MAX:
        raise TenderError(
            f"Keep the question to {QUESTION_MAX:,} characters or fewer", field="question"
        )
    clarification = TenderClarification(
        tender_id=tender.id, provider_id=actor.provider_id, question=text, asked_at=now
    )
    db.session.add(clarification)
    db.session.flush()
    record(
        actor,
        tender,
        "tender_clarification",
        clarification.id,
        "question asked",
        now,
        after={"question": text},
    )
    db.session.commit()
    return clarification


@use_case
def answer_clarification(
    tender_id: int,
    clarification_id: int,
    actor: User,
    answer: str,
    now: datetime | None = None,
) -> TenderClarification:
    """The committee answers once; the answer goes to every provider, anonymised."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    clarification = db.session.get(TenderClarification, clarification_id)
    if clarification is None or clarification.tender_id != tender.id:
        raise TenderNotFound("Page not found")
    if clarification.answered_at is not None:
        raise TenderStateConflict("This question has already been answered to all bidders.")
    if not tender.is_accepting_bids(now):
        raise TenderStateConflict("The deadline has passed: clarifications are closed.")
    text = (answer or "").strip()
    if not text:
        raise TenderError("Enter the answer", field="answer")
    if len(text) > TEXT_MAX:
        raise TenderError("The answer is too long", field="answer")
    clarification.answer = text
    clarification.answered_at = now
    clarification.answered_by_id = actor.id
    notify_bidders(
        tender,
        now,
        f"A clarification about “{tender.title}” was published: see the tender's questions "
        "and answers.",
        provider_ids=set(
            db.session.scalars(
                sa.select(TenderBid.provider_id).where(
                    TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED
                )
            )
        )
        | {clarification.provider_id},
    )
    record(
        actor,
        tender,
        "tender_clarification",
        clarification.id,
        "question answered",
        now,
        after={"question": clarification.question, "answer": text},
    )
    db.session.commit()
    return clarification


def clarifications_for(tender: Tender, user: User) -> list[TenderClarification]:
    """Answers for all; the committee also sees open questions, a provider its own."""
    stmt = sa.select(TenderClarification).where(TenderClarification.tender_id == tender.id)
    if user.role is Role.COMMITTEE:
        pass
    elif user.role is Role.PROVIDER:
        stmt = stmt.where(
            sa.or_(
                TenderClarification.answered_at.is_not(None),
                TenderClarification.provider_id == user.provider_id,
            )
        )
    else:
        stmt = stmt.where(TenderClarification.answered_at.is_not(None))
    return list(
        db.session.scalars(stmt.order_by(TenderClarification.asked_at, TenderClarification.id))
    )


# --- Opening --------------------------------------------------------------------------------


@use_case
def confirm_opening(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """One committee member confirms opening; the second, different, member opens the bids."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    stage = tender.stage(now)
    if stage is TenderStage.OPEN:
        raise OpeningRefused(
            f"Bids can be opened only after the deadline ({format_instant(tender.deadline_at)})."
        )
    if stage is not TenderStage.CLOSED:
        raise OpeningRefused(f"A tender at the “{stage.label}” stage cannot be opened.")
    confirmations = list(
        db.session.scalars(
            sa.select(TenderOpeningConfirmation).where(
                TenderOpeningConfirmation.tender_id == tender.id
            )
        )
    )
    if any(c.user_id == actor.id for c in confirmations):
        raise OpeningRefused(
            "You have already confirmed the opening: a second, different committee member "
            "must confirm it."
        )
    db.session.add(
        TenderOpeningConfirmation(tender_id=tender.id, user_id=actor.id, confirmed_at=now)
    )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "opening confirmed",
        now,
        after={"confirmations": len(confirmations) + 1},
    )
    if confirmations:
        _open_bids(tender, actor, now)
    db.session.commit()
    return tender


def _open_bids(tender: Tender, actor: User, now: datetime) -> None:
    before = _tender_fields(tender)
    tender.status = TenderStatus.OPENED
    tender.opened_at = now
    stale = list(
        db.session.scalars(
            sa.select(TenderBid).where(
                TenderBid.tender_id == tender.id,
                TenderBid.status == BidStatus.SUBMITTED,
                TenderBid.needs_reconfirmation.is_(True),
            )
        )
    )
    for bid in stale:
        bid.status = BidStatus.DISQUALIFIED
        bid.disqualified_reason = (
            "Not re-confirmed after the tender changed: the bid does not count."
        )
        record(
            None,
            tender,
            "tender_bid",
            bid.id,
            "disqualified",
            now,
            before={"status": BidStatus.SUBMITTED.value},
            after={"status": bid.status.value, "reason": bid.disqualified_reason},
        )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "bids opened",
        now,
        before=before,
        after=_tender_fields(tender),
    )
    db.session.flush()
    ocds.record_release(tender, "tenderUpdate", now)


@use_case
def disqualify_bid(
    tender_id: int, bid_id: int, actor: User, reason: str, now: datetime | None = None
) -> TenderBid:
    """After opening and before evaluation: set a non-compliant bid aside, with the reason."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.OPENED:
        raise TenderStateConflict("Bids can be disqualified only between opening and evaluation.")
    bid = db.session.get(TenderBid, bid_id)
    if bid is None or bid.tender_id != tender.id:
        raise TenderNotFound("Page not found")
    if bid.status is not BidStatus.SUBMITTED:
        raise TenderStateConflict("Only a submitted bid can be disqualified.")
    reason = (reason or "").strip()
    if not reason:
        raise TenderError("Say why the bid is disqualified: the bidder is told", field="reason")
    if len(reason) > REASON_MAX:
        raise TenderError(f"Keep the reason to {REASON_MAX:,} characters or fewer", field="reason")
    bid.status = BidStatus.DISQUALIFIED
    bid.disqualified_reason = reason
    notify_bidders(
        tender,
        now,
        f"Your bid for lot {bid.lot.number} of “{tender.title}” was disqualified: {reason}",
        provider_ids=[bid.provider_id],
    )
    record(
        actor,
        tender,
        "tender_bid",
        bid.id,
        "disqualified",
        now,
        before={"status": BidStatus.SUBMITTED.value},
        after={"status": bid.status.value, "reason": reason},
    )
    db.session.commit()
    return bid


@use_case
def start_evaluation(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """Fix the valid bids; lots with fewer than the minimum are unsuccessful (all: the tender)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.OPENED:
        raise TenderStateConflict("Evaluation starts once the bids are opened.")
    counts = {
        lot_id: count
        for lot_id, count in db.session.execute(
            sa.select(TenderBid.lot_id, sa.func.count())
            .where(TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED)
            .group_by(TenderBid.lot_id)
        )
    }
    before = _tender_fields(tender)
    for lot in tender.lots:
        if counts.get(lot.id, 0) < tender.min_valid_bids:
            lot.unsuccessful = True
            record(
                actor,
                tender,
                "tender_lot",
                lot.id,
                "lot unsuccessful",
                now,
                after={"valid_bids": counts.get(lot.id, 0), "minimum": tender.min_valid_bids},
            )
    if all(lot.unsuccessful for lot in tender.lots):
        tender.status = TenderStatus.UNSUCCESSFUL
        tender.unsuccessful_at = now
        notify_bidders(
            tender,
            now,
            f"“{tender.title}” was unsuccessful: fewer valid bids than the minimum of "
            f"{tender.min_valid_bids} were received, so no contract will be awarded.",
        )
        action = "unsuccessful"
    else:
        tender.status = TenderStatus.EVALUATION
        tender.evaluation_started_at = now
        action = "evaluation started"
    record(
        actor, tender, "tender", tender.id, action, now, before=before, after=_tender_fields(tender)
    )
    db.session.flush()
    ocds.record_release(tender, "tenderUpdate", now)
    db.session.commit()
    return tender


# --- Contracts and completion ------------------------------------------------------------------


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
    before = _tender_fields(tender)
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
        after=_tender_fields(tender),
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
    before = _tender_fields(tender)
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
        after=_tender_fields(tender),
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


# --- Reading a tender -------------------------------------------------------------------------


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


def opened_bids(tender: Tender) -> list[TenderBid]:
    """Every bid of an opened tender (bidder, status, receipt time); nothing before opening."""
    if tender.opened_at is None:
        return []
    return list(
        db.session.scalars(
            sa.select(TenderBid)
            .join(TenderLot, TenderLot.id == TenderBid.lot_id)
            .where(TenderBid.tender_id == tender.id)
            .order_by(TenderLot.number, TenderBid.submitted_at, TenderBid.id)
            .options(selectinload(TenderBid.provider))
        )
    )


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
    return sorted(s.school.name for s in tender.schools)
