"""Schools' orders: one offer (or a contract call-off) for one term, and its statuses."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, School, User, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer
from marketplace.orders import rules


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CONFIRMED = "confirmed"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    REJECTED = "rejected"  # turned down by the school's head (budget holder), with a reason


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
ORDER_CLOSED_STATUSES = frozenset(
    {OrderStatus.CANCELLED, OrderStatus.DECLINED, OrderStatus.REJECTED}
)
# What each status means to the people reading it.
STATUS_TEXT = {
    OrderStatus.DRAFT: "Draft",
    OrderStatus.SUBMITTED: "Awaiting approval",
    OrderStatus.APPROVED: "Approved",
    OrderStatus.CONFIRMED: "Confirmed",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.INVOICED: "Invoiced",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.DECLINED: "Declined",
    OrderStatus.REJECTED: "Rejected",
}
CANCELLABLE_STATUSES = frozenset(
    {
        OrderStatus.DRAFT,
        OrderStatus.SUBMITTED,
        OrderStatus.APPROVED,
        OrderStatus.CONFIRMED,
        OrderStatus.DELIVERED,
        OrderStatus.INVOICED,
    }
)
# Once the provider has confirmed, cancelling follows the offer's notice rules; after delivery
# or invoicing the same rules apply and what they give back is credited (marketplace.billing).
PROVIDER_COMMITTED_STATUSES = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.DELIVERED, OrderStatus.INVOICED}
)


class OrderKind(StrEnum):
    ORDER = "order"  # bought from an offer's price list
    CALL_OFF = "call-off"  # drawn on an awarded contract


class Order(Model):
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
        sa.CheckConstraint("non_member_uplift_pence >= 0", name="uplift_not_negative"),
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
    # The part of total_pence a non-member school paid over the member price (0 for members).
    non_member_uplift_pence: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    # What the school still owes for a cancelled order
    # (marketplace.offers.pricing.settle_cancellation).
    cancellation_charge_pence: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    po_number: Mapped[str] = mapped_column(sa.String(60), default="")
    # The head's reason for rejecting the order (status rejected), shown to the school.
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[OrderStatus] = enum_column(OrderStatus, default=OrderStatus.DRAFT, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After delivery the school confirms receipt or raises a dispute until acceptance_due_on
    # (marketplace.orders.acceptance); undisputed, the delivery is deemed accepted after it.
    acceptance_due_on: Mapped[date | None]
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disputed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    dispute_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    school: Mapped[School] = relationship()
    provider: Mapped[Provider] = relationship()
    service: Mapped[Service] = relationship()
    offer: Mapped[Offer | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @hybrid_method
    def needs_approval(self, threshold_pence: int) -> bool:
        """Over the school's approval threshold, so the head must approve it
        (marketplace.orders.rules.needs_approval); on the class, the same rule in SQL."""
        return rules.needs_approval(self.total_pence, threshold_pence)

    @property
    def dispute_open(self) -> bool:
        """Delivered, disputed by the school, and not yet resolved."""
        return (
            self.status is OrderStatus.DELIVERED
            and self.disputed_at is not None
            and self.accepted_at is None
        )

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records."""
        return {
            "status": self.status.value,
            "quantity": self.quantity,
            "total_pence": self.total_pence,
            "term_key": self.term_key,
        }
