"""Buying rounds: the pool a committee opens, schools' pledges, and every aggregator run.

A round covers one or more services over one or more terms; each (service, term) pair is a
*lot*, the unit the aggregator prices: an offer's capacity and volume tiers apply per term, so
schools' pledges for one lot are pooled together. Offers take part through RoundOffer rows
(marketplace offers today; a tender's bids could take part later as rows of their own, turned
into optimizer offers in the one place that does that, `procurement.rounds.inputs.build_inputs`).

Awarding a run (`procurement.rounds.award`) creates, per awarded provider and lot, a
`procurement.contracts.models.Contract` with its schools, a confirmed call-off
`marketplace.orders.models.Order` per school, capacity reservations on the offers, and a
RoundNotice per pledging school.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import School, User, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer


class RoundStatus(StrEnum):
    DRAFT = "draft"  # being prepared by the committee; not announced
    OPEN = "open"  # announced; schools pledge until the deadline
    CLOSED = "closed"  # pledging is over; waiting for a run of the aggregator
    RUN = "run"  # at least one run found an allocation; ready to award
    AWARDED = "awarded"  # contracts and call-off orders created
    CANCELLED = "cancelled"


# A round in these statuses can still be run again (with changed rules) and awarded.
ROUND_RUNNABLE_STATUSES = frozenset({RoundStatus.OPEN, RoundStatus.CLOSED, RoundStatus.RUN})
ROUND_FINISHED_STATUSES = frozenset({RoundStatus.AWARDED, RoundStatus.CANCELLED})


class BuyingRound(Model):
    """A pool: services, terms, the offers taking part, the pledge deadline and the rules."""

    __tablename__ = "buying_rounds"
    __table_args__ = (
        sa.CheckConstraint(
            "max_share_percent >= 1 AND max_share_percent <= 100", name="max_share_in_range"
        ),
        sa.CheckConstraint("min_providers >= 1", name="min_providers_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[RoundStatus] = enum_column(RoundStatus, default=RoundStatus.DRAFT, index=True)
    # app.calendar.Term keys, e.g. ["2026-spring"], in term order.
    term_keys: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    pledge_deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The committee's rules for the aggregator (optimizer Rules).
    max_share_percent: Mapped[int] = mapped_column(default=100)
    min_providers: Mapped[int] = mapped_column(default=1)
    single_source: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
    services: Mapped[list[RoundService]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundService.id"
    )
    offers: Mapped[list[RoundOffer]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundOffer.id"
    )

    @property
    def max_share(self) -> float:
        """The largest fraction of a lot one offer may win (optimizer rules.max_share)."""
        return self.max_share_percent / 100

    @property
    def announced(self) -> bool:
        """Schools see a round once it has been opened (drafts never; cancelled ones still)."""
        return self.opened_at is not None

    def accepts_pledges(self, now: datetime) -> bool:
        """Open and before its deadline."""
        return self.status is RoundStatus.OPEN and now < self.pledge_deadline_at

    def shown_status(self, now: datetime) -> RoundStatus:
        """The status as people should read it: an open round past its deadline is closed."""
        if self.status is RoundStatus.OPEN and now >= self.pledge_deadline_at:
            return RoundStatus.CLOSED
        return self.status

    @property
    def pledge_step(self) -> int:
        """The block schools pledge in (set for every service of the round; 1: any number)."""
        return max((service.pledge_step for service in self.services), default=1)

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records."""
        return {
            "status": self.status.value,
            "title": self.title,
            "term_keys": list(self.term_keys),
            "pledge_deadline_at": self.pledge_deadline_at.isoformat(),
            "max_share_percent": self.max_share_percent,
            "min_providers": self.min_providers,
            "single_source": self.single_source,
        }


class RoundService(Model):
    """A service the round pools demand for, and the block schools pledge it in."""

    __tablename__ = "round_services"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "service_id", name="uq_round_services_round_service"),
        sa.CheckConstraint("pledge_step >= 1", name="pledge_step_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    # Pledges are whole multiples of this (a standard quantity, e.g. blocks of 5 days): schools
    # pledging the same then merge in the aggregator even when each buys from one provider.
    pledge_step: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))

    round: Mapped[BuyingRound] = relationship(back_populates="services")
    service: Mapped[Service] = relationship()


class RoundOffer(Model):
    """A provider's marketplace offer taking part in the round at its own tiers and capacity."""

    __tablename__ = "round_offers"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "offer_id", name="uq_round_offers_round_offer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id"), index=True)

    round: Mapped[BuyingRound] = relationship(back_populates="offers")
    offer: Mapped[Offer] = relationship()


class Pledge(Model):
    """Units of one service a school means to buy in one term through the round."""

    __tablename__ = "pledges"
    __table_args__ = (
        sa.UniqueConstraint(
            "round_id", "school_id", "service_id", "term_key", name="uq_pledges_round_school_lot"
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    term_key: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[int]
    # What the pledge could cost the school, to decide whether its head must approve it
    # (procurement.rounds.rules.pledge_estimate_pence), and who approved it, when.
    estimated_pence: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, server_default=sa.text("0")
    )
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The school's own purchase-order number, carried onto the call-off order at award.
    po_number: Mapped[str] = mapped_column(sa.String(60), default="", server_default=sa.text("''"))
    # Withdrawn pledges are kept (with their last quantity) so the history reads true.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    round: Mapped[BuyingRound] = relationship()
    school: Mapped[School] = relationship()
    service: Mapped[Service] = relationship()

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def approved(self) -> bool:
        """Approved by the head, or within the school's threshold when made."""
        return self.approved_at is not None

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records."""
        return {
            "service_id": self.service_id,
            "term_key": self.term_key,
            "quantity": self.quantity,
            "withdrawn": self.withdrawn_at is not None,
            "estimated_pence": self.estimated_pence,
            "approved": self.approved_at is not None,
            "po_number": self.po_number,
        }


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the aggregator answered (optimal, time_limit or infeasible: see outcome)
    FAILED = "failed"  # the run broke off (an error, or its process stopped)


RUN_IN_PROGRESS_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


class RoundRun(Model):
    """One run of the aggregator: its exact inputs, solver, status, bound, gap, time and answer."""

    __tablename__ = "round_runs"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "number", name="uq_round_runs_round_number"),
        sa.CheckConstraint("time_limit_seconds > 0", name="time_limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    number: Mapped[int]  # 1, 2, … within the round
    status: Mapped[RunStatus] = enum_column(RunStatus, default=RunStatus.QUEUED, index=True)
    progress: Mapped[str] = mapped_column(sa.String(200), default="")
    # Requested solver ("highs"/"cbc") and the one that answered, with its version.
    solver: Mapped[str] = mapped_column(sa.String(20), default="highs")
    solver_label: Mapped[str] = mapped_column(sa.String(60), default="")
    time_limit_seconds: Mapped[int] = mapped_column(default=60)
    # The optimizer instance (docs/aggregator.md), and names/ids to read it by.
    inputs: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    labels: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    inputs_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The optimizer's result JSON and a fingerprint of its answer (awards, allocations, charges).
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    answer_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # optimal/time_limit/infeasible
    message: Mapped[str] = mapped_column(sa.Text, default="")
    objective_pence: Mapped[int | None] = mapped_column(sa.BigInteger)
    bound_pence: Mapped[int | None] = mapped_column(sa.BigInteger)
    gap: Mapped[float | None]
    seconds: Mapped[float | None]
    error: Mapped[str] = mapped_column(sa.Text, default="")
    pid: Mapped[int | None]
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[BuyingRound] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])

    @property
    def in_progress(self) -> bool:
        return self.status in RUN_IN_PROGRESS_STATUSES

    @property
    def found_allocation(self) -> bool:
        """Done with an allocation that can be awarded (optimal, or the best within the limit)."""
        return self.status is RunStatus.DONE and self.outcome in ("optimal", "time_limit")

    def stalled(self, now: datetime, grace_seconds: int = 120) -> bool:
        """Still queued or running long after it should have finished (its process died)."""
        if not self.in_progress:
            return False
        since = self.started_at or self.queued_at
        return now - since > timedelta(seconds=self.time_limit_seconds * 3 + grace_seconds)


class RoundNotice(Model):
    """A message to a school about a round (e.g. its award), shown on the school's home page."""

    __tablename__ = "round_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[BuyingRound] = relationship()


class RoundEstimate(Model):
    """The indicative prices of an open round, worked out by a job when its pledges change
    (procurement.rounds.estimates): the optimizer's answer for the inputs with this hash."""

    __tablename__ = "round_estimates"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("buying_rounds.id"), unique=True)
    inputs_sha256: Mapped[str] = mapped_column(sa.String(64))
    instance: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    labels: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
