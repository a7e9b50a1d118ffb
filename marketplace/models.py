"""The catalogue, providers' offers with volume tiers and capacity, and schools' orders."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import MembershipTerm, Provider, School, User, enum_column
from app.types import UTCDateTime, utcnow


class ServiceKind(StrEnum):
    CORE = "core"  # included in the subscription
    TRADED = "traded"  # bought on top


class Category(StrEnum):
    GOVERNANCE = "governance"
    ECT = "ect"
    COUNSELLING = "counselling"
    SPEECH_LANGUAGE = "speech-language"
    EDUCATIONAL_PSYCHOLOGY = "educational-psychology"
    SUPPLY = "supply"
    HR = "hr"
    PAYROLL = "payroll"
    INSURANCE = "insurance"
    DATA_ASSESSMENT = "data-assessment"
    CPD = "cpd"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.GOVERNANCE: "Governor support and clerking",
    Category.ECT: "ECT appropriate body",
    Category.COUNSELLING: "Counselling",
    Category.SPEECH_LANGUAGE: "Speech and language therapy",
    Category.EDUCATIONAL_PSYCHOLOGY: "Educational psychology",
    Category.SUPPLY: "Supply staff",
    Category.HR: "HR",
    Category.PAYROLL: "Payroll",
    Category.INSURANCE: "Insurance",
    Category.DATA_ASSESSMENT: "Data and assessment",
    Category.CPD: "CPD and peer review",
}


class Unit(StrEnum):
    DAY = "day"
    HOUR = "hour"
    SESSION = "session"
    ECT = "ECT"
    PUPIL = "pupil"
    MEETING = "meeting"
    PACKAGE = "package"
    STAFF_HEAD = "staff head"
    PAYSLIP = "payslip"
    VISIT = "visit"


class VatTreatment(StrEnum):
    STANDARD = "standard"  # 20%
    EXEMPT = "exempt"  # education and welfare services between eligible bodies
    ZERO = "zero"
    OUTSIDE_SCOPE = "outside-scope"

    @property
    def rate_bp(self) -> int:
        return 2000 if self is VatTreatment.STANDARD else 0


class Service(db.Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[ServiceKind] = enum_column(ServiceKind)
    category: Mapped[Category] = enum_column(Category)
    unit: Mapped[Unit] = enum_column(Unit)
    vat: Mapped[VatTreatment] = enum_column(VatTreatment, default=VatTreatment.EXEMPT)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    offers: Mapped[list[Offer]] = relationship(back_populates="service")


class OfferStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    WITHDRAWN = "withdrawn"


class Offer(db.Model):
    """A provider's price for a service: all-units volume tiers, capacity per term, rules."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[OfferStatus] = enum_column(OfferStatus, default=OfferStatus.DRAFT)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    lead_time_days: Mapped[int] = mapped_column(default=10)
    # Cancellation: notice needed (days before the term starts) and the admin charge kept
    # from a pro-rata refund, in basis points of the order value.
    notice_days: Mapped[int] = mapped_column(default=0)
    cancellation_charge_bp: Mapped[int] = mapped_column(default=0)
    notice_rules: Mapped[str] = mapped_column(sa.Text, default="")
    # Areas served (empty = the whole partnership) and schools the offer excludes.
    areas: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    excluded_school_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    min_quantity: Mapped[int] = mapped_column(default=1)
    setup_pence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider: Mapped[Provider] = relationship()
    service: Mapped[Service] = relationship(back_populates="offers")
    tiers: Mapped[list[OfferTier]] = relationship(
        back_populates="offer", order_by="OfferTier.min_quantity", cascade="all, delete-orphan"
    )
    capacities: Mapped[list[OfferCapacity]] = relationship(
        back_populates="offer", order_by="OfferCapacity.term_key", cascade="all, delete-orphan"
    )


class OfferTier(db.Model):
    """From `min_quantity` units up, every unit costs `unit_price_pence` (all-units)."""

    __tablename__ = "offer_tiers"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "min_quantity", name="uq_offer_tiers_offer_min"),
        sa.CheckConstraint("min_quantity >= 0", name="min_not_negative"),
        sa.CheckConstraint("unit_price_pence >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    min_quantity: Mapped[int]
    unit_price_pence: Mapped[int]

    offer: Mapped[Offer] = relationship(back_populates="tiers")


class OfferCapacity(db.Model):
    """Units an offer can deliver in one term and how many are already reserved."""

    __tablename__ = "offer_capacities"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "term_key", name="uq_offer_capacities_offer_term"),
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        sa.CheckConstraint("reserved <= capacity", name="never_oversold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    term_key: Mapped[str] = mapped_column(sa.String(20))  # app.calendar.Term.key
    capacity: Mapped[int]
    reserved: Mapped[int] = mapped_column(default=0)

    offer: Mapped[Offer] = relationship(back_populates="capacities")

    @property
    def left(self) -> int:
        return self.capacity - self.reserved


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CONFIRMED = "confirmed"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"
    DECLINED = "declined"


ORDER_EDITABLE_STATUSES = frozenset({OrderStatus.DRAFT})
# Statuses that hold provider capacity.
ORDER_RESERVING_STATUSES = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.APPROVED,
        OrderStatus.CONFIRMED,
        OrderStatus.DELIVERED,
        OrderStatus.INVOICED,
    }
)
ORDER_CLOSED_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.DECLINED})


class OrderKind(StrEnum):
    ORDER = "order"  # bought from an offer's price list
    CALL_OFF = "call-off"  # drawn on an awarded contract


class Order(db.Model):
    """A school buying a quantity of one offer (or a contract call-off) for one term."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("total_pence >= 0", name="total_not_negative"),
        sa.CheckConstraint(
            "entitled_quantity >= 0 AND entitled_quantity <= quantity",
            name="entitled_within_quantity",
        ),
        sa.CheckConstraint("cancellation_charge_pence >= 0", name="charge_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    kind: Mapped[OrderKind] = enum_column(OrderKind, default=OrderKind.ORDER)
    term_key: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[int]
    # Units covered by the school's core-offer entitlement, charged at £0.
    entitled_quantity: Mapped[int] = mapped_column(default=0)
    unit_price_pence: Mapped[int]
    # A one-off set-up charge from the offer, included in total_pence.
    setup_pence: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    total_pence: Mapped[int]
    # What the school still owes for a cancelled order (marketplace.pricing.settle_cancellation).
    cancellation_charge_pence: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    po_number: Mapped[str] = mapped_column(sa.String(60), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[OrderStatus] = enum_column(OrderStatus, default=OrderStatus.DRAFT, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    school: Mapped[School] = relationship()
    provider: Mapped[Provider] = relationship()
    service: Mapped[Service] = relationship()
    offer: Mapped[Offer | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records."""
        return {
            "status": self.status.value,
            "quantity": self.quantity,
            "total_pence": self.total_pence,
            "term_key": self.term_key,
        }


class Entitlement(db.Model):
    """What one year's membership includes of a core service, e.g. two peer-review days."""

    __tablename__ = "entitlements"
    __table_args__ = (
        sa.UniqueConstraint("term_id", "service_id", name="uq_entitlements_term_service"),
        sa.CheckConstraint("included_quantity >= 0", name="included_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("membership_terms.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    included_quantity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    term: Mapped[MembershipTerm] = relationship()
    service: Mapped[Service] = relationship()


from marketplace import billing_models  # noqa: E402,F401
