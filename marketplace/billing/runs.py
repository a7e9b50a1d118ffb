"""The billing run: one at a time, our invoices written first, then issued through Stripe.

The order of work makes billing safe to run twice, or to kill half-way and run again:

1. *Plan* (`invoicing.plan`): every membership, delivered order and call-off still unbilled
   gets an invoice row and its lines, committed one invoice at a time.
2. *Push* (`stripe_sync`, only when Stripe is configured): each invoice without its Stripe ids,
   and each pending credit note, is issued through Stripe; a rerun resumes where a killed one
   stopped and never makes a second object.

Without STRIPE_API_KEY the invoices are still produced and stored here, issued with our own
number for the partnership office to send, and pages say that Stripe is not configured.

A run is recorded as a `BillingRun` with a heartbeat; a run whose process died, or that has
not beaten for RUN_STALE_AFTER, no longer blocks the next. The admin page queues the run as a
job (`marketplace.billing.tasks`), which a queue consumer executes, and executes again (it
resumes) if that consumer dies; `flask billing run` runs it in the command's own process.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import count_rows, db
from app.models import User
from app.time import format_instant, london_today, utcnow
from marketplace.billing import due, invoicing, rules
from marketplace.billing.credits import pending_credit_notes
from marketplace.billing.errors import BillingRunInProgress
from marketplace.billing.invoicing import Progress
from marketplace.billing.models import (
    BillingRun,
    BillingRunStatus,
    CreditNote,
    Invoice,
    InvoiceStatus,
    StripeEvent,
)
from marketplace.billing.state import (
    namespace,
    sqlite_writer,
    stripe_configured,
)
from marketplace.billing.stripe_gateway import GatewayError, StripeGateway
from marketplace.billing.stripe_sync import StripeSync, needs_push, record_error
from marketplace.orders.models import Order, OrderKind

log = logging.getLogger(__name__)
RUN_STALE_AFTER = timedelta(minutes=10)


# Starting a run, one at a time ----------------------------------------------------------------


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


def start_run(
    actor: User | None,
    as_of: date | None = None,
    *,
    before_commit: Callable[[BillingRun], object] | None = None,
) -> BillingRun:
    """Record a new billing run, unless one is already running; runs that died are closed.
    `before_commit` is called with the new run before it is committed (to queue its job)."""
    with sqlite_writer():
        return _start_run(actor, as_of, before_commit)


def _start_run(
    actor: User | None,
    as_of: date | None,
    before_commit: Callable[[BillingRun], object] | None,
) -> BillingRun:
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
    if before_commit is not None:
        before_commit(run)
    db.session.commit()
    return run


def take_over(run_id: int) -> BillingRun | None:
    """Make this process the runner of a run about to execute (its job, first or again after
    the consumer running it died, or an admin's retry after it failed). None when there is
    nothing to do: the run finished, or a later run has started (it resumed this one's work)."""
    with sqlite_writer():
        run = db.session.get(BillingRun, run_id, with_for_update=True)
        if run is None or run.status is BillingRunStatus.FINISHED:
            db.session.rollback()
            return None
        if run.status is BillingRunStatus.FAILED:
            if db.session.scalar(sa.select(sa.func.max(BillingRun.id))) != run.id:
                db.session.rollback()
                return None
            run.status = BillingRunStatus.RUNNING
            run.finished_at = None
        run.runner = _runner_label()
        run.heartbeat_at = utcnow()
        db.session.commit()
        return run


def recent_runs(limit: int = 10) -> list[BillingRun]:
    return list(
        db.session.scalars(sa.select(BillingRun).order_by(BillingRun.id.desc()).limit(limit))
    )


# Running it -----------------------------------------------------------------------------------


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


def execute(
    run: BillingRun,
    gateway: StripeGateway | None,
    *,
    days_to_pay: int = rules.DAYS_TO_PAY,
    progress: Progress | None = None,
) -> RunReport:
    """Bill everything due on the run's date, then issue it through Stripe if configured.

    `gateway` is None when Stripe is not configured: the invoices are then issued here.
    """
    say = progress or (lambda message: None)
    report = RunReport(run_id=run.id)
    run_id = run.id
    as_of = run.as_of
    db.session.commit()  # start the work in a transaction of its own
    with sqlite_writer():
        try:
            namespace()  # made and committed before any Stripe call
            planned = invoicing.plan(
                as_of,
                run_id,
                issue_here=gateway is None,
                days_to_pay=days_to_pay,
                progress=say,
            )
            report.invoices_created = planned.created
            report.failures.extend(planned.problems)
            _update_run(run_id, invoices_created=report.invoices_created)
            say(f"{report.invoices_created} new invoices written.")
            if gateway is not None:
                _push_all(StripeSync(gateway, days_to_pay=days_to_pay), run_id, report, say)
            _finish(run_id, BillingRunStatus.FINISHED, report)
        except Exception as exc:
            db.session.rollback()
            report.failures.append(str(exc))
            _finish(run_id, BillingRunStatus.FAILED, report)
            raise
    return report


def _update_run(run_id: int, *, commit: bool = True, **values: Any) -> None:
    values.setdefault("heartbeat_at", utcnow())
    db.session.execute(sa.update(BillingRun).where(BillingRun.id == run_id).values(**values))
    if commit:
        db.session.commit()


def _finish(run_id: int, status: BillingRunStatus, report: RunReport) -> None:
    message = report.summary()
    if report.failures:
        message += " " + " ".join(report.failures[:5])
    _update_run(
        run_id,
        status=status,
        finished_at=utcnow(),
        message=message[:4000],
        failures=len(report.failures),
    )


def _push_all(sync: StripeSync, run_id: int, report: RunReport, say: Progress) -> None:
    """Issue every invoice Stripe has not fully got, then every pending credit note."""
    invoice_ids = list(
        db.session.scalars(needs_push().with_only_columns(Invoice.id).order_by(Invoice.id))
    )
    note_ids = list(
        db.session.scalars(
            pending_credit_notes().with_only_columns(CreditNote.id).order_by(CreditNote.id)
        )
    )
    report.to_push = len(invoice_ids) + len(note_ids)
    _update_run(run_id, to_push=report.to_push)
    say(f"Issuing {report.to_push} through Stripe.")
    for position, invoice_id in enumerate(invoice_ids, start=1):
        # Progress goes out with the next commit (no extra round trip per invoice).
        _update_run(
            run_id,
            commit=False,
            pushed=report.pushed,
            customers_created=report.customers_created,
            failures=len(report.failures),
        )
        try:
            report.customers_created += sync.push_invoice(invoice_id, run_id=run_id)
            report.pushed += 1
        except (GatewayError, IntegrityError) as exc:
            db.session.rollback()
            message = (
                exc.message
                if isinstance(exc, GatewayError)
                else "another run was issuing it at the same moment; the next run finishes it"
            )
            report.failures.append(f"Invoice {invoice_id}: {message}")
            record_error(Invoice, invoice_id, message)
        if position % 10 == 0 or position == len(invoice_ids):
            say(f"{report.pushed} of {report.to_push} issued.")
    for note_id in note_ids:
        try:
            if sync.push_credit_note(note_id):
                report.credit_notes_issued += 1
            report.pushed += 1
        except GatewayError as exc:
            db.session.rollback()
            report.failures.append(f"Credit note {note_id}: {exc.message}")
            record_error(CreditNote, note_id, exc.message)
        _update_run(run_id, pushed=report.pushed, failures=len(report.failures))


# The admin page's figures ---------------------------------------------------------------------


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
        pending_credit_notes()
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
    term = due.membership_term(as_of)
    memberships = 0
    if term is not None:
        memberships = count_rows(due.unbilled_memberships(term.id))
    orders = count_rows(due.unbilled_orders(OrderKind.ORDER, as_of))
    charges = count_rows(due.unbilled_cancellation_charges())
    call_offs = waiting = 0
    for term_key, count in _call_off_counts(as_of):
        if due.term_over(term_key, as_of):
            call_offs += count
        else:
            waiting += count
    to_push = count_rows(needs_push()) if with_stripe else 0
    return Due(memberships, orders, charges, call_offs, waiting, to_push)


def _call_off_counts(as_of: date) -> list[tuple[str, int]]:
    stmt = (
        sa.select(Order.term_key, sa.func.count(Order.id))
        .where(*due.unbilled_order_conditions(OrderKind.CALL_OFF, as_of))
        .group_by(Order.term_key)
    )
    return [(key, count) for key, count in db.session.execute(stmt)]
