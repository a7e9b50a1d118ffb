"""Billing pages: a school's invoices, the admin billing run, providers' payments, the webhook."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app import partnership
from app.accounts import provider_for_user
from app.cache import cached_page
from app.errors import DomainError
from app.extensions import csrf, paginate
from app.forms import ActionForm
from app.jobs import enqueue_after_commit
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role
from app.security import roles_required
from app.time import london_today
from marketplace.billing import payables, queries, runs
from marketplace.billing import webhooks as billing_events
from marketplace.billing.models import BillingRunStatus, InvoiceStatus
from marketplace.billing.state import stripe_configured
from marketplace.billing.stripe_gateway import (
    WebhookRejected,
    WebhookSignatureInvalid,
    verify_webhook,
)
from marketplace.billing.tasks import execute_billing_run
from marketplace.blueprint import bp
from marketplace.payouts import statement as payout_statement
from marketplace.payouts.models import ProviderPayment

log = logging.getLogger(__name__)
SCHOOL = (Role.SBM, Role.HEAD)
REFRESH_SECONDS = 3


def _status_filter() -> InvoiceStatus | None:
    value = request.args.get("status", "")
    try:
        return InvoiceStatus(value) if value else None
    except ValueError:
        return None


# A school's invoices --------------------------------------------------------------------------


def _trust_id() -> int | None:
    """The trust whose schools' invoices a trust finance lead reads (None for school staff)."""
    if current_user.role is Role.TRUST:
        if current_user.trust_id is None:
            abort(404)
        return current_user.trust_id
    return None


@bp.route("/invoices", endpoint="invoices")
@roles_required(*SCHOOL, Role.TRUST)
@cached_page
def invoices_list():
    """The school's invoices (a trust's: all its schools'), newest first: what to pay, what is
    paid, what failed."""
    status = _status_filter()
    trust_id = _trust_id()
    page = paginate(
        queries.school_invoices(current_user.school_id, status, trust_id=trust_id), per_page=25
    )
    # A school sees only its own part of its trust's invoices.
    shares = (
        queries.school_shares(
            [i.id for i in page.items if i.trust_id is not None], current_user.school_id
        )
        if trust_id is None
        else {}
    )
    return render_template(
        "marketplace/billing/invoices.html",
        page=page,
        status=status,
        statuses=list(InvoiceStatus),
        outstanding_pence=queries.outstanding_pence(current_user.school_id, trust_id=trust_id),
        stripe_configured=stripe_configured(),
        show_school=trust_id is not None,
        shares=shares,
    )


@bp.route("/invoices/<int:invoice_id>", endpoint="invoice_detail")
@roles_required(*SCHOOL, Role.TRUST, Role.ADMIN, Role.COMMITTEE)
def invoice_detail(invoice_id: int):
    """One invoice: its lines, VAT, PO number, status and any credit notes."""
    if current_user.role in (*SCHOOL_ROLES, Role.TRUST):
        invoice = queries.get_invoice_for_school(
            invoice_id, current_user.school_id, trust_id=_trust_id()
        )
    else:
        invoice = queries.get_invoice(invoice_id)
    is_school = current_user.role in SCHOOL_ROLES
    share = (
        queries.school_share(invoice, current_user.school_id)
        if is_school and invoice.trust_id is not None
        else None
    )
    return render_template(
        "marketplace/billing/invoice_detail.html",
        invoice=invoice,
        is_school=is_school,
        share=share,
        lines=share.lines if share is not None else invoice.lines,
        credit_notes=[n for n in invoice.credit_notes if n.school_id == current_user.school_id]
        if share is not None
        else invoice.credit_notes,
        stripe_configured=stripe_configured(),
        partnership=partnership.details(),
    )


# The admin billing page -----------------------------------------------------------------------


@bp.route("/billing", methods=["GET", "POST"], endpoint="billing")
@roles_required(Role.ADMIN)
def billing_page():
    """Bill everything due, watch the run's progress, and see what needs attention."""
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("The form expired. Try again.", "error")
            return redirect(url_for("marketplace.billing"), code=303)
        try:
            run = runs.start_run(
                current_user,
                before_commit=lambda run: enqueue_after_commit(
                    execute_billing_run, run.id, requested_by=current_user
                ),
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("marketplace.billing"), code=303)
        flash(f"Billing run {run.id} started.", "success")
        return redirect(url_for("marketplace.billing"), code=303)
    recent = runs.recent_runs(10)
    latest = recent[0] if recent else None
    running = latest is not None and latest.status is BillingRunStatus.RUNNING
    stripe_on = stripe_configured()
    return render_template(
        "marketplace/billing/billing.html",
        form=form,
        runs=recent,
        latest=latest,
        running=running,
        alive=running and runs.running_run() is not None,
        refresh_seconds=REFRESH_SECONDS,
        stripe_configured=stripe_on,
        api_base=current_app.config.get("STRIPE_API_BASE") or "",
        webhook_secret_set=bool(current_app.config.get("STRIPE_WEBHOOK_SECRET")),
        due=runs.due_summary(london_today(), with_stripe=stripe_on),
        overview=runs.overview(),
    )


@bp.route("/billing/invoices", endpoint="billing_invoices")
@roles_required(Role.ADMIN, Role.COMMITTEE)
def billing_invoices():
    """Every school's invoices, newest first, filtered by status."""
    status = _status_filter()
    page = paginate(queries.all_invoices(status), per_page=50)
    return render_template(
        "marketplace/billing/billing_invoices.html",
        page=page,
        status=status,
        statuses=list(InvoiceStatus),
    )


# What providers are owed ----------------------------------------------------------------------


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _payment_lines(payments: list[ProviderPayment]) -> list[payables.PaymentLine]:
    return [
        payables.PaymentLine(
            p.provider.name, p.paid_on, p.reference, p.source.value, p.amount_pence
        )
        for p in sorted(payments, key=lambda p: (p.provider.name, p.paid_on, p.id))
    ]


def _seller() -> Any:
    provider = provider_for_user(current_user)
    if provider is None:
        abort(404)
    return provider


@bp.route("/payments", endpoint="provider_payables")
@roles_required(Role.PROVIDER, Role.SBM)
def provider_payables():
    """What the partnership owes this provider, per term, and the orders behind it."""
    provider = _seller()
    fee = payables.fee_bp()
    rows = payables.ledger(fee, provider_id=provider.id)
    return render_template(
        "marketplace/billing/payables_provider.html",
        provider=provider,
        rows=rows,
        totals=payables.totals(rows),
        statement=payout_statement.statement(provider),
        payment_days=payout_statement.payment_days(),
        fee_bp=fee,
    )


@bp.route("/payments.csv", endpoint="provider_payables_csv")
@roles_required(Role.PROVIDER, Role.SBM)
def provider_payables_csv():
    """The provider's own payables and the payments it was sent, as CSV."""
    provider = _seller()
    fee = payables.fee_bp()
    text = payables.csv_text(
        payables.items(fee, provider_id=provider.id),
        payables.supply_items(fee, provider_id=provider.id),
        _payment_lines(payout_statement.payments(provider.id)),
        payout_statement.due_dates(provider.id),
    )
    return _csv_response(text, f"payments-provider-{provider.id}.csv")


@bp.route("/billing/payables", endpoint="payables")
@roles_required(*PARTNERSHIP_ROLES)
def payables_page():
    """What the partnership owes every provider, per term, for the finance team."""
    fee = payables.fee_bp()
    rows = payables.ledger(fee)
    statements = payout_statement.statements()
    return render_template(
        "marketplace/billing/payables.html",
        rows=rows,
        totals=payables.totals(rows),
        fee_bp=fee,
        statements=statements,
        position=payout_statement.totals(statements),
        payment_days=payout_statement.payment_days(),
    )


@bp.route("/billing/payables.csv", endpoint="payables_csv")
@roles_required(Role.ADMIN)
def payables_csv():
    """Every provider's payables as CSV, one row per order; then every payment sent (not for a
    single term's file: payments are not made per term)."""
    period = request.args.get("term") or None
    fee = payables.fee_bp()
    supply = [s for s in payables.supply_items(fee) if period is None or s.period == period]
    paid = _payment_lines(payout_statement.payments()) if period is None else []
    text = payables.csv_text(
        payables.items(fee, period=period), supply, paid, payout_statement.due_dates()
    )
    return _csv_response(text, f"payables{'-' + period if period else ''}.csv")


# Stripe's webhook -----------------------------------------------------------------------------


@bp.route("/stripe/webhook", methods=["POST"], endpoint="stripe_webhook")
@csrf.exempt
def stripe_webhook():
    """Stripe's events: verified on the raw body, each processed once."""
    payload = request.get_data(cache=False, as_text=False)
    try:
        event = verify_webhook(
            payload,
            request.headers.get("Stripe-Signature"),
            current_app.config.get("STRIPE_WEBHOOK_SECRET") or "",
        )
    except WebhookSignatureInvalid as exc:
        return jsonify(error=f"Invalid webhook: {exc}"), 400
    except WebhookRejected as exc:
        billing_events.record_rejection(exc.event_id, exc.reason, source="webhook")
        return jsonify(error=f"Rejected webhook: {exc.reason}"), 400
    result = billing_events.handle_event(event, source="webhook")
    if result.rejected:
        return jsonify(error=f"Rejected webhook: {result.outcome}"), 400
    return jsonify(received=True, duplicate=result.duplicate, outcome=result.outcome)
