"""Clarification questions: a provider asks while the tender is open, the committee answers
once, to every bidder.

Nobody but the committee sees an unanswered question, and nobody (not even the audit trail the
committee reads) names the provider who asked.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, User
from app.time import utcnow
from app.use_case import use_case
from procurement.tenders.access import locked_tender, notify_bidders, record, require_committee
from procurement.tenders.drafting import QUESTION_MAX, TEXT_MAX
from procurement.tenders.errors import TenderError, TenderNotFound, TenderStateConflict
from procurement.tenders.models import (
    Tender,
    TenderBid,
    TenderClarification,
)


@use_case
def ask_clarification(
    tender_id: int, actor: User, question: str, now: datetime | None = None
) -> TenderClarification:
    """A provider asks a question; nobody else ever sees who asked."""
    now = now or utcnow()
    if actor.role is not Role.PROVIDER or actor.provider_id is None:
        raise TenderError("Only providers ask clarification questions.", code="provider_only")
    tender = locked_tender(tender_id)
    if not tender.was_published:
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
        # Everyone who showed interest: started a bid (whatever became of it) or asked a
        # question about this tender.
        provider_ids=set(
            db.session.scalars(
                sa.select(TenderBid.provider_id).where(TenderBid.tender_id == tender.id)
            )
        )
        | set(
            db.session.scalars(
                sa.select(TenderClarification.provider_id).where(
                    TenderClarification.tender_id == tender.id
                )
            )
        ),
        kind="clarification_answered",
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
