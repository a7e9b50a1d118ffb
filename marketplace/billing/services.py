"""Billing use cases: what is due, invoices written here first, then issued through Stripe.

The order of work makes billing safe to run twice, or to kill half-way and run again:

1. *Plan*: every membership, delivered order and call-off still unbilled gets an invoice row
   and its lines, committed one invoice at a time. Unique constraints (one line per
   membership or order, one invoice per `billing_key`) make a second invoice for the same
   thing impossible, whoever else is billing at the same moment.
2. *Push* (only when Stripe is configured): each invoice without its Stripe ids is sent to
   Stripe with idempotency keys derived from our ids (`…-invoice-{id}-create`,
   `…-invoice-{id}-item-{line_id}`, `…-school-{id}-customer`); each id is stored as soon as
   Stripe answers. A rerun resumes from the first id missing; a repeated request returns
   Stripe's first answer instead of creating a second object.

Without STRIPE_API_KEY the invoices are still produced and stored here, issued with our own
number for the partnership office to send, and pages say that Stripe is not configured.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import AcademicYear, Term
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import Membership, MembershipTerm, School, User
from app.money import format_pence
from app.schools import subscription_for
from app.time import format_instant, london_today, utcnow
from app.types import UTCDateTime
from marketplace.billing import rules
from marketplace.billing.models import (
    BillingCustomer,
    BillingRun,
    BillingRunStatus,
    BillingState,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    StripeEvent,
)
from marketplace.billing.stripe_gateway import (
    GatewayError,
    IdempotencyConflict,
    StripeGateway,
    StripeInvoice,
)
from marketplace.catalogue.models import VatTreatment
from marketplace.orders.contract_prices import contract_prices
from marketplace.orders.models import Order, OrderKind, OrderStatus

# The partnership's subscription is an education service between eligible bodies: exempt.
MEMBERSHIP_VAT = VatTreatment.EXEMPT
LOCAL_NUMBER_PREFIX = "PLD"
NOT_SENT_WITHOUT_STRIPE = "Stripe is not configured: the partnership office sends it."
RUN_STALE_AFTER = timedelta(minutes=10)
FOOTER = (
    "Please pay by BACS within {days} days, quoting the invoice number and your purchase-order "
    "number."
)


class BillingError(DomainError):
    code = "billing_invalid"


class BillingRunInProgress(Conflict):
    code = "billing_run_in_progress"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


# Configuration -------------------------------------------------------------------------------


def stripe_configured() -> bool:
    """True when STRIPE_API_KEY is set."""
    return bool(current_app.config.get("STRIPE_API_KEY"))


def gateway_from_config() -> StripeGateway | None:
    """The Stripe gateway for this app's settings, or None when Stripe is not configured."""
    key = current_app.config.get("STRIPE_API_KEY") or ""
    if not key:
        return None
    return StripeGateway.from_settings(key, current_app.config.get("STRIPE_API_BASE") or "")


@contextmanager
def sqlite_writer() -> Iterator[None]:
    """On SQLite, every transaction begun inside the block takes the write lock first.

    In SQLite's WAL mode a transaction that has read cannot then write if another process
    wrote in between ("database is locked", at once, whatever the busy timeout). Billing runs
    and webhooks write the same rows from different processes, so on SQLite their transactions
    start as writers (what BEGIN IMMEDIATE does). PostgreSQL needs nothing: it locks rows.
    """
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        yield
        return

    def take_write_lock(_session: Any, _transaction: Any, connection: Any) -> None:
        connection.exec_driver_sql("UPDATE billing_state SET key = key WHERE 0 = 1")

    sa.event.listen(session, "after_begin", take_write_lock)
    try:
        yield
    finally:
        sa.event.remove(session, "after_begin", take_write_lock)


def _state(key: str) -> BillingState | None:
    return db.session.get(BillingState, key)


def get_state(key: str, default: str = "") -> str:
    """A value billing keeps (e.g. a reconciliation cursor)."""
    row = _state(key)
    return row.value if row is not None else default


def set_state(key: str, value: str) -> None:
    """Set a kept value; the caller commits."""
    row = _state(key)
    if row is None:
        db.session.add(BillingState(key=key, value=value))
    else:
        row.value = value


def namespace() -> str:
    """This database's prefix for Stripe idempotency keys and metadata (made once, kept)."""
    value = get_state("namespace")
    if value:
        return value
    db.session.add(BillingState(key="namespace", value="pooled-" + secrets.token_hex(4)))
    try:
        db.session.commit()
    except IntegrityError:  # another process made it first
        db.session.rollback()
    return get_state("namespace")


# Reading invoices ----------------------------------------------------------------------------


def school_invoices(school_id: int, status: InvoiceStatus | None = None) -> sa.Select:
    """The school's invoices, newest first (a statement for pagination)."""
    stmt = sa.select(Invoice).where(Invoice.school_id == school_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def all_invoices(status: InvoiceStatus | None = None) -> sa.Select:
    """Every school's invoices, newest first (a statement for pagination)."""
    stmt = sa.select(Invoice).options(selectinload(Invoice.school))
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def get_invoice_for_school(invoice_id: int, school_id: int) -> Invoice:
    """One of the school's own invoices (404 for anyone else's)."""
    invoice = db.session.scalar(
        sa.select(Invoice).where(Invoice.id == invoice_id, Invoice.school_id == school_id)
    )
    if invoice is None:
        raise InvoiceNotFound("There is no such invoice.")
    return invoice


def get_invoice(invoice_id: int) -> Invoice:
    """Any invoice, for the partnership office."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        raise InvoiceNotFound("There is no such invoice.")
    return invoice


def invoice_for_order(order_id: int) -> Invoice | None:
    """The invoice an order was billed on, if it has been."""
    return db.session.scalar(
        sa.select(Invoice).join(InvoiceLine).where(InvoiceLine.order_id == order_id)
    )


def outstanding_pence(school_id: int) -> int:
    """What the school still has to pay on its open invoices."""
    value = db.session.scalar(
        sa.select(
            sa.func.coalesce(
                sa.func.sum(
                    Invoice.total_pence - Invoice.credited_pence - Invoice.amount_paid_pence
                ),
                0,
            )
        ).where(Invoice.school_id == school_id, Invoice.status == InvoiceStatus.OPEN)
    )
    return int(value or 0)


@dataclass(frozen=True)
class Overview:
    """The admin page's view of billing: counts by status and what needs attention."""

    counts: dict[InvoiceStatus, int]
    attention: list[Invoice]
    pending_credits: list[CreditNote]
    events: list[StripeEvent]


def overview(limit: int = 50) -> Overview:
    """Invoices by status, invoices Stripe refused or that could not be emailed, credit notes
    waiting for the next run, and the latest Stripe events."""
    counts = {
        InvoiceStatus(status): count
        for status, count in db.session.execute(
            sa.select(Invoice.status, sa.func.count(Invoice.id)).group_by(Invoice.status)
        )
    }
    attention = db.session.scalars(
        sa.select(Invoice)
        .options(selectinload(Invoice.school))
        .where(
            sa.or_(
                Invoice.last_error != "",
                sa.and_(Invoice.not_sent_reason != "", Invoice.stripe_invoice_id.is_not(None)),
            )
        )
        .order_by(Invoice.id)
        .limit(limit)
    ).all()
    pending = db.session.scalars(
        _pending_credit_notes()
        .options(selectinload(CreditNote.invoice))
        .order_by(CreditNote.id)
        .limit(limit)
    ).all()
    events = db.session.scalars(
        sa.select(StripeEvent).order_by(StripeEvent.id.desc()).limit(10)
    ).all()
    return Overview(counts, list(attention), list(pending), list(events))


@dataclass(frozen=True)
class Due:
    """What a billing run on `as_of` would bill now, and what waits for its term to end."""

    memberships: int
    orders: int
    cancellation_charges: int
    call_offs: int
    call_offs_waiting: int
    to_push: int


def due_summary(as_of: date, *, with_stripe: bool) -> Due:
    """Counts for the admin page, all worked out in SQL."""
    term = _membership_term(as_of)
    memberships = 0
    if term is not None:
        memberships = db.session.scalar(
            sa.select(sa.func.count()).select_from(_unbilled_memberships(term.id).subquery())
        )
    orders = db.session.scalar(
        sa.select(sa.func.count()).select_from(_unbilled_orders(OrderKind.ORDER).subquery())
    )
    charges = db.session.scalar(
        sa.select(sa.func.count()).select_from(_unbilled_cancellation_charges().subquery())
    )
    call_offs = waiting = 0
    for term_key, count in _call_off_counts():
        if _term_over(term_key, as_of):
            call_offs += count
        else:
            waiting += count
    to_push = (
        db.session.scalar(sa.select(sa.func.count()).select_from(_needs_push().subquery()))
        if with_stripe
        else 0
    )
    return Due(memberships, orders, charges, call_offs, waiting, to_push)


def _call_off_counts() -> list[tuple[str, int]]:
    stmt = (
        sa.select(Order.term_key, sa.func.count(Order.id))
        .where(*_unbilled_order_conditions(OrderKind.CALL_OFF))
        .group_by(Order.term_key)
    )
    return [(key, count) for key, count in db.session.execute(stmt)]


# What is due ----------------------------------------------------------------------------------


def _membership_term(as_of: date) -> MembershipTerm | None:
    year = AcademicYear.containing(as_of)
    return db.session.scalar(
        sa.select(MembershipTerm).where(MembershipTerm.start_year == year.start_year)
    )


def _billed_membership_ids() -> sa.Select:
    return sa.select(InvoiceLine.membership_id).where(InvoiceLine.membership_id.is_not(None))


def _billed_order_ids() -> sa.Select:
    return sa.select(InvoiceLine.order_id).where(InvoiceLine.order_id.is_not(None))


def _unbilled_memberships(term_id: int) -> sa.Select:
    return (
        sa.select(Membership)
        .join(School, School.id == Membership.school_id)
        .where(
            Membership.term_id == term_id,
            School.is_member.is_(True),
            Membership.id.not_in(_billed_membership_ids()),
        )
        .order_by(School.name, Membership.id)
    )


def _unbilled_order_conditions(kind: OrderKind) -> list[sa.ColumnElement[bool]]:
    conditions = [
        Order.kind == kind,
        Order.status == OrderStatus.DELIVERED,
        Order.total_pence > 0,
        Order.id.not_in(_billed_order_ids()),
    ]
    if kind is OrderKind.CALL_OFF:
        conditions.append(Order.contract_id.is_not(None))
    return conditions


def _unbilled_orders(kind: OrderKind) -> sa.Select:
    return sa.select(Order).where(*_unbilled_order_conditions(kind)).order_by(Order.id)


def _unbilled_cancellation_charges() -> sa.Select:
    """Cancelled orders that were never billed but still owe a charge under the offer's rules."""
    return (
        sa.select(Order)
        .where(
            Order.status == OrderStatus.CANCELLED,
            Order.cancellation_charge_pence > 0,
            Order.id.not_in(_billed_order_ids()),
        )
        .order_by(Order.id)
    )


def _term_over(term_key: str, as_of: date) -> bool:
    try:
        return Term.parse(term_key).ends_on < as_of
    except ValueError:
        return False


def _needs_push() -> sa.Select:
    """Invoices Stripe has not fully got yet: no Stripe id, not finalised, or not sent."""
    return sa.select(Invoice).where(
        Invoice.status.in_([InvoiceStatus.DRAFT, InvoiceStatus.OPEN]),
        sa.or_(
            Invoice.stripe_invoice_id.is_(None),
            Invoice.status == InvoiceStatus.DRAFT,
            sa.and_(Invoice.sent_at.is_(None), Invoice.not_sent_reason == ""),
        ),
    )


def _pending_credit_notes() -> sa.Select:
    return sa.select(CreditNote).where(CreditNote.status == CreditNoteStatus.PENDING)


# Progress -------------------------------------------------------------------------------------


Progress = Callable[[str], None]


def _runner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _runner_alive(label: str) -> bool:
    host, _, pid = label.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's run: trust its heartbeat
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_run() -> BillingRun | None:
    """The run in progress, if any (a run that has stopped answering does not count)."""
    for run in db.session.scalars(
        sa.select(BillingRun).where(BillingRun.status == BillingRunStatus.RUNNING)
    ):
        if _is_alive(run):
            return run
    return None


def _is_alive(run: BillingRun) -> bool:
    if run.heartbeat_at < utcnow() - RUN_STALE_AFTER:
        return False
    return _runner_alive(run.runner) if run.runner else True


def start_run(actor: User | None, as_of: date | None = None) -> BillingRun:
    """Record a new billing run, unless one is already running; runs that died are closed."""
    with sqlite_writer():
        return _start_run(actor, as_of)


def _start_run(actor: User | None, as_of: date | None) -> BillingRun:
    for run in db.session.scalars(
        sa.select(BillingRun).where(BillingRun.status == BillingRunStatus.RUNNING)
    ):
        if _is_alive(run):
            raise BillingRunInProgress(
                f"A billing run is already in progress (run {run.id}, started "
                f"{format_instant(run.started_at)}). Wait for it to finish."
            )
        run.status = BillingRunStatus.FAILED
        run.finished_at = utcnow()
        run.message = (
            run.message + " Interrupted: it stopped before finishing; the next run "
            "resumed its work."
        ).strip()
    run = BillingRun(
        as_of=as_of or london_today(),
        stripe_configured=stripe_configured(),
        started_by_id=actor.id if actor is not None else None,
        runner=_runner_label(),
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        actor, "billing_run", run.id, "started", after={"as_of": str(run.as_of)}, scope="billing"
    )
    db.session.commit()
    return run


@dataclass
class RunReport:
    """What a run did."""

    run_id: int
    invoices_created: int = 0
    pushed: int = 0
    to_push: int = 0
    customers_created: int = 0
    credit_notes_issued: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.invoices_created} invoice{'s' if self.invoices_created != 1 else ''} created"
        if self.to_push:
            text += f", {self.pushed} of {self.to_push} issued through Stripe"
        if self.customers_created:
            text += f", {self.customers_created} Stripe customers created"
        if self.credit_notes_issued:
            text += f", {self.credit_notes_issued} credit notes issued"
        if self.failures:
            text += f", {len(self.failures)} failed"
        return text + "."


# The billing service ---------------------------------------------------------------------------


class BillingService:
    """Bills schools; handed the Stripe gateway (None when Stripe is not configured)."""

    def __init__(
        self,
        gateway: StripeGateway | None,
        *,
        days_to_pay: int = rules.DAYS_TO_PAY,
        progress: Progress | None = None,
    ) -> None:
        self.gateway = gateway
        self.days_to_pay = days_to_pay
        self.progress = progress or (lambda message: None)
        self._namespace: str | None = None
        self._vat_rates: dict[int, str] = {}
        self.problems: list[str] = []  # what planning could not bill, in words

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            self._namespace = namespace()
        return self._namespace

    # -- the whole run ---------------------------------------------------------------------

    def run(self, run: BillingRun, actor: User | None = None) -> RunReport:
        """Bill everything due on the run's date, then issue it through Stripe if configured."""
        report = RunReport(run_id=run.id)
        run_id = run.id
        as_of = run.as_of
        db.session.commit()  # start the work in a transaction of its own
        with sqlite_writer():
            try:
                self.namespace  # noqa: B018  (made and committed before any Stripe call)
                report.invoices_created = self.plan(as_of, run_id)
                report.failures.extend(self.problems)
                self._update_run(run_id, invoices_created=report.invoices_created)
                self.progress(f"{report.invoices_created} new invoices written.")
                if self.gateway is not None:
                    self._push_all(run_id, report)
                self._finish(run_id, BillingRunStatus.FINISHED, report)
            except Exception as exc:
                db.session.rollback()
                report.failures.append(str(exc))
                self._finish(run_id, BillingRunStatus.FAILED, report)
                raise
        return report

    def _update_run(self, run_id: int, *, commit: bool = True, **values: Any) -> None:
        values.setdefault("heartbeat_at", utcnow())
        db.session.execute(sa.update(BillingRun).where(BillingRun.id == run_id).values(**values))
        if commit:
            db.session.commit()

    def _finish(self, run_id: int, status: BillingRunStatus, report: RunReport) -> None:
        message = report.summary()
        if report.failures:
            message += " " + " ".join(report.failures[:5])
        self._update_run(
            run_id,
            status=status,
            finished_at=utcnow(),
            message=message[:4000],
            failures=len(report.failures),
        )

    # -- planning: our rows first ---------------------------------------------------------------

    def plan(self, as_of: date, run_id: int | None = None) -> int:
        """Write an invoice for everything due on `as_of`; returns how many were written."""
        created = 0
        term = _membership_term(as_of)
        if term is not None:
            ids = list(
                db.session.scalars(_unbilled_memberships(term.id).with_only_columns(Membership.id))
            )
            for membership_id in ids:
                created += self._guarded(self._bill_membership, membership_id, as_of, run_id)
        for order_id in list(
            db.session.scalars(
                sa.select(Order.id)
                .where(*_unbilled_order_conditions(OrderKind.ORDER))
                .order_by(Order.id)
            )
        ):
            created += self._guarded(self._bill_order, order_id, as_of, run_id)
        for order_id in list(
            db.session.scalars(_unbilled_cancellation_charges().with_only_columns(Order.id))
        ):
            created += self._guarded(self._bill_cancellation_charge, order_id, as_of, run_id)
        groups: dict[tuple[int, str], list[int]] = {}
        for order_id, school_id, term_key in db.session.execute(
            sa.select(Order.id, Order.school_id, Order.term_key)
            .where(*_unbilled_order_conditions(OrderKind.CALL_OFF))
            .order_by(Order.school_id, Order.term_key, Order.id)
        ):
            if _term_over(term_key, as_of):
                groups.setdefault((school_id, term_key), []).append(order_id)
        for (school_id, term_key), order_ids in groups.items():
            created += self._guarded(
                self._bill_call_offs, school_id, term_key, order_ids, as_of, run_id
            )
        return created

    def _new_invoice(
        self,
        school_id: int,
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

    def _finish_invoice(
        self, invoice: Invoice, lines: list[InvoiceLine], as_of: date, actor: User | None = None
    ) -> None:
        """Totals from the lines; issued here at once when Stripe is not configured."""
        total = rules.totals(
            rules.LineAmounts(
                ln.quantity, ln.unit_pence, ln.amount_pence, ln.vat_rate_bp, ln.vat_pence
            )
            for ln in lines
        )
        invoice.net_pence = total.net_pence
        invoice.vat_pence = total.vat_pence
        invoice.total_pence = total.total_pence
        db.session.flush()
        if self.gateway is None:
            invoice.status = InvoiceStatus.OPEN
            invoice.number = f"{LOCAL_NUMBER_PREFIX}-{invoice.id:06d}"
            invoice.issued_at = utcnow()
            invoice.due_on = as_of + timedelta(days=self.days_to_pay)
            invoice.not_sent_reason = NOT_SENT_WITHOUT_STRIPE
        audit.record(
            actor,
            "invoice",
            invoice.id,
            "created",
            after={**invoice.snapshot(), "kind": invoice.kind.value, "period": invoice.period},
            scope=f"school:{invoice.school_id}",
        )

    def _guarded(self, bill: Callable[..., int], *args: Any) -> int:
        """Write one invoice in a transaction of its own; if someone else billed the same
        thing at the same moment, the unique constraints refuse ours and it is skipped."""
        try:
            written = bill(*args)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            self.progress(f"{bill.__name__}{args[:1]}: already billed elsewhere; skipped.")
            return 0
        except BillingError as exc:
            db.session.rollback()
            self.problems.append(exc.message)
            self.progress(exc.message)
            return 0
        return written

    def _bill_membership(self, membership_id: int, as_of: date, run_id: int | None) -> int:
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
        invoice = self._new_invoice(
            membership.school_id,
            InvoiceKind.MEMBERSHIP,
            label,
            f"membership-{membership.id}",
            f"Partnership membership {label}",
            run_id,
            note="\n".join(breakdown.explanation()),
        )
        line = _line(membership_id=membership.id, description=description, amounts=amounts)
        invoice.lines.append(line)
        self._finish_invoice(invoice, [line], as_of)
        return 1

    def _lock_orders(self, order_ids: list[int], statuses: set[OrderStatus]) -> list[Order]:
        """The orders, locked and re-read, that are still in one of `statuses` and unbilled."""
        orders = list(
            db.session.scalars(
                sa.select(Order)
                .where(
                    Order.id.in_(order_ids),
                    Order.status.in_(statuses),
                    Order.id.not_in(_billed_order_ids()),
                )
                .order_by(Order.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        return orders

    def _mark_invoiced(self, order: Order, invoice: Invoice) -> None:
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

    def _bill_order(self, order_id: int, as_of: date, run_id: int | None) -> int:
        orders = self._lock_orders([order_id], {OrderStatus.DELIVERED})
        if not orders:
            db.session.rollback()
            return 0
        order = orders[0]
        invoice = self._new_invoice(
            order.school_id,
            InvoiceKind.ORDER,
            order.term_key,
            f"order-{order.id}",
            f"{order.service.name}: order {order.id}",
            run_id,
            po_number=order.po_number,
            note=f"Delivered by {order.provider.name}.",
        )
        line = _order_line(order)
        invoice.lines.append(line)
        self._finish_invoice(invoice, [line], as_of)
        self._mark_invoiced(order, invoice)
        return 1

    def _bill_cancellation_charge(self, order_id: int, as_of: date, run_id: int | None) -> int:
        orders = self._lock_orders([order_id], {OrderStatus.CANCELLED})
        if not orders or orders[0].cancellation_charge_pence <= 0:
            db.session.rollback()
            return 0
        order = orders[0]
        amounts = rules.fixed_line(order.cancellation_charge_pence, order.service.vat.rate_bp)
        invoice = self._new_invoice(
            order.school_id,
            InvoiceKind.ORDER,
            order.term_key,
            f"order-{order.id}",
            f"Cancellation charge: order {order.id}",
            run_id,
            po_number=order.po_number,
            note="What the offer's cancellation rules charge for the order you cancelled.",
        )
        line = _line(
            order_id=order.id,
            description=(
                f"Cancellation charge for order {order.id} ({order.service.name}, "
                f"{_term_label(order.term_key)}) under {order.provider.name}'s notice rules"
            ),
            amounts=amounts,
        )
        invoice.lines.append(line)
        self._finish_invoice(invoice, [line], as_of)
        return 1

    def _bill_call_offs(
        self, school_id: int, term_key: str, order_ids: list[int], as_of: date, run_id: int | None
    ) -> int:
        orders = self._lock_orders(order_ids, {OrderStatus.DELIVERED})
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
        title = f"Contract call-offs: {_term_label(term_key)}"
        if earlier:
            # Delivered after the term's invoice: a supplementary invoice, billed once.
            key += f"-supplementary-{earlier + 1}"
            title += " (supplementary)"
        po_numbers = sorted({o.po_number for o in orders if o.po_number})
        invoice = self._new_invoice(
            school_id,
            InvoiceKind.CALL_OFF,
            term_key,
            key,
            title,
            run_id,
            po_number=", ".join(po_numbers)[:140],
            note="Call-offs under contracts the partnership awarded, delivered this term.",
        )
        lines = [_order_line(order) for order in orders]
        invoice.lines.extend(lines)
        self._finish_invoice(invoice, lines, as_of)
        for order in orders:
            self._mark_invoiced(order, invoice)
        return 1

    # -- pushing to Stripe ----------------------------------------------------------------------

    def _push_all(self, run_id: int, report: RunReport) -> None:
        invoice_ids = list(
            db.session.scalars(_needs_push().with_only_columns(Invoice.id).order_by(Invoice.id))
        )
        note_ids = list(
            db.session.scalars(
                _pending_credit_notes().with_only_columns(CreditNote.id).order_by(CreditNote.id)
            )
        )
        report.to_push = len(invoice_ids) + len(note_ids)
        self._update_run(run_id, to_push=report.to_push)
        self.progress(f"Issuing {report.to_push} through Stripe.")
        for position, invoice_id in enumerate(invoice_ids, start=1):
            # Progress goes out with the next commit (no extra round trip per invoice).
            self._update_run(
                run_id,
                commit=False,
                pushed=report.pushed,
                customers_created=report.customers_created,
                failures=len(report.failures),
            )
            try:
                report.customers_created += self.push_invoice(invoice_id, run_id=run_id)
                report.pushed += 1
            except (GatewayError, IntegrityError) as exc:
                db.session.rollback()
                message = (
                    exc.message
                    if isinstance(exc, GatewayError)
                    else "another run was issuing it at the same moment; the next run finishes it"
                )
                report.failures.append(f"Invoice {invoice_id}: {message}")
                _record_error(Invoice, invoice_id, message)
            if position % 10 == 0 or position == len(invoice_ids):
                self.progress(f"{report.pushed} of {report.to_push} issued.")
        for note_id in note_ids:
            try:
                if self.push_credit_note(note_id):
                    report.credit_notes_issued += 1
                report.pushed += 1
            except GatewayError as exc:
                db.session.rollback()
                report.failures.append(f"Credit note {note_id}: {exc.message}")
                _record_error(CreditNote, note_id, exc.message)
            self._update_run(run_id, pushed=report.pushed, failures=len(report.failures))

    def _vat_rate_id(self, rate_bp: int) -> str:
        assert self.gateway is not None
        if rate_bp not in self._vat_rates:
            self._vat_rates[rate_bp] = self.gateway.find_or_create_vat_rate(
                rate_bp, idempotency_key=rules.tax_rate_key(self.namespace, rate_bp)
            )
        return self._vat_rates[rate_bp]

    def ensure_customer(self, school_id: int, *, resumed: bool = True) -> tuple[str, bool]:
        """The school's Stripe customer id, made once; the caller commits.

        Returns the id and whether it had to be made (or found) now. `resumed` says an earlier
        attempt may have made it in Stripe without our storing its id: it is looked up by our
        metadata first (as well as the idempotency key, which Stripe keeps for 24 hours only).
        """
        assert self.gateway is not None
        customer = db.session.scalar(
            sa.select(BillingCustomer).where(BillingCustomer.school_id == school_id)
        )
        if customer is not None and customer.stripe_customer_id:
            return customer.stripe_customer_id, False
        school = db.session.get(School, school_id)
        assert school is not None
        metadata = {"pooled_school": f"{self.namespace}:{school_id}", "urn": str(school.urn)}
        found = None
        if resumed:
            found = self.gateway.find_customer(email=school.finance_email, metadata=metadata)
        if found is None:
            try:
                found = self.gateway.create_customer(
                    name=school.name,
                    email=school.finance_email,
                    metadata=metadata,
                    idempotency_key=rules.customer_key(self.namespace, school_id),
                )
            except IdempotencyConflict:
                # The school's details changed since a first attempt: find what that made.
                found = self.gateway.find_customer(email="", metadata=metadata)
                if found is None:
                    raise
        if customer is None:
            customer = BillingCustomer(school_id=school_id, email=school.finance_email)
            db.session.add(customer)
        customer.stripe_customer_id = found
        return found, True

    def push_invoice(self, invoice_id: int, *, run_id: int | None = None) -> int:
        """Take one invoice as far as Stripe allows: created, lines, finalised, sent.

        What Stripe returns is stored as soon as each step is done (three commits: the
        invoice's id, its lines' ids, then finalised and sent), so a rerun resumes from the
        first missing id; every create carries an idempotency key from our ids, and an invoice
        an earlier run started is first looked up in Stripe by our metadata. Returns 1 if the
        school's Stripe customer was made for it.
        """
        assert self.gateway is not None
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is None or invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
            return 0
        ns = self.namespace
        if invoice.not_sent_reason == NOT_SENT_WITHOUT_STRIPE:
            invoice.not_sent_reason = ""  # issued here before Stripe was configured: send it now
        # Written by this very run: nobody has tried to issue it before.
        resumed = run_id is None or invoice.billing_run_id != run_id
        customer_id, made = self.ensure_customer(invoice.school_id, resumed=resumed)
        if invoice.stripe_invoice_id is None:
            metadata = {
                "pooled_invoice": f"{ns}:{invoice.id}",
                "billing_key": invoice.billing_key,
                "urn": str(invoice.school.urn),
            }
            found = None
            if resumed:
                found = self.gateway.find_invoice(customer_id=customer_id, metadata=metadata)
            if found is None:
                found = self.gateway.create_invoice(
                    customer_id=customer_id,
                    description=_stripe_description(invoice),
                    footer=FOOTER.format(days=self.days_to_pay),
                    po_number=invoice.po_number,
                    days_until_due=self.days_to_pay,
                    metadata=metadata,
                    idempotency_key=rules.invoice_create_key(ns, invoice.id),
                )
            invoice.stripe_invoice_id = found.id
            invoice.stripe_customer_id = customer_id
            db.session.commit()
            remote = found
        else:
            if made:
                db.session.commit()
            remote = self.gateway.retrieve_invoice(invoice.stripe_invoice_id)
            resumed = True
        if remote.status == "draft":
            self._push_lines(invoice, customer_id, resumed)
            remote = self.gateway.finalize_invoice(
                remote.id, idempotency_key=rules.invoice_finalize_key(ns, invoice.id)
            )
        self.apply_remote(invoice.id, remote, source="billing run")
        if remote.total != invoice.total_pence:
            message = (
                f"Stripe's total {format_pence(remote.total)} differs from ours "
                f"{format_pence(invoice.total_pence)}: check the invoice."
            )
            invoice.last_error = message
            db.session.commit()
            raise GatewayError(message)
        if invoice.sent_at is None and not invoice.not_sent_reason and remote.status == "open":
            if invoice.school.finance_email:
                self.gateway.send_invoice(
                    remote.id, idempotency_key=rules.invoice_send_key(ns, invoice.id)
                )
                invoice.sent_at = utcnow()
            else:
                invoice.not_sent_reason = (
                    "The school has no finance email address: send the invoice by hand."
                )
        invoice.last_error = ""
        db.session.commit()
        return 1 if made else 0

    def _push_lines(self, invoice: Invoice, customer_id: str, resumed: bool) -> None:
        """Add the invoice's lines to its Stripe draft; their ids are committed together."""
        assert self.gateway is not None and invoice.stripe_invoice_id is not None
        ns = self.namespace
        pending = [ln for ln in invoice.lines if ln.stripe_invoice_item_id is None]
        existing: dict[str, str] = {}
        if pending and resumed:
            existing = self.gateway.invoice_item_ids(invoice.stripe_invoice_id, "pooled_line")
        for line in pending:
            item_id = existing.get(f"{ns}:{line.id}")
            if item_id is None:
                item_id = self.gateway.add_invoice_item(
                    customer_id=customer_id,
                    invoice_id=invoice.stripe_invoice_id,
                    description=line.description,
                    quantity=line.quantity,
                    unit_pence=line.unit_pence,
                    tax_rate_ids=[self._vat_rate_id(line.vat_rate_bp)] if line.vat_rate_bp else [],
                    metadata={"pooled_line": f"{ns}:{line.id}"},
                    idempotency_key=rules.invoice_item_key(ns, invoice.id, line.id),
                )
            line.stripe_invoice_item_id = item_id
        for line in invoice.lines:
            if line.stripe_invoice_item_id and line.stripe_outdated:
                # A credit reduced this line while the invoice was a draft.
                self.gateway.update_invoice_item(
                    line.stripe_invoice_item_id,
                    quantity=line.quantity,
                    unit_pence=line.unit_pence,
                    description=line.description,
                )
                line.stripe_outdated = False
        db.session.commit()

    def apply_remote(
        self, invoice_id: int, remote: StripeInvoice, *, source: str, actor: User | None = None
    ) -> str:
        """Bring our invoice up to what Stripe says, moving its status only forward.

        The status changes with one conditional UPDATE, so a webhook and a run (or two
        webhook deliveries) racing each other can never move it backwards. The caller commits.
        """
        invoice = db.session.get(Invoice, invoice_id, populate_existing=True)
        assert invoice is not None
        if remote.status not in rules.STATUS_RANK:
            return f"ignored: Stripe status {remote.status!r}"
        before = invoice.snapshot()
        if invoice.stripe_invoice_id is None:
            invoice.stripe_invoice_id = remote.id
        # An older snapshot (a late or replayed event) must not undo newer details.
        if rules.STATUS_RANK.get(remote.status, 0) >= rules.STATUS_RANK[invoice.status.value]:
            if remote.number:
                invoice.number = remote.number
            if remote.due_on and remote.status != "draft":
                invoice.due_on = remote.due_on
            if remote.hosted_invoice_url:
                invoice.hosted_invoice_url = remote.hosted_invoice_url
        db.session.flush()
        values: dict[str, Any] = {}
        if remote.status in ("open", "paid", "uncollectible", "void"):
            values["issued_at"] = sa.func.coalesce(
                Invoice.issued_at, sa.literal(utcnow(), UTCDateTime)
            )
        if remote.status == "paid":
            values["paid_at"] = remote.paid_at or utcnow()
            values["amount_paid_pence"] = remote.amount_paid
        if remote.status == "void":
            values["voided_at"] = remote.voided_at or utcnow()
        outcome = "no change"
        target = rules.advance(before["status"], remote.status)
        if target != before["status"]:
            lower = [s for s, rank in rules.STATUS_RANK.items() if rank < rules.STATUS_RANK[target]]
            result = db.session.execute(
                sa.update(Invoice)
                .where(Invoice.id == invoice_id, Invoice.status.in_(lower))
                .values(status=target, updated_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                db.session.refresh(invoice)
                audit.record(
                    actor,
                    "invoice",
                    invoice.id,
                    target,
                    before=before,
                    after={**invoice.snapshot(), "source": source},
                    scope=f"school:{invoice.school_id}",
                )
                outcome = f"{before['status']} → {target}"
        elif remote.status != invoice.status.value:
            outcome = f"no change: already {invoice.status.value}, Stripe said {remote.status}"
        return outcome

    def push_credit_note(self, note_id: int) -> bool:
        """Issue a pending credit note in Stripe once its invoice is there; True if issued."""
        assert self.gateway is not None
        note = db.session.get(CreditNote, note_id)
        if note is None or note.status is not CreditNoteStatus.PENDING:
            return False
        invoice = note.invoice
        if invoice.stripe_invoice_id is None or invoice.status not in (
            InvoiceStatus.OPEN,
            InvoiceStatus.PAID,
        ):
            return False
        ns = self.namespace
        metadata = {"pooled_credit_note": f"{ns}:{note.id}", "order": str(note.order_id or "")}
        try:
            remote = self.gateway.create_credit_note(
                invoice_id=invoice.stripe_invoice_id,
                description=note.reason or f"Credit on invoice {invoice.reference}",
                net_pence=note.net_pence,
                tax_rate_ids=[self._vat_rate_id(note.vat_rate_bp)] if note.vat_rate_bp else [],
                total_pence=note.total_pence,
                memo=note.reason,
                metadata=metadata,
                idempotency_key=rules.credit_note_key(ns, note.id),
            )
        except IdempotencyConflict:
            # The invoice changed between attempts (e.g. it was paid): find what was issued.
            remote = self.gateway.find_credit_note(
                invoice_id=invoice.stripe_invoice_id, metadata=metadata
            )
            if remote is None:
                raise
        note.stripe_credit_note_id = remote.id
        note.number = remote.number
        note.status = CreditNoteStatus.ISSUED
        note.issued_at = utcnow()
        note.last_error = ""
        audit.record(
            None,
            "credit_note",
            note.id,
            "issued",
            after={"stripe": remote.id},
            scope=f"school:{note.school_id}",
        )
        db.session.commit()
        return True


def _record_error(model: type[Invoice] | type[CreditNote], row_id: int, message: str) -> None:
    db.session.execute(sa.update(model).where(model.id == row_id).values(last_error=message[:2000]))
    db.session.commit()


def _term_label(term_key: str) -> str:
    try:
        return Term.parse(term_key).label
    except ValueError:
        return term_key


def _line(
    *,
    amounts: rules.LineAmounts,
    description: str,
    order_id: int | None = None,
    membership_id: int | None = None,
) -> InvoiceLine:
    return InvoiceLine(
        order_id=order_id,
        membership_id=membership_id,
        description=description[:500],
        quantity=amounts.quantity,
        unit_pence=amounts.unit_pence,
        amount_pence=amounts.amount_pence,
        vat_rate_bp=amounts.vat_rate_bp,
        vat_pence=amounts.vat_pence,
    )


def _order_line(order: Order) -> InvoiceLine:
    """One line per order: its charged units at the unit price (set-up charge included)."""
    rate_bp = order.service.vat.rate_bp
    unit = order.service.unit.value
    charged = order.quantity - order.entitled_quantity
    what = f"{order.service.name}, {_term_label(order.term_key)}"
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
    return _line(order_id=order.id, description=description, amounts=amounts)


def _stripe_description(invoice: Invoice) -> str:
    parts = [invoice.title]
    if invoice.note:
        parts.append(invoice.note)
    return "\n\n".join(parts)[:5000]


# Credits ---------------------------------------------------------------------------------------


def credit_cancelled_order(
    order: Order, refund_pence: int, actor: User | None
) -> CreditNote | None:
    """Credit the school for a cancelled order that was already billed; the caller commits.

    `refund_pence` is the part of the order's value (net of VAT) the offer's cancellation
    rules give back (marketplace.pricing.Settlement.refund_pence). VAT is credited at the
    line's rate. If the order was never billed there is nothing to credit: the billing run
    bills only the order's cancellation charge. On a draft invoice the line is reduced; on an
    issued one a credit note is written here and issued in Stripe by the next billing run
    (written locally as issued when Stripe is not configured). Calling it twice for the same
    order gives back the first credit note.
    """
    if refund_pence <= 0:
        return None
    existing = db.session.scalar(sa.select(CreditNote).where(CreditNote.order_id == order.id))
    if existing is not None:
        return existing
    line = db.session.scalar(sa.select(InvoiceLine).where(InvoiceLine.order_id == order.id))
    if line is None:
        return None
    invoice = db.session.scalar(
        sa.select(Invoice)
        .where(Invoice.id == line.invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert invoice is not None
    if invoice.status is InvoiceStatus.VOID:
        return None
    refund = min(refund_pence, line.amount_pence)
    if refund <= 0:
        return None
    amounts = rules.credit_amounts(refund, line.amount_pence, line.vat_rate_bp)
    reason = f"Order {order.id} cancelled: credit under the offer's cancellation rules"
    note = CreditNote(
        invoice_id=invoice.id,
        school_id=invoice.school_id,
        order_id=order.id,
        invoice_line_id=line.id,
        reason=reason,
        net_pence=amounts.amount_pence,
        vat_rate_bp=amounts.vat_rate_bp,
        vat_pence=amounts.vat_pence,
        total_pence=amounts.total_pence,
        created_by_id=actor.id if actor is not None else None,
    )
    before = invoice.snapshot()
    if invoice.status is InvoiceStatus.DRAFT:
        # Not issued yet: reduce the line itself (and the Stripe draft's line on the next push).
        kept = rules.fixed_line(line.amount_pence - refund, line.vat_rate_bp)
        line.quantity, line.unit_pence = kept.quantity, kept.unit_pence
        line.amount_pence, line.vat_pence = kept.amount_pence, kept.vat_pence
        line.description = (line.description + f" (reduced by {format_pence(refund)}: cancelled)")[
            :500
        ]
        line.stripe_outdated = line.stripe_invoice_item_id is not None
        db.session.flush()
        total = rules.totals(
            rules.LineAmounts(
                ln.quantity, ln.unit_pence, ln.amount_pence, ln.vat_rate_bp, ln.vat_pence
            )
            for ln in db.session.scalars(
                sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
            )
        )
        invoice.net_pence, invoice.vat_pence = total.net_pence, total.vat_pence
        invoice.total_pence = total.total_pence
        note.status = CreditNoteStatus.APPLIED_TO_DRAFT
        note.settlement = "draft-reduced"
        note.issued_at = utcnow()
    else:
        invoice.credited_pence += amounts.total_pence
        note.settlement = (
            "off-amount-due" if invoice.status is InvoiceStatus.OPEN else "account-credit"
        )
        if invoice.stripe_invoice_id is None and not stripe_configured():
            note.status = CreditNoteStatus.ISSUED
            note.issued_at = utcnow()
        else:
            note.status = CreditNoteStatus.PENDING
    db.session.add(note)
    db.session.flush()
    if note.status is CreditNoteStatus.ISSUED and note.number is None:
        note.number = f"{LOCAL_NUMBER_PREFIX}-CN-{note.id:06d}"
    audit.record(
        actor,
        "invoice",
        invoice.id,
        "credited",
        before=before,
        after={
            **invoice.snapshot(),
            "credit_note_id": note.id,
            "order_id": order.id,
            "credit_net_pence": note.net_pence,
            "credit_vat_pence": note.vat_pence,
            "settlement": note.settlement,
        },
        scope=f"school:{invoice.school_id}",
    )
    return note


def recent_runs(limit: int = 10) -> list[BillingRun]:
    return list(
        db.session.scalars(sa.select(BillingRun).order_by(BillingRun.id.desc()).limit(limit))
    )
