"""What people read for an order's status, and its tag colour: one vocabulary for every page,
message and email (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from marketplace.orders.models import OrderStatus

STATUS_TEXT = vocabulary(
    OrderStatus,
    {
        OrderStatus.DRAFT: ("Draft", "grey"),
        OrderStatus.SUBMITTED: ("Awaiting approval", "blue"),
        OrderStatus.APPROVED: ("Approved", "green"),
        OrderStatus.CONFIRMED: ("Confirmed", "teal"),
        OrderStatus.DELIVERED: ("Delivered", "green"),
        OrderStatus.INVOICED: ("Invoiced", "purple"),
        OrderStatus.CANCELLED: ("Cancelled", "grey"),
        OrderStatus.DECLINED: ("Declined", "red"),
        OrderStatus.REJECTED: ("Rejected", "red"),
    },
)
