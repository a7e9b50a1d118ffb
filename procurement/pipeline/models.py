"""The renewal pipeline's records: decisions on contracts ending, the reminders sent, schools'
contracts held outside the partnership, and the evaluator-only reference data a prefilled
tender or round carries (previous prices, volumes per school)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import School, User, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service
from procurement.pipeline.rules import RenewalChoice


class RenewalDecision(Model):
    """The committee's decision for one contract; changeable until acted on (a draft tender or
    round made from it)."""

    __tablename__ = "renewal_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), unique=True)
    choice: Mapped[RenewalChoice] = enum_column(RenewalChoice)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Acted on: the draft tender or round made from the contract (then the decision stands).
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)

    decided_by: Mapped[User | None] = relationship()


class RenewalReminder(Model):
    """A reminder sent to the committee N days before a contract ends: once per contract and N."""

    __tablename__ = "renewal_reminders"
    __table_args__ = (
        sa.UniqueConstraint(
            "contract_id", "days_before", name="uq_renewal_reminders_contract_days"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    days_before: Mapped[int]
    sent_on: Mapped[date]
    recipients: Mapped[int] = mapped_column(default=0)


class ExternalContract(Model):
    """A contract a school holds outside the partnership, recorded so that schools whose
    contracts for the same service end close together can be offered a joint tender."""

    __tablename__ = "external_contracts"
    __table_args__ = (
        sa.CheckConstraint("annual_value_pence >= 0", name="annual_value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    supplier_name: Mapped[str] = mapped_column(sa.String(200))
    # A catalogue service, or (when none fits) a category in the school's own words.
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"), index=True)
    category: Mapped[str] = mapped_column(sa.String(100), default="")
    annual_value_pence: Mapped[int] = mapped_column(sa.BigInteger)
    ends_on: Mapped[date]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    school: Mapped[School] = relationship()
    service: Mapped[Service | None] = relationship()

    @property
    def what(self) -> str:
        """The service's name, or the school's own category."""
        return self.service.name if self.service is not None else self.category


class ReferencePrice(Model):
    """A previous price, kept on a prefilled tender or round for evaluators and the committee
    only: never shown to bidders, never in a notice."""

    __tablename__ = "reference_prices"
    __table_args__ = (
        sa.CheckConstraint("(tender_id IS NULL) <> (round_id IS NULL)", name="one_tender_or_round"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"))
    # Where the price came from, e.g. "CON-0004, Alpha Counselling Ltd".
    source: Mapped[str] = mapped_column(sa.String(300))
    min_quantity: Mapped[int] = mapped_column(default=0)
    unit_price_pence: Mapped[int]

    service: Mapped[Service] = relationship()


class ReferenceVolume(Model):
    """What one school bought (or holds) of a service: prefilled into a tender or round as its
    expected volume, shown to the committee and evaluators only."""

    __tablename__ = "reference_volumes"
    __table_args__ = (
        sa.CheckConstraint("(tender_id IS NULL) <> (round_id IS NULL)", name="one_tender_or_round"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buying_rounds.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    # Units called off over the last 12 months (None: not known, e.g. an external contract).
    quantity: Mapped[int | None]
    annual_value_pence: Mapped[int | None] = mapped_column(sa.BigInteger)
    basis: Mapped[str] = mapped_column(sa.String(300), default="")

    school: Mapped[School] = relationship()
