"""Tenders: the committee's formal competitions, sealed bids, evaluation and OCDS releases.

A tender has lots (each single- or multi-sourced), quality and social-value questions, the
schools taking part, documents and clarifications. Providers bid per lot with all-units
volume tiers and capacity (the same shape as offers). The stored status moves forward only
through the stage use cases (`publication`, `opening`, `award`); "closed" is never stored:
it is an open tender whose deadline has passed (see `Tender.stage`).

Longer than 500 lines because the tender is one aggregate of sixteen small tables (lots,
questions, schools, amendments, bids with tiers and answers, documents, clarifications,
notifications, opening confirmations, declarations, scores, releases); they are read together
and cutting them apart would only scatter one record's definition.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, School, User, enum_column
from app.statuses import status_label
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service

OCID_PREFIX = "ocds-pooled-"


class TenderStatus(StrEnum):
    DRAFT = "draft"  # being prepared by the committee; nobody else sees it
    OPEN = "open"  # published: bids and clarification questions until the deadline
    OPENED = "opened"  # two committee members opened the bids after the deadline
    EVALUATION = "evaluation"  # compliance checked; evaluators score the valid bids
    STANDSTILL = "standstill"  # award decided; no contract until the standstill ends
    CONTRACTED = "contracted"  # contracts entered into
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    UNSUCCESSFUL = "unsuccessful"  # fewer valid bids than the minimum on every lot


class TenderStage(StrEnum):
    """What a tender is at one instant: the stored status, or "closed" once the deadline passed."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    OPENED = "opened"
    EVALUATION = "evaluation"
    STANDSTILL = "standstill"
    CONTRACTED = "contracted"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    UNSUCCESSFUL = "unsuccessful"

    @property
    def label(self) -> str:
        """The words of the one vocabulary (procurement/tenders/labels.py)."""
        return status_label(self) or self.value


# Bids have been opened: their contents may be seen by evaluators without a conflict.
TENDER_OPENED_STATUSES = frozenset(
    {
        TenderStatus.OPENED,
        TenderStatus.EVALUATION,
        TenderStatus.STANDSTILL,
        TenderStatus.CONTRACTED,
        TenderStatus.COMPLETE,
    }
)
# The committee may still cancel the tender.
TENDER_CANCELLABLE_STATUSES = frozenset(
    {
        TenderStatus.DRAFT,
        TenderStatus.OPEN,
        TenderStatus.OPENED,
        TenderStatus.EVALUATION,
        TenderStatus.STANDSTILL,
    }
)


class Criterion(StrEnum):
    """The criteria evaluators score 0–100 (price is scored by formula)."""

    QUALITY = "quality"
    SOCIAL_VALUE = "social_value"

    @property
    def label(self) -> str:
        return "Quality" if self is Criterion.QUALITY else "Social value"


class Tender(Model):
    __tablename__ = "tenders"
    __table_args__ = (
        sa.CheckConstraint(
            "price_weight + quality_weight + social_value_weight = 100", name="weights_total_100"
        ),
        sa.CheckConstraint(
            "price_weight >= 0 AND quality_weight >= 0 AND social_value_weight >= 0",
            name="weights_not_negative",
        ),
        sa.CheckConstraint("min_valid_bids >= 1", name="min_valid_bids_positive"),
        sa.CheckConstraint("contract_ends_on >= contract_starts_on", name="contract_period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[TenderStatus] = enum_column(TenderStatus, default=TenderStatus.DRAFT, index=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contract_starts_on: Mapped[date]
    contract_ends_on: Mapped[date]
    # Fewer valid bids than this on a lot make the lot (and, for every lot, the tender)
    # unsuccessful.
    min_valid_bids: Mapped[int] = mapped_column(default=2)
    # Weights in percent; they add up to 100.
    price_weight: Mapped[int] = mapped_column(default=60)
    quality_weight: Mapped[int] = mapped_column(default=30)
    social_value_weight: Mapped[int] = mapped_column(default=10)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluation_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    award_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last working day of the standstill; a contract may be entered into from the next day.
    standstill_ends_on: Mapped[date | None]
    contracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Cancelled before opening: the bids were discarded unopened.
    bids_discarded: Mapped[bool] = mapped_column(default=False)
    unsuccessful_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
    lots: Mapped[list[TenderLot]] = relationship(
        back_populates="tender", order_by="TenderLot.number", cascade="all, delete-orphan"
    )
    questions: Mapped[list[TenderQuestion]] = relationship(
        back_populates="tender", order_by="TenderQuestion.number", cascade="all, delete-orphan"
    )
    schools: Mapped[list[TenderSchool]] = relationship(
        back_populates="tender", cascade="all, delete-orphan"
    )
    opening_confirmations: Mapped[list[TenderOpeningConfirmation]] = relationship(
        back_populates="tender",
        order_by="TenderOpeningConfirmation.confirmed_at",
        cascade="all, delete-orphan",
    )

    @property
    def ocid(self) -> str:
        return f"{OCID_PREFIX}{self.id}"

    @property
    def reference(self) -> str:
        return f"TEN-{self.id:04d}"

    @hybrid_property
    def was_published(self) -> bool:
        """Ever published: only then do providers, schools and the notices see it.

        Visibility never follows the status alone: a draft cancelled before publication is
        "cancelled" but was never public, and stays the committee's and admin's only.
        """
        return self.published_at is not None

    @was_published.inplace.expression
    @classmethod
    def _was_published_expression(cls) -> sa.ColumnElement[bool]:
        return cls.published_at.is_not(None)

    def stage(self, now: datetime) -> TenderStage:
        """The stage at `now`: an open tender whose deadline has passed is closed."""
        if self.status is TenderStatus.OPEN and now >= self.deadline_at:
            return TenderStage.CLOSED
        return TenderStage(self.status.value)

    def is_accepting_bids(self, now: datetime) -> bool:
        return self.status is TenderStatus.OPEN and now < self.deadline_at

    @property
    def is_opened(self) -> bool:
        return self.opened_at is not None and self.status in TENDER_OPENED_STATUSES

    def weight(self, criterion: Criterion) -> int:
        return self.quality_weight if criterion is Criterion.QUALITY else self.social_value_weight

    @property
    def scored_criteria(self) -> list[Criterion]:
        """The criteria evaluators score (those with a weight)."""
        return [c for c in Criterion if self.weight(c) > 0]


class TenderLot(Model):
    """A part of the tender awarded separately, to one provider or several."""

    __tablename__ = "tender_lots"
    __table_args__ = (
        sa.UniqueConstraint("tender_id", "number", name="uq_tender_lots_tender_number"),
        sa.CheckConstraint("expected_volume >= 1", name="expected_volume_positive"),
        sa.CheckConstraint("max_suppliers >= 1", name="max_suppliers_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    # Units the schools taking part expect to buy over the contract: the evaluated price of
    # a bid is its price for this volume.
    expected_volume: Mapped[int]
    # 1: single-sourced; more: up to this many providers share the lot.
    max_suppliers: Mapped[int] = mapped_column(default=1)
    unsuccessful: Mapped[bool] = mapped_column(default=False)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    tender: Mapped[Tender] = relationship(back_populates="lots")
    service: Mapped[Service] = relationship()
    moderated_by: Mapped[User | None] = relationship()

    @property
    def multi_sourced(self) -> bool:
        return self.max_suppliers > 1


class TenderQuestion(Model):
    """A question every bid answers; evaluators score the answers under its criterion."""

    __tablename__ = "tender_questions"
    __table_args__ = (
        sa.UniqueConstraint("tender_id", "number", name="uq_tender_questions_tender_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    number: Mapped[int]
    criterion: Mapped[Criterion] = enum_column(Criterion)
    text: Mapped[str] = mapped_column(sa.Text)

    tender: Mapped[Tender] = relationship(back_populates="questions")


class TenderSchool(Model):
    """A school taking part: it joins the contracts the tender awards."""

    __tablename__ = "tender_schools"
    __table_args__ = (
        sa.UniqueConstraint("tender_id", "school_id", name="uq_tender_schools_tender_school"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)

    tender: Mapped[Tender] = relationship(back_populates="schools")
    school: Mapped[School] = relationship()


class TenderAmendment(Model):
    """A change to a published tender: why, what, and whether the deadline moved."""

    __tablename__ = "tender_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rationale: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text)
    deadline_before: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_after: Mapped[datetime] = mapped_column(UTCDateTime)


class BidStatus(StrEnum):
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    DISQUALIFIED = "disqualified"


class TenderBid(Model):
    """A provider's sealed bid for one lot: volume tiers, capacity, answers and documents."""

    __tablename__ = "tender_bids"
    __table_args__ = (
        sa.UniqueConstraint("lot_id", "provider_id", name="uq_tender_bids_lot_provider"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint(
            "quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 100)",
            name="quality_score_range",
        ),
        sa.CheckConstraint(
            "social_value_score IS NULL OR (social_value_score >= 0 AND social_value_score <= 100)",
            name="social_value_score_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_lots.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    status: Mapped[BidStatus] = enum_column(BidStatus, default=BidStatus.SUBMITTED)
    capacity: Mapped[int]
    # Server receipt time of the bid as it stands (set on every submission or change).
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The tender changed after this bid was submitted: it counts only once re-confirmed.
    needs_reconfirmation: Mapped[bool] = mapped_column(default=False)
    reconfirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disqualified_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Moderated scores (0–100), set by a committee member after the evaluators' scores.
    quality_score: Mapped[int | None]
    social_value_score: Mapped[int | None]
    # Fixed at the award decision.
    evaluated_price_pence: Mapped[int | None]
    total_score_hundredths: Mapped[int | None]
    rank: Mapped[int | None]
    awarded: Mapped[bool] = mapped_column(default=False)

    tender: Mapped[Tender] = relationship()
    lot: Mapped[TenderLot] = relationship()
    provider: Mapped[Provider] = relationship()
    tiers: Mapped[list[TenderBidTier]] = relationship(
        back_populates="bid", order_by="TenderBidTier.min_quantity", cascade="all, delete-orphan"
    )
    answers: Mapped[list[TenderBidAnswer]] = relationship(
        back_populates="bid", cascade="all, delete-orphan"
    )

    @property
    def is_valid(self) -> bool:
        """Counts at opening: submitted and, after any change to the tender, re-confirmed."""
        return self.status is BidStatus.SUBMITTED and not self.needs_reconfirmation

    def moderated(self, criterion: Criterion) -> int | None:
        return self.quality_score if criterion is Criterion.QUALITY else self.social_value_score


class TenderBidTier(Model):
    """From `min_quantity` units up, every unit costs `unit_price_pence` (all-units)."""

    __tablename__ = "tender_bid_tiers"
    __table_args__ = (
        sa.UniqueConstraint("bid_id", "min_quantity", name="uq_tender_bid_tiers_bid_min"),
        sa.CheckConstraint("min_quantity >= 0", name="min_not_negative"),
        sa.CheckConstraint("unit_price_pence >= 1", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_bids.id"), index=True)
    min_quantity: Mapped[int]
    unit_price_pence: Mapped[int]

    bid: Mapped[TenderBid] = relationship(back_populates="tiers")


class TenderBidAnswer(Model):
    __tablename__ = "tender_bid_answers"
    __table_args__ = (
        sa.UniqueConstraint("bid_id", "question_id", name="uq_tender_bid_answers_bid_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_bids.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_questions.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)

    bid: Mapped[TenderBid] = relationship(back_populates="answers")
    question: Mapped[TenderQuestion] = relationship()


class TenderDocument(Model):
    """A file on a tender (published with it) or on a bid (sealed with it), kept in the database.

    Files live in the database, not on disk: every gunicorn worker and host sees them, and the
    file and its record are written (or rolled back) in one transaction.
    """

    __tablename__ = "tender_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    bid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tender_bids.id"), index=True)
    # The provider owning a bid document (None for the tender's own documents).
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TenderClarification(Model):
    """A provider's question; the answer is published to every bidder without naming who asked."""

    __tablename__ = "tender_clarifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    # Who asked: shown to nobody but the asker.
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    question: Mapped[str] = mapped_column(sa.Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class TenderNotification(Model):
    """An in-app message to a provider about a tender it bid in (a change, an answer, a result)."""

    __tablename__ = "tender_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    tender: Mapped[Tender] = relationship()


class TenderOpeningConfirmation(Model):
    """One committee member's confirmation that the bids may be opened."""

    __tablename__ = "tender_opening_confirmations"
    __table_args__ = (
        sa.UniqueConstraint("tender_id", "user_id", name="uq_tender_opening_tender_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    tender: Mapped[Tender] = relationship(back_populates="opening_confirmations")
    user: Mapped[User] = relationship()


class TenderConflictDeclaration(Model):
    """An evaluator's declaration of interests for one lot, made before seeing its bids."""

    __tablename__ = "tender_conflict_declarations"
    __table_args__ = (
        sa.UniqueConstraint("lot_id", "evaluator_id", name="uq_tender_conflicts_lot_evaluator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_lots.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    has_conflict: Mapped[bool]
    details: Mapped[str] = mapped_column(sa.Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)

    evaluator: Mapped[User] = relationship()


class TenderScore(Model):
    """One evaluator's score (0–100) of one bid under one criterion."""

    __tablename__ = "tender_scores"
    __table_args__ = (
        sa.UniqueConstraint(
            "bid_id", "evaluator_id", "criterion", name="uq_tender_scores_bid_evaluator_criterion"
        ),
        sa.CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_bids.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    criterion: Mapped[Criterion] = enum_column(Criterion)
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)

    evaluator: Mapped[User] = relationship()


class TenderRelease(Model):
    """An OCDS release, frozen when the change it publishes is made."""

    __tablename__ = "tender_releases"
    __table_args__ = (
        sa.UniqueConstraint("tender_id", "sequence", name="uq_tender_releases_tender_sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    sequence: Mapped[int]
    release_id: Mapped[str] = mapped_column(sa.String(80), unique=True)
    tag: Mapped[str] = mapped_column(sa.String(40))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
