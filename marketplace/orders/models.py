"""Schools' orders: one offer (or a contract call-off) for one term, and its statuses; the
school's basket of offers to order together, and the checkouts that sent a basket as orders."""

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
    # The basket checkout that placed this order with others under one PO number, if any.
    checkout_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkouts.id"), index=True)
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
    approvals: Mapped[list[OrderApproval]] = relationship(
        back_populates="order", order_by="OrderApproval.step"
    )

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


class BasketLine(Model):
    """An offer, term and quantity a school means to order with the rest of its basket.

    Not priced when saved: the basket prices every line as it is shown and again at checkout,
    with the order page's rules (marketplace.orders.drafting.prepare).
    """

    __tablename__ = "basket_lines"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "offer_id", "term_key"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    term_key: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[int]
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    offer: Mapped[Offer] = relationship()


class Checkout(Model):
    """A school's basket sent in one go: one purchase-order number, one order per line."""

    __tablename__ = "checkouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    po_number: Mapped[str] = mapped_column(sa.String(60))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    orders: Mapped[list[Order]] = relationship(order_by="Order.id")


class OrderApproval(Model):
    """One step of a school's approval chain given to an order: who approved it and when
    (marketplace.orders.rules.approvals_needed says which steps an order needs)."""

    __tablename__ = "order_approvals"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "step", name="uq_order_approvals_order_step"),
        sa.UniqueConstraint("order_id", "approver_id", name="uq_order_approvals_order_approver"),
        sa.CheckConstraint("step >= 1", name="step_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    step: Mapped[int]
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="approvals")
    approver: Mapped[User] = relationship()
