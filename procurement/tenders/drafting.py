"""Drafting a tender: what is bought (its lots), how bids are scored (weights and questions),
when bids are due, the contract period and the schools taking part.

The committee drafts freely; the same use cases change an open tender before its deadline,
with a reason, as an amendment (`procurement.tenders.changes`). Lots and questions are removed
only from a draft: bids may already be on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import School, User
from app.time import london_date, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from procurement.tenders.access import (
    get_lot,
    locked_tender,
    record,
    require_committee,
    tender_fields,
)
from procurement.tenders.changes import editable_stage, record_change, require_reason
from procurement.tenders.errors import TenderError, TenderNotFound, TenderStateConflict
from procurement.tenders.models import (
    Criterion,
    Tender,
    TenderLot,
    TenderQuestion,
    TenderSchool,
    TenderStage,
    TenderStatus,
)

TITLE_MAX = 200
TEXT_MAX = 10_000
QUESTION_MAX = 2_000
MAX_LOTS = 10
MAX_QUESTIONS = 12
MAX_VOLUME = 1_000_000
MIN_VALID_BIDS_MAX = 20


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
    record(actor, tender, "tender", tender.id, "created", now, after=tender_fields(tender))
    db.session.commit()
    return tender


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
    before = tender_fields(tender)
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
        after=tender_fields(tender),
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
