"""Payments out to providers: the partnership office records them (by hand or from its bank's
CSV), deletes a mistaken one, and sees each provider's statement."""

from __future__ import annotations

import base64
import binascii

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.errors import DomainError, refusal_status
from app.extensions import paginate
from app.forms import filled, submit
from app.models import PARTNERSHIP_ROLES, Role
from app.providers import all_providers, get_provider
from app.security import roles_required
from app.uploads import clean_filename
from marketplace.blueprint import bp
from marketplace.payouts import services, statement
from marketplace.payouts.forms import (
    BankFileConfirmForm,
    BankFileForm,
    DeletePaymentForm,
    PaymentForm,
)
from marketplace.payouts.models import ProviderPayment

# The file travels with the preview page (base64) to the confirmation: small enough for a form.
BANK_FILE_MAX_BYTES = 256 * 1024


def _provider_filter() -> int | None:
    text = request.args.get("provider", "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


@bp.route("/billing/provider-payments", endpoint="provider_payments")
@roles_required(*PARTNERSHIP_ROLES)
def payments_list():
    """Every payment sent to providers, newest first, for one provider or all."""
    provider_id = _provider_filter()
    stmt = (
        sa.select(ProviderPayment)
        .options(
            selectinload(ProviderPayment.provider),
            selectinload(ProviderPayment.batch),
            selectinload(ProviderPayment.recorded_by),
        )
        .order_by(ProviderPayment.paid_on.desc(), ProviderPayment.id.desc())
    )
    if provider_id is not None:
        stmt = stmt.where(ProviderPayment.provider_id == provider_id)
    return render_template(
        "marketplace/payouts/payments.html",
        page=paginate(stmt, per_page=50),
        providers=all_providers(),
        provider_id=provider_id,
    )


@bp.route(
    "/billing/provider-payments/new", methods=["GET", "POST"], endpoint="provider_payment_new"
)
@roles_required(Role.ADMIN)
def payment_new():
    """Record a payment sent to a provider by bank transfer."""
    form = PaymentForm()
    form.provider_id.choices = [(p.id, p.name) for p in all_providers()]
    if not form.is_submitted():
        chosen = _provider_filter()
        if chosen is not None:
            form.provider_id.data = chosen
    done = submit(
        form,
        lambda: services.record_payment(
            services.PaymentInput(
                provider_id=filled(form.provider_id.data),
                paid_on=filled(form.paid_on.data),
                amount_pence=filled(form.amount.data),
                reference=form.reference.data or "",
                note=form.note.data or "",
            ),
            current_user,
        ),
    )
    if done.done:
        payment = done.value
        flash(
            f"Payment {payment.reference} to {payment.provider.name} recorded; "
            "they have been told.",
            "success",
        )
        return redirect(
            url_for("marketplace.provider_statement", provider_id=payment.provider_id), code=303
        )
    return render_template("marketplace/payouts/payment_new.html", form=form), done.status


@bp.route(
    "/billing/provider-payments/<int:payment_id>/delete",
    methods=["GET", "POST"],
    endpoint="provider_payment_delete",
)
@roles_required(Role.ADMIN)
def payment_delete(payment_id: int):
    """Delete a payment recorded by mistake (the audit trail keeps it)."""
    payment = services.get_payment(payment_id)
    form = DeletePaymentForm()
    provider_id = payment.provider_id
    done = submit(
        form, lambda: services.delete_payment(payment_id, current_user, form.reason.data or "")
    )
    if done.done:
        flash(f"Payment {done.value.reference} deleted.", "success")
        return redirect(
            url_for("marketplace.provider_statement", provider_id=provider_id), code=303
        )
    return render_template(
        "marketplace/payouts/payment_delete.html", form=form, payment=payment
    ), done.status


@bp.route("/billing/payables/providers/<int:provider_id>", endpoint="provider_statement")
@roles_required(*PARTNERSHIP_ROLES)
def provider_statement(provider_id: int):
    """One provider's statement: each item owed with its due date, and the payments sent."""
    provider = get_provider(provider_id)
    return render_template(
        "marketplace/payouts/statement.html",
        provider=provider,
        statement=statement.statement(provider),
        payment_days=statement.payment_days(),
    )


# Importing the bank's payments --------------------------------------------------------------


def _preview(data: bytes, filename: str, form: BankFileConfirmForm | None = None):
    checked = services.check_bank_file(data)
    confirm = form or BankFileConfirmForm()
    confirm.content.data = base64.b64encode(data).decode("ascii")
    confirm.filename.data = filename
    confirm.sha256.data = services.fingerprint(data)
    return render_template(
        "marketplace/payouts/import_preview.html",
        checked=checked,
        form=confirm,
        filename=filename,
    ), (200 if checked.ok and not confirm.form_errors else 400)


@bp.route(
    "/billing/provider-payments/import",
    methods=["GET", "POST"],
    endpoint="provider_payments_import",
)
@roles_required(Role.ADMIN)
def payments_import():
    """Upload the bank's payments as CSV; every row is checked and shown before anything is
    recorded."""
    form = BankFileForm()
    if form.validate_on_submit():
        data = form.file.data.read(BANK_FILE_MAX_BYTES + 1)
        if len(data) > BANK_FILE_MAX_BYTES:
            form.file.errors = [
                *form.file.errors,
                f"The file is larger than {BANK_FILE_MAX_BYTES // 1024} KB: split it in two.",
            ]
        else:
            return _preview(data, clean_filename(form.file.data.filename or "payments.csv"))
    status = 400 if form.is_submitted() else 200
    return render_template("marketplace/payouts/import.html", form=form), status


@bp.route(
    "/billing/provider-payments/import/confirm",
    methods=["POST"],
    endpoint="provider_payments_import_confirm",
)
@roles_required(Role.ADMIN)
def payments_import_confirm():
    """Record the previewed file's new payments, all or nothing."""
    form = BankFileConfirmForm()
    try:
        data = base64.b64decode(form.content.data or "", validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not form.validate_on_submit() or not data or len(data) > BANK_FILE_MAX_BYTES:
        flash("The preview is missing or damaged: upload the file again.", "error")
        return redirect(url_for("marketplace.provider_payments_import"), code=303)
    filename = clean_filename(form.filename.data or "payments.csv")
    try:
        result = services.import_bank_file(
            data, filename=filename, actor=current_user, sha256=form.sha256.data
        )
    except DomainError as exc:
        refusal_status(exc)
        form.form_errors.append(exc.message.split("\n", 1)[0])
        return _preview(data, filename, form)
    if not result.recorded:
        message = "Every payment in the file was already recorded: nothing new was imported."
    else:
        message = f"{result.recorded} payments recorded from {filename}"
        if result.already_recorded:
            message += f"; {result.already_recorded} already recorded were skipped"
        message += ". Each provider has been told."
    flash(message, "success")
    return redirect(url_for("marketplace.provider_payments"), code=303)
