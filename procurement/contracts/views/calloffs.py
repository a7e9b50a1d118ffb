"""Call-offs under a contract: the school's call-off page, the contract's drawdown section and
the committee's call-off terms (maximum value, open to schools joining later)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import DomainError, refusal_status
from app.forms import field_errors
from app.models import User
from app.time import london_today
from marketplace.orders.models import OrderStatus
from procurement.blueprint import bp
from procurement.contracts import calloffs
from procurement.contracts.errors import InvalidCallOff
from procurement.contracts.forms import CallOffForm, CallOffTermsForm
from procurement.contracts.models import Contract, ContractStatus


def drawdown_context(contract: Contract, user: User) -> dict[str, Any]:
    """What the contract page's drawdown section (`_drawdown.html`) needs."""
    today = london_today()
    can_set_terms = user.role in calloffs.TERMS_ROLES
    terms_form = None
    if can_set_terms:
        terms_form = CallOffTermsForm(
            prefix="terms",
            data={
                "value": contract.value_pence,
                "open_to_new_schools": contract.open_to_new_schools,
            },
        )
    return {
        "drawdown": calloffs.drawdown_of(contract),
        "can_call_off": (
            contract.status is ContractStatus.ACTIVE
            and contract.ends_on >= today
            and bool(calloffs.schools_calling_off(contract, user))
        ),
        "can_set_terms": can_set_terms,
        "terms_form": terms_form,
    }


def _school_id(form: CallOffForm, page: calloffs.CallOffPage) -> int | None:
    if len(page.schools) == 1:
        return page.schools[0].id
    return form.school_id.data


@bp.route("/contracts/<int:contract_id>/call-off", methods=["GET", "POST"])
@login_required
def contract_call_off(contract_id: int):
    """Call off under a contract: term, quantity and PO number, priced at the awarded tiers."""
    today = london_today()
    page = calloffs.call_off_page(contract_id, current_user, today)
    form = CallOffForm()
    form.school_id.choices = [(s.id, s.name) for s in page.schools]
    form.term_key.choices = [(t.key, t.label) for t in page.terms]
    if request.method == "GET" and len(form.term_key.choices) == 1:
        form.term_key.data = form.term_key.choices[0][0]
    status = 200
    priced = None
    if form.validate_on_submit():
        school_id = _school_id(form, page)
        try:
            if school_id is None:
                raise InvalidCallOff("Choose the school you are calling off for", field="school_id")
            if request.form.get("action") == "price":
                priced = calloffs.quote(
                    page.contract,
                    school_id,
                    current_user,
                    term_key=form.term_key.data,
                    quantity=form.quantity.data,
                    today=today,
                )
            else:
                order = calloffs.call_off(
                    contract_id,
                    school_id,
                    current_user,
                    term_key=form.term_key.data,
                    quantity=form.quantity.data,
                    po_number=form.po_number.data,
                    notes=form.notes.data,
                    today=today,
                )
                what = (
                    "approved and sent to the provider"
                    if order.status is OrderStatus.APPROVED
                    else "waiting for approval under your school’s approval chain"
                )
                flash(
                    f"Call-off {order.id} placed under contract {page.contract.reference}: {what}.",
                    "success",
                )
                return redirect(url_for("marketplace.order_detail", order_id=order.id))
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field, exc.message)
            # The refusal rolled the session back: read the contract and its drawdown afresh.
            page = calloffs.call_off_page(contract_id, current_user, today)
    elif form.errors:
        status = 400
    return (
        render_template(
            "procurement/contracts/call_off.html",
            page=page,
            contract=page.contract,
            service=page.service,
            drawdown=page.drawdown,
            form=form,
            priced=priced,
            today=today,
        ),
        status,
    )


@bp.route("/contracts/<int:contract_id>/call-off-terms", methods=["POST"])
@login_required
def contract_call_off_terms(contract_id: int):
    """The committee sets a contract's maximum value and whether later joiners may call off."""
    form = CallOffTermsForm(prefix="terms")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(url_for("procurement.contract_detail", contract_id=contract_id))
    try:
        calloffs.set_call_off_terms(
            contract_id,
            current_user,
            value_pence=form.value.data,
            open_to_new_schools=bool(form.open_to_new_schools.data),
        )
    except DomainError as exc:
        refusal_status(exc)
        flash(exc.message, "error")
    else:
        flash("Call-off terms saved.", "success")
    return redirect(url_for("procurement.contract_detail", contract_id=contract_id))
