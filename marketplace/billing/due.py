"""What is due on a day: the unbilled memberships, orders, call-offs and cancellation charges.

Queries only (marketplace.billing.invoicing writes the invoices; runs counts what is due).
An order is billable once its delivery is accepted (marketplace.orders.acceptance) and it has the
school's purchase-order number.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import Membership, MembershipTerm, School
from marketplace.billing.models import InvoiceLine
from marketplace.orders import acceptance
from marketplace.orders.models import Order, OrderKind, OrderStatus


def membership_term(as_of: date) -> MembershipTerm | None:
    """The membership term of the academic year `as_of` falls in, if there is one."""
    year = AcademicYear.containing(as_of)
    return db.session.scalar(
        sa.select(MembershipTerm).where(MembershipTerm.start_year == year.start_year)
    )


def billed_membership_ids() -> sa.Select:
    return sa.select(InvoiceLine.membership_id).where(InvoiceLine.membership_id.is_not(None))


def billed_order_ids() -> sa.Select:
    return sa.select(InvoiceLine.order_id).where(InvoiceLine.order_id.is_not(None))


def unbilled_memberships(term_id: int) -> sa.Select:
    """Member schools' memberships of the term that no invoice line bills yet."""
    return (
        sa.select(Membership)
        .join(School, School.id == Membership.school_id)
        .where(
            Membership.term_id == term_id,
            School.is_member.is_(True),
            Membership.id.not_in(billed_membership_ids()),
        )
        .order_by(School.name, Membership.id)
    )


def billable_delivery(as_of: date) -> list[sa.ColumnElement[bool]]:
    """Delivered, accepted by `as_of` (marketplace.orders.acceptance.billable), and with the
    school's purchase-order number (a call-off awarded from a pledge without one waits)."""
    return [
        Order.status == OrderStatus.DELIVERED,
        acceptance.billable(as_of),
        Order.po_number != "",
    ]


def unbilled_order_conditions(kind: OrderKind, as_of: date) -> list[sa.ColumnElement[bool]]:
    """Accepted deliveries (or call-offs under a contract) with something to pay, not billed."""
    conditions = [
        Order.kind == kind,
        *billable_delivery(as_of),
        Order.total_pence > 0,
        Order.id.not_in(billed_order_ids()),
    ]
    if kind is OrderKind.CALL_OFF:
        conditions.append(Order.contract_id.is_not(None))
    return conditions


def unbilled_orders(kind: OrderKind, as_of: date) -> sa.Select:
    """The unbilled orders (or call-offs) of `kind` billable on `as_of`, by id."""
    return sa.select(Order).where(*unbilled_order_conditions(kind, as_of)).order_by(Order.id)


def unbilled_cancellation_charges() -> sa.Select:
    """Cancelled orders that were never billed but still owe a charge under the offer's rules."""
    return (
        sa.select(Order)
        .where(
            Order.status == OrderStatus.CANCELLED,
            Order.cancellation_charge_pence > 0,
            Order.id.not_in(billed_order_ids()),
        )
        .order_by(Order.id)
    )


def term_over(term_key: str, as_of: date) -> bool:
    """True when the term ended before `as_of` (call-offs are billed once their term is over)."""
    try:
        return Term.parse(term_key).ends_on < as_of
    except ValueError:
        return False
