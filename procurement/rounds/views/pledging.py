"""A school in a buying round: its pledges, what it got, and the notices it is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, field_errors
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role, School
from app.pdf import pdf_response, render_pdf
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.orders.rules import plural
from procurement.blueprint import bp
from procurement.rounds.access import awarded_run, get_round_for_user, get_run, get_school_for_user
from procurement.rounds.answers import run_answer
from procurement.rounds.approvals import approve_pledges
from procurement.rounds.award import call_offs_for_school
from procurement.rounds.estimates import indicative
from procurement.rounds.forms import lot_field_name, pledge_form
from procurement.rounds.inputs import awaiting
from procurement.rounds.lots import lots
from procurement.rounds.models import BuyingRound, RoundStatus
from procurement.rounds.notices import mark_notice_read
from procurement.rounds.pledges import (
    orders_overlapping,
    pledge_totals,
    pledges_for_school,
    save_pledges,
    withdraw_pledges,
)


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>/pledges", methods=["GET", "POST"])
@roles_required(*PARTNERSHIP_ROLES, *SCHOOL_ROLES)
def round_pledge(round_id: int, school_id: int):
    """A school's pledges in a round, per service and term, with the indicative price."""
    school = get_school_for_user(school_id, current_user)
    buying_round = get_round_for_user(round_id, current_user)
    round_lots = lots(buying_round)
    existing = pledges_for_school(round_id, school.id)
    # The service names a lot's field by the lot's key; the form by service id and term.
    fields = {lot.key: lot_field_name(lot.service.id, lot.term.key) for lot in round_lots}
    status = 200
    if request.method == "POST":
        if current_user.role is not Role.SBM or current_user.school_id != school.id:
            return _pledge_page(
                buying_round,
                school,
                pledge_form(round_lots, request.form),
                403,
                "Only your school’s business manager can pledge; nothing was changed.",
            )
        form = pledge_form(round_lots, request.form)
        if form.validate_on_submit():
            quantities = {
                (lot.service.id, lot.term.key): form[fields[lot.key]].data for lot in round_lots
            }
            try:
                changes = save_pledges(
                    round_id,
                    school.id,
                    quantities,
                    current_user,
                    po_number=form["po_number"].data or "",
                )
            except DomainError as exc:
                status = refusal_status(exc)
                field_errors(form, fields.get(exc.field or "", exc.field), exc.message)
            else:
                if changes.any:
                    waiting = awaiting(round_id, school.id)
                    flash(
                        "Your pledges are saved. You can change them until the deadline."
                        + (
                            " Over your school’s approval threshold, so your head must approve "
                            "them before the deadline or they take no part."
                            if waiting
                            else ""
                        ),
                        "success",
                    )
                else:
                    flash("Nothing changed: your pledges were already these.", "success")
                return redirect(
                    url_for("procurement.round_pledge", round_id=round_id, school_id=school.id)
                )
        else:
            status = 400
    else:
        data: dict[str, Any] = {
            fields[lot.key]: existing[(lot.service.id, lot.term.key)].quantity
            for lot in round_lots
            if (lot.service.id, lot.term.key) in existing
            and existing[(lot.service.id, lot.term.key)].active
        }
        data["po_number"] = next((p.po_number for p in existing.values() if p.active), "")
        form = pledge_form(round_lots, data=data)
    return _pledge_page(buying_round, school, form, status)


def _pledge_page(
    buying_round: BuyingRound,
    school: School,
    form: FlaskForm,
    status: int,
    error: str | None = None,
) -> Any:
    now = utcnow()
    round_lots = lots(buying_round)
    return (
        render_template(
            "procurement/rounds/round_pledge.html",
            round=buying_round,
            school=school,
            form=form,
            rows=[(lot, form[lot_field_name(lot.service.id, lot.term.key)]) for lot in round_lots],
            pledges=pledges_for_school(buying_round.id, school.id),
            estimate=(
                indicative(buying_round, school.id, pool=pledge_totals(buying_round))
                if buying_round.status is RoundStatus.OPEN
                else None
            ),
            can_pledge=(
                current_user.role is Role.SBM
                and current_user.school_id == school.id
                and buying_round.accepts_pledges(now)
            ),
            action_form=ActionForm(),
            overlaps=orders_overlapping(buying_round, school.id),
            error=error,
            now=now,
            plural=plural,
            awaiting=awaiting(buying_round.id, school.id),
            threshold_pence=school.approval_threshold_pence,
            can_approve=(
                current_user.role is Role.HEAD
                and current_user.school_id == school.id
                and buying_round.accepts_pledges(now)
            ),
        ),
        status,
    )


def _school_pledges_action(
    round_id: int, school_id: int, action: Callable[[int, int, Any], Any]
) -> tuple[Any, Any]:
    """Run a form-less action on the school's pledges: (its result, None), or (None, the pledge
    page with the refusal)."""
    school = get_school_for_user(school_id, current_user)
    buying_round = get_round_for_user(round_id, current_user)
    if not ActionForm().validate_on_submit():
        message, status = "Your form expired or was sent twice. Try again.", 400
    else:
        try:
            return action(round_id, school.id, current_user), None
        except DomainError as exc:
            message, status = exc.message, refusal_status(exc)
            buying_round = get_round_for_user(round_id, current_user)
    form = pledge_form(lots(buying_round))
    return None, _pledge_page(buying_round, school, form, status, message)


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>/pledges/withdraw", methods=["POST"])
@roles_required(Role.SBM)
def round_pledge_withdraw(round_id: int, school_id: int):
    """Withdraw all of the school's pledges in the round."""
    changes, refused = _school_pledges_action(round_id, school_id, withdraw_pledges)
    if refused is not None:
        return refused
    flash(
        "Your pledges are withdrawn." if changes.withdrawn else "You had no pledges to withdraw.",
        "success",
    )
    return redirect(url_for("procurement.round_pledge", round_id=round_id, school_id=school_id))


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>/pledges/approve", methods=["POST"])
@roles_required(Role.HEAD)
def round_pledge_approve(round_id: int, school_id: int):
    """The head approves the school's pledges that are over its approval threshold."""
    approved, refused = _school_pledges_action(round_id, school_id, approve_pledges)
    if refused is not None:
        return refused
    flash(
        f"{len(approved)} {plural('pledge', len(approved))} approved: "
        "they take part when the round is run.",
        "success",
    )
    return redirect(url_for("procurement.round_pledge", round_id=round_id, school_id=school_id))


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>")
@roles_required(*PARTNERSHIP_ROLES, *SCHOOL_ROLES)
def round_allocation(round_id: int, school_id: int):
    """One school's result: provider, units, tier reached, unit price, stand-alone, saving."""
    school = get_school_for_user(school_id, current_user)
    buying_round = get_round_for_user(round_id, current_user)
    run = awarded_run(round_id)
    if run is None and current_user.role in PARTNERSHIP_ROLES:
        run_id = request.args.get("run", type=int)
        run = get_run(round_id, run_id) if run_id else None
    answer = run_answer(run, school.id) if run is not None else None
    return render_template(
        "procurement/rounds/round_allocation.html",
        round=buying_round,
        school=school,
        run=run,
        answer=answer,
        call_offs=call_offs_for_school(round_id, school.id),
        plural=plural,
    )


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>/statement.pdf")
@roles_required(*PARTNERSHIP_ROLES, *SCHOOL_ROLES)
def round_savings_statement(round_id: int, school_id: int):
    """The school's savings statement for an awarded round, as a PDF for its governors."""
    school = get_school_for_user(school_id, current_user)
    buying_round = get_round_for_user(round_id, current_user)
    run = awarded_run(round_id)
    answer = run_answer(run, school.id) if run is not None else None
    if answer is None or not answer.lines:
        abort(404)  # not awarded yet, or the school did not pledge: no statement to print
    charge = sum(line.charge_pence for line in answer.lines)
    alone = sum(line.basis_pence for line in answer.lines)
    data = render_pdf(
        "procurement/rounds/savings_statement.html",
        title=f"Savings statement: {school.name}, {buying_round.title}",
        round=buying_round,
        school=school,
        run=run,
        lines=answer.lines,
        charge_pence=charge,
        alone_pence=alone,
        call_offs=call_offs_for_school(round_id, school.id),
        today=london_today(),
    )
    return pdf_response(data, f"savings-statement-round-{round_id}-school-{school.urn}.pdf")


@bp.route("/rounds/notices/<int:notice_id>/read", methods=["POST"])
@roles_required(*SCHOOL_ROLES)
def round_notice_read(notice_id: int):
    """Mark a round notice as read; it leaves the home page."""
    form = ActionForm()
    if form.validate_on_submit():
        mark_notice_read(notice_id, current_user.school_id, current_user)
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("home.home")
    return redirect(target)
