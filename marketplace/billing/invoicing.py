"""Writing invoices: what is due on a day, and an invoice row with its lines for each.

Due on `as_of`: each member school's subscription for the academic year, each delivered order,
each cancellation charge, each school's call-offs under awarded contracts once their term
has ended (one invoice per school and term; a supplementary one for call-offs delivered later),
and supply cover: each approved timesheet and cancellation fee (`supply_invoices`).
Lines and VAT come from `rules`. Each invoice is written and committed on its own; unique
constraints (one line per membership or order, one invoice per `billing_key`) make a second
invoice for the same thing impossible, whoever else is billing at the same moment.

Without Stripe each invoice is issued here at once with our own number (`PLD-000123`) for the
partnership office to send; with Stripe it stays a draft until `stripe_sync` issues it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import audit
from app.calendar import term_label
from app.extensions import db
from app.models import Membership, User
from app.money import format_pence
from app.schools import subscription_for
from app.time import utcnow
from marketplace.billing import rules
from marketplace.billing.due import (
    billable_delivery,
    billed_order_ids,
    membership_term,
    term_over,
    unbilled_cancellation_charges,
    unbilled_memberships,
    unbilled_order_conditions,
)
from marketplace.billing.emails import invoice_issued
from marketplace.billing.errors import BillingError
from marketplace.billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from marketplace.catalogue.models import VatTreatment
from marketplace.orders.contract_prices import contract_prices
from marketplace.orders.models import Order, OrderKind, OrderStatus

# The partnership's subscription is an education service between eligible bodies: exempt.
MEMBERSHIP_VAT = VatTreatment.EXEMPT
LOCAL_NUMBER_PREFIX = "PLD"
NOT_SENT_WITHOUT_STRIPE = "Stripe is not configured: the partnership office sends it."

Progress = Callable[[str], None]


# Writing the invoices -------------------------------------------------------------------------


@dataclass
class Plan:
    """What a plan wrote, and what it could not bill, in words."""

    created: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Writing:
    """How this plan writes its invoices."""

    as_of: date
    run_id: int | None
    issue_here: bool  # Stripe is not configured: number and issue each invoice at once
    days_to_pay: int


def plan(
    as_of: date,
    run_id: int | None = None,
    *,
    issue_here: bool,
    days_to_pay: int = rules.DAYS_TO_PAY,
    progress: Progress | None = None,
) -> Plan:
    """Write an invoice for everything due on `as_of`, each committed on its own.

    `issue_here` (Stripe is not configured) issues each at once with our own number, due
    `days_to_pay` days after `as_of`; otherwise they stay drafts for Stripe to issue.
    """
    from marketplace.billing import supply_invoices, trust_invoices  # they build on this module
    from marketplace.supply.models import Booking, Timesheet

    say = progress or (lambda message: None)
    how = _Writing(as_of, run_id, issue_here, days_to_pay)
    result = Plan()

    def guarded(bill: Callable[..., int], *args: Any) -> None:
        """Write one invoice in a transaction of its own; if someone else billed the same
        thing at the same moment, the unique constraints refuse ours and it is skipped."""
        try:
            written = bill(*args)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            say(f"{bill.__name__}{args[:1]}: already billed elsewhere; skipped.")
            return
        except BillingError as exc:
            db.session.rollback()
            result.problems.append(exc.message)
            say(exc.message)
            return
        result.created += written

    term = membership_term(as_of)
    if term is not None:
        ids = list(
            db.session.scalars(unbilled_memberships(term.id).with_only_columns(Membership.id))
        )
        for membership_id in ids:
            guarded(_bill_membership, membership_id, how)
    # A trust invoiced once gets one invoice for all its schools' orders and supply cover;
    # its schools' items are left out of the per-school invoices below.
    for trust_id in trust_invoices.trusts_invoiced_once():
        guarded(trust_invoices.bill_trust, trust_id, how, result.problems)
    own = trust_invoices.not_invoiced_once(Order.school_id)
    for order_id in list(
        db.session.scalars(
            sa.select(Order.id)
            .where(*unbilled_order_conditions(OrderKind.ORDER, as_of), own)
            .order_by(Order.id)
        )
    ):
        guarded(_bill_order, order_id, how)
    for order_id in list(
        db.session.scalars(unbilled_cancellation_charges().with_only_columns(Order.id).where(own))
    ):
        guarded(_bill_cancellation_charge, order_id, how)
    groups: dict[tuple[int, str], list[int]] = {}
    for order_id, school_id, term_key in db.session.execute(
        sa.select(Order.id, Order.school_id, Order.term_key)
        .where(*unbilled_order_conditions(OrderKind.CALL_OFF, as_of), own)
        .order_by(Order.school_id, Order.term_key, Order.id)
    ):
        if term_over(term_key, as_of):
            groups.setdefault((school_id, term_key), []).append(order_id)
    for (school_id, term_key), order_ids in groups.items():
        guarded(_bill_call_offs, school_id, term_key, order_ids, how)
    for timesheet_id in supply_invoices.unbilled_timesheet_ids(
        trust_invoices.not_invoiced_once(Timesheet.school_id)
    ):
        guarded(supply_invoices.bill_timesheet, timesheet_id, how)
    for booking_id in supply_invoices.unbilled_cancellation_ids(
        trust_invoices.not_invoiced_once(Booking.school_id)
    ):
        guarded(supply_invoices.bill_cancellation, booking_id, how)
    return result


def _new_invoice(
    school_id: int | None,
    kind: InvoiceKind,
    period: str,
    key: str,
    title: str,
    run_id: int | None,
    **values: Any,
) -> Invoice:
    invoice = Invoice(
        school_id=school_id,
        kind=kind,
        period=period,
        billing_key=key,
        title=title[:200],
        status=InvoiceStatus.DRAFT,
        billing_run_id=run_id,
        **values,
    )
    db.session.add(invoice)
    return invoice


def totals_of(lines: Iterable[InvoiceLine]) -> rules.Totals:
    """The net, VAT and total of an invoice's lines."""
    return rules.totals(
        rules.LineAmounts(ln.quantity, ln.unit_pence, ln.amount_pence, ln.vat_rate_bp, ln.vat_pence)
        for ln in lines
    )


def _finish_invoice(
    invoice: Invoice, lines: list[InvoiceLine], how: _Writing, actor: User | None = None
) -> None:
    """Totals from the lines; issued here at once when Stripe is not configured."""
    total = totals_of(lines)
    invoice.net_pence = total.net_pence
    invoice.vat_pence = total.vat_pence
    invoice.total_pence = total.total_pence
    db.session.flush()
    if how.issue_here:
        invoice.status = InvoiceStatus.OPEN
        invoice.number = f"{LOCAL_NUMBER_PREFIX}-{invoice.id:06d}"
        invoice.issued_at = utcnow()
        invoice.due_on = how.as_of + timedelta(days=how.days_to_pay)
        invoice.not_sent_reason = NOT_SENT_WITHOUT_STRIPE
        invoice_issued(invoice)  # Stripe sends its own; an invoice issued here is emailed
    audit.record(
        actor,
        "invoice",
        invoice.id,
        "created",
        after={**invoice.snapshot(), "kind": invoice.kind.value, "period": invoice.period},
        scope=invoice.scope,
    )


def _bill_membership(membership_id: int, how: _Writing) -> int:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        return 0
    breakdown = subscription_for(membership)
    if breakdown.subscription_pence <= 0:
        return 0
    label = membership.term.label
    rate_bp = MEMBERSHIP_VAT.rate_bp
    if breakdown.capped:
        amounts = rules.fixed_line(breakdown.subscription_pence, rate_bp)
        description = (
            f"Partnership membership {label}: {breakdown.pupils:,} pupils at "
            f"{format_pence(breakdown.rate_per_pupil_pence)}, capped at "
            f"{format_pence(breakdown.cap_pence)}"
        )
    else:
        amounts = rules.line(breakdown.pupils, breakdown.rate_per_pupil_pence, rate_bp)
        description = (
            f"Partnership membership {label}: per-pupil subscription "
            f"({breakdown.pupils:,} pupils at {format_pence(breakdown.rate_per_pupil_pence)})"
        )
    invoice = _new_invoice(
        membership.school_id,
        InvoiceKind.MEMBERSHIP,
        label,
        f"membership-{membership.id}",
        f"Partnership membership {label}",
        how.run_id,
        note="\n".join(breakdown.explanation()),
    )
    line = _line(
        school_id=membership.school_id,
        membership_id=membership.id,
        description=description,
        amounts=amounts,
    )
    invoice.lines.append(line)
    _finish_invoice(invoice, [line], how)
    return 1


def _lock_orders(order_ids: list[int], *conditions: sa.ColumnElement[bool]) -> list[Order]:
    """The orders, locked and re-read, that still meet `conditions` and are unbilled."""
    orders = list(
        db.session.scalars(
            sa.select(Order)
            .where(
                Order.id.in_(order_ids),
                *conditions,
                Order.id.not_in(billed_order_ids()),
            )
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    return orders


def _mark_invoiced(order: Order, invoice: Invoice) -> None:
    if order.accepted_at is None:
        # Undisputed past its window: deemed accepted now, as billing finds it.
        before = order.snapshot()
        order.accepted_at = utcnow()
        audit.record(
            None,
            "order",
            order.id,
            "deemed accepted",
            before=before,
            after={**order.snapshot(), "acceptance_due_on": str(order.acceptance_due_on)},
            scope=f"school:{order.school_id}",
        )
    before = order.snapshot()
    order.status = OrderStatus.INVOICED
    audit.record(
        None,
        "order",
        order.id,
        "invoiced",
        before=before,
        after={**order.snapshot(), "invoice_id": invoice.id},
        scope=f"school:{order.school_id}",
    )


def _bill_order(order_id: int, how: _Writing) -> int:
    orders = _lock_orders([order_id], *billable_delivery(how.as_of))
    if not orders:
        db.session.rollback()
        return 0
    order = orders[0]
    invoice = _new_invoice(
        order.school_id,
        InvoiceKind.ORDER,
        order.term_key,
        f"order-{order.id}",
        f"{order.service.name}: order {order.id}",
        how.run_id,
        po_number=order.po_number,
        note=f"Delivered by {order.provider.name}.",
    )
    line = order_line(order)
    invoice.lines.append(line)
    _finish_invoice(invoice, [line], how)
    _mark_invoiced(order, invoice)
    return 1


def _bill_cancellation_charge(order_id: int, how: _Writing) -> int:
    orders = _lock_orders([order_id], Order.status == OrderStatus.CANCELLED)
    if not orders or orders[0].cancellation_charge_pence <= 0:
        db.session.rollback()
        return 0
    order = orders[0]
    invoice = _new_invoice(
        order.school_id,
        InvoiceKind.ORDER,
        order.term_key,
        f"order-{order.id}",
        f"Cancellation charge: order {order.id}",
        how.run_id,
        po_number=order.po_number,
        note="What the offer's cancellation rules charge for the order you cancelled.",
    )
    line = cancellation_charge_line(order)
    invoice.lines.append(line)
    _finish_invoice(invoice, [line], how)
    return 1


def _bill_call_offs(school_id: int, term_key: str, order_ids: list[int], how: _Writing) -> int:
    orders = _lock_orders(order_ids, *billable_delivery(how.as_of))
    if not orders:
        db.session.rollback()
        return 0
    key = f"call-offs-{school_id}-{term_key}"
    earlier = db.session.scalar(
        sa.select(sa.func.count(Invoice.id)).where(
            Invoice.school_id == school_id,
            Invoice.kind == InvoiceKind.CALL_OFF,
            Invoice.period == term_key,
        )
    )
    title = f"Contract call-offs: {term_label(term_key)}"
    if earlier:
        # Delivered after the term's invoice: a supplementary invoice, billed once.
        key += f"-supplementary-{earlier + 1}"
        title += " (supplementary)"
    po_numbers = sorted({o.po_number for o in orders if o.po_number})
    invoice = _new_invoice(
        school_id,
        InvoiceKind.CALL_OFF,
        term_key,
        key,
        title,
        how.run_id,
        po_number=", ".join(po_numbers)[:140],
        note="Call-offs under contracts the partnership awarded, delivered this term.",
    )
    lines = [order_line(order) for order in orders]
    invoice.lines.extend(lines)
    _finish_invoice(invoice, lines, how)
    for order in orders:
        _mark_invoiced(order, invoice)
    return 1


# Lines ----------------------------------------------------------------------------------------


def _line(
    *,
    school_id: int,
    amounts: rules.LineAmounts,
    description: str,
    order_id: int | None = None,
    membership_id: int | None = None,
) -> InvoiceLine:
    return InvoiceLine(
        school_id=school_id,
        order_id=order_id,
        membership_id=membership_id,
        description=description[:500],
        quantity=amounts.quantity,
        unit_pence=amounts.unit_pence,
        amount_pence=amounts.amount_pence,
        vat_rate_bp=amounts.vat_rate_bp,
        vat_pence=amounts.vat_pence,
    )


def order_line(order: Order) -> InvoiceLine:
    """One line per order: its charged units at the unit price (set-up charge included)."""
    rate_bp = order.service.vat.rate_bp
    unit = order.service.unit.value
    charged = order.quantity - order.entitled_quantity
    what = f"{order.service.name}, {term_label(order.term_key)}"
    if order.kind is OrderKind.CALL_OFF and order.contract_id is not None:
        what += (
            f", call-off {order.id} under contract {contract_prices().reference(order.contract_id)}"
        )
    else:
        what += f", order {order.id} from {order.provider.name}"
    if order.entitled_quantity:
        what += f" ({order.entitled_quantity} included in your membership at £0)"
    if order.setup_pence:
        amounts = rules.fixed_line(order.total_pence, rate_bp)
        description = (
            f"{what}: {charged} {unit}{'s' if charged != 1 else ''} at "
            f"{format_pence(order.unit_price_pence)} plus {format_pence(order.setup_pence)} set-up"
        )
    else:
        amounts = rules.line(charged, order.unit_price_pence, rate_bp)
        description = what
    if amounts.amount_pence != order.total_pence:
        raise BillingError(
            f"Order {order.id} totals {format_pence(order.total_pence)} but its units come to "
            f"{format_pence(amounts.amount_pence)}; it was not billed."
        )
    return _line(
        school_id=order.school_id, order_id=order.id, description=description, amounts=amounts
    )


def cancellation_charge_line(order: Order) -> InvoiceLine:
    """The line for what a cancelled order still owes under the offer's notice rules."""
    amounts = rules.fixed_line(order.cancellation_charge_pence, order.service.vat.rate_bp)
    return _line(
        school_id=order.school_id,
        order_id=order.id,
        description=(
            f"Cancellation charge for order {order.id} ({order.service.name}, "
            f"{term_label(order.term_key)}) under {order.provider.name}'s notice rules"
        ),
        amounts=amounts,
    )
