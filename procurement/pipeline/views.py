"""The pipeline's pages: the committee's renewal pipeline, its decisions and prefilled drafts;
and schools' contracts held outside the partnership."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.extensions import db
from app.forms import ActionForm, submit
from app.models import PARTNERSHIP_ROLES, Role
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.catalogue.models import Service
from procurement.blueprint import bp
from procurement.pipeline import external, prefill, presenters, rules, services
from procurement.pipeline.forms import (
    NOT_IN_CATALOGUE,
    DecisionForm,
    ExternalContractForm,
    JointTenderForm,
)

EXTERNAL_ROLES = (Role.SBM, Role.HEAD, Role.TRUST)


def _chart(rows: list[services.PipelineRow], today: Any) -> presenters.MonthChart:
    value: dict[tuple[int, int], int] = {}
    for row in rows:
        key = (row.contract.ends_on.year, row.contract.ends_on.month)
        value[key] = value.get(key, 0) + row.spend.total_pence
    months = [(m[0], m[1], value.get(m, 0)) for m in rules.window_months(today)]
    return presenters.month_chart(months)


def _pipeline_page(errors: list[str] | None = None, status: int = 200) -> Any:
    today = london_today()
    rows = services.pipeline_rows(today)
    return render_template(
        "procurement/pipeline/pipeline.html",
        months=rules.group_by_month(rows, lambda row: row.contract.ends_on),
        chart=_chart(rows, today),
        groups=external.joint_groups(today),
        today=today,
        window_end=rules.window_end(today),
        reminder_days=rules.REMINDER_DAYS,
        action_form=ActionForm(),
        is_committee=current_user.role is Role.COMMITTEE,
        errors=errors or [],
    ), status


@bp.route("/pipeline")
@roles_required(*PARTNERSHIP_ROLES)
def pipeline():
    """Contracts ending in the next 18 months, by month, with their decisions."""
    return _pipeline_page()


@bp.route("/pipeline/contracts/<int:contract_id>/decision", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def pipeline_decision(contract_id: int):
    """Record (or change, until acted on) what happens when a contract ends."""
    today = london_today()
    contract = services.get_pipeline_contract(contract_id, today)
    decision = services.decision_for(contract.id)
    form = DecisionForm()
    allowed = rules.allowed_choices(contract.source.value == "tender")
    form.choice.choices = [(c.value, c.label) for c in allowed]
    if not form.is_submitted() and decision is not None:
        form.choice.data = decision.choice.value
        form.note.data = decision.note
    outcome = submit(
        form,
        lambda: services.record_decision(
            contract.id, current_user, form.chosen, form.note.data or "", today
        ),
    )
    if outcome.done:
        flash(f"Decision recorded for {contract.reference}.", "success")
        return redirect(url_for("procurement.pipeline", _anchor=f"contract-{contract.id}"))
    return render_template(
        "procurement/pipeline/decision.html",
        form=form,
        contract=contract,
        decision=decision,
        from_tender=contract.source.value == "tender",
    ), outcome.status


def _draft(run: Any, success: str, endpoint: str, key: str) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        made = run()
    except DomainError as exc:
        return _pipeline_page([exc.message], refusal_status(exc))
    flash(success, "success")
    return redirect(url_for(endpoint, **{key: made.id}))


@bp.route("/pipeline/contracts/<int:contract_id>/retender", methods=["POST"])
@roles_required(Role.COMMITTEE)
def pipeline_retender(contract_id: int):
    """Re-tender: a draft tender prefilled from the contract."""
    return _draft(
        lambda: prefill.draft_tender_from_contract(contract_id, current_user, london_today()),
        "Draft tender prefilled from the contract. Check the schools, volumes and dates, add "
        "questions, then publish it.",
        "procurement.tender_detail",
        "tender_id",
    )


@bp.route("/pipeline/contracts/<int:contract_id>/round", methods=["POST"])
@roles_required(Role.COMMITTEE)
def pipeline_round(contract_id: int):
    """Buying round: a draft round prefilled from the contract."""
    return _draft(
        lambda: prefill.draft_round_from_contract(contract_id, current_user, london_today()),
        "Draft buying round prefilled from the contract. Check it, then open it to schools.",
        "procurement.round_detail",
        "round_id",
    )


@bp.route("/pipeline/joint-tender", methods=["POST"])
@roles_required(Role.COMMITTEE)
def pipeline_joint_tender():
    """A draft joint tender for schools whose outside contracts end together."""
    form = JointTenderForm()
    if not form.validate_on_submit():
        return _pipeline_page(["Choose a group of contracts from the pipeline."], 400)
    return _draft_joint(form.contract_ids())


def _draft_joint(ids: list[int]) -> Any:
    try:
        tender = prefill.draft_joint_tender(ids, current_user, london_today(), utcnow())
    except DomainError as exc:
        return _pipeline_page([exc.message], refusal_status(exc))
    flash(
        "Draft joint tender made for the schools. Set the expected volume, add questions, "
        "then publish it.",
        "success",
    )
    return redirect(url_for("procurement.tender_detail", tender_id=tender.id))


# --- Schools' contracts outside the partnership ---------------------------------------------


def _external_choices(form: ExternalContractForm) -> None:
    form.school_id.choices = [(s.id, s.name) for s in external.schools_for(current_user)]
    form.service_id.choices = [(NOT_IN_CATALOGUE, "Not in the catalogue")] + [
        (s.id, s.name)
        for s in db.session.scalars(
            sa.select(Service).where(Service.active.is_(True)).order_by(Service.name)
        )
    ]


@bp.route("/external-contracts")
@roles_required(*EXTERNAL_ROLES)
def external_contracts():
    """The contracts your school holds outside the partnership."""
    return render_template(
        "procurement/pipeline/external_contracts.html",
        contracts=external.contracts_for(current_user),
        action_form=ActionForm(),
        many_schools=len(external.schools_for(current_user)) > 1,
    )


@bp.route("/external-contracts/new", methods=["GET", "POST"])
@roles_required(*EXTERNAL_ROLES)
def external_contract_new():
    """Record a contract held outside the partnership."""
    form = ExternalContractForm()
    _external_choices(form)
    if not form.school_id.choices:
        abort(404)
    if not form.is_submitted():
        form.school_id.data = external.schools_for(current_user)[0].id
    today = london_today()
    outcome = submit(form, lambda: external.add_external(form.to_input(), current_user, today))
    if outcome.done:
        flash("Outside contract recorded.", "success")
        return redirect(url_for("procurement.external_contracts"))
    return render_template(
        "procurement/pipeline/external_contract_form.html", form=form, contract=None
    ), outcome.status


@bp.route("/external-contracts/<int:external_id>/edit", methods=["GET", "POST"])
@roles_required(*EXTERNAL_ROLES)
def external_contract_edit(external_id: int):
    """Change an outside contract."""
    contract = external.get_external_for_user(external_id, current_user)
    form = ExternalContractForm()
    _external_choices(form)
    if not form.is_submitted():
        form.school_id.data = contract.school_id
        form.supplier_name.data = contract.supplier_name
        form.service_id.data = contract.service_id or NOT_IN_CATALOGUE
        form.category.data = contract.category
        form.annual_value.data = contract.annual_value_pence
        form.ends_on.data = contract.ends_on
        form.notes.data = contract.notes
    today = london_today()
    outcome = submit(
        form, lambda: external.update_external(contract.id, form.to_input(), current_user, today)
    )
    if outcome.done:
        flash("Outside contract saved.", "success")
        return redirect(url_for("procurement.external_contracts"))
    return render_template(
        "procurement/pipeline/external_contract_form.html", form=form, contract=contract
    ), outcome.status


@bp.route("/external-contracts/<int:external_id>/delete", methods=["POST"])
@roles_required(*EXTERNAL_ROLES)
def external_contract_delete(external_id: int):
    """Remove an outside contract."""
    external.get_external_for_user(external_id, current_user)
    if not ActionForm().validate_on_submit():
        abort(400)
    external.delete_external(external_id, current_user)
    flash("Outside contract removed.", "success")
    return redirect(url_for("procurement.external_contracts"))
