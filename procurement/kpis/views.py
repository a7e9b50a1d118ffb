"""KPI pages: the committee's contract actions and a contract's KPIs (add, change, remove);
a provider's returns due and the return form. The contract page's KPI section is drawn by
templates/procurement/contracts/_kpis.html from procurement.kpis.presenters."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, submit
from app.models import Role
from app.security import roles_required
from app.time import format_date, london_today
from procurement.blueprint import bp
from procurement.kpis import access, actions, returns, rules, targets
from procurement.kpis.forms import DEFAULT_KPI, CloseActionForm, KpiForm, ReturnForm
from procurement.kpis.models import ActionStatus, ContractKpi
from procurement.kpis.rules import KpiSource, Quarter

PARTNERSHIP = (Role.ADMIN, Role.COMMITTEE)


def _contract_url(contract_id: int) -> str:
    return url_for("procurement.contract_detail", contract_id=contract_id) + "#kpis"


def _kpi_form(kpi: ContractKpi) -> KpiForm:
    return KpiForm(
        data={
            "kind": kpi.kind.value,
            "name": kpi.name,
            "unit": kpi.unit.value,
            "target": rules.plain(kpi.target_hundredths),
            "direction": kpi.direction.value,
            "source": kpi.source.value,
        }
    )


@bp.route("/contracts/actions")
@roles_required(*PARTNERSHIP)
def kpi_actions():
    """The committee's actions on KPIs below target, open ones first."""
    rows = actions.action_rows()
    return render_template(
        "procurement/kpis/actions.html",
        rows=rows,
        open_count=sum(row.action.status is ActionStatus.OPEN for row in rows),
    )


@bp.route("/contracts/actions/<int:action_id>", methods=["GET", "POST"])
@roles_required(*PARTNERSHIP)
def kpi_action(action_id: int):
    """One action: the KPI, the figure against its target, and closing it with a note."""
    row = actions.get_action(action_id)
    form = CloseActionForm()
    outcome = submit(
        form, lambda: actions.close_action(action_id, form.note.data or "", current_user)
    )
    if outcome.done:
        flash(f"Action on {row.action.contract.reference} closed.", "success")
        return redirect(url_for("procurement.kpi_actions"))
    return render_template(
        "procurement/kpis/action.html", row=actions.get_action(action_id), form=form
    ), outcome.status


@bp.route("/contracts/<int:contract_id>/kpis/new", methods=["GET", "POST"])
@roles_required(*PARTNERSHIP)
def contract_kpi_new(contract_id: int):
    """Add a KPI and its target to a contract."""
    contract = access.get_contract(contract_id)
    form = KpiForm(data=DEFAULT_KPI)
    outcome = submit(form, lambda: targets.add_kpi(contract.id, form.to_input(), current_user))
    if outcome.done:
        flash(f"KPI “{outcome.value.name}” added.", "success")
        return redirect(_contract_url(contract.id))
    return render_template(
        "procurement/kpis/kpi_form.html", form=form, contract=contract, kpi=None
    ), outcome.status


@bp.route("/contracts/<int:contract_id>/kpis/<int:kpi_id>/edit", methods=["GET", "POST"])
@roles_required(*PARTNERSHIP)
def contract_kpi_edit(contract_id: int, kpi_id: int):
    """Change a KPI or its target, or remove it."""
    kpi = access.get_kpi(contract_id, kpi_id)
    form = _kpi_form(kpi)
    outcome = submit(
        form, lambda: targets.update_kpi(contract_id, kpi.id, form.to_input(), current_user)
    )
    if outcome.done:
        flash(f"KPI “{outcome.value.name}” saved.", "success")
        return redirect(_contract_url(contract_id))
    return render_template(
        "procurement/kpis/kpi_form.html",
        form=form,
        contract=kpi.contract,
        kpi=kpi,
        remove_form=ActionForm(prefix="remove"),
    ), outcome.status


@bp.route("/contracts/<int:contract_id>/kpis/<int:kpi_id>/remove", methods=["POST"])
@roles_required(*PARTNERSHIP)
def contract_kpi_remove(contract_id: int, kpi_id: int):
    """Remove a KPI (its returns and actions stay on record)."""
    kpi = access.get_kpi(contract_id, kpi_id)
    if not ActionForm(prefix="remove").validate_on_submit():
        abort(400)
    name = kpi.name
    try:
        targets.remove_kpi(contract_id, kpi_id, current_user)
    except DomainError as exc:
        status = refusal_status(exc)
        kpi = access.get_kpi(contract_id, kpi_id)
        form = _kpi_form(kpi)
        form.form_errors.append(exc.message)
        return render_template(
            "procurement/kpis/kpi_form.html",
            form=form,
            contract=kpi.contract,
            kpi=kpi,
            remove_form=ActionForm(prefix="remove"),
        ), status
    flash(f"KPI “{name}” removed.", "success")
    return redirect(_contract_url(contract_id))


@bp.route("/contracts/<int:contract_id>/kpis/standard", methods=["POST"])
@roles_required(*PARTNERSHIP)
def contract_kpis_standard(contract_id: int):
    """Give a contract with no KPIs the standard ones."""
    contract = access.get_contract(contract_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        added = targets.add_standard_kpis(contract.id, current_user)
    except DomainError as exc:
        refusal_status(exc)
        flash(exc.message, "error")
    else:
        flash(f"{added} standard KPIs added.", "success")
    return redirect(_contract_url(contract_id))


@bp.route("/provider/kpis")
@roles_required(Role.PROVIDER)
def provider_kpis():
    """The provider's KPI returns that can be made or changed now."""
    today = london_today()
    return render_template(
        "procurement/kpis/provider_kpis.html",
        rows=returns.returns_due(current_user.provider_id, today),
        today=today,
    )


@bp.route("/provider/kpis/<int:kpi_id>/<quarter>", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def provider_kpi_return(kpi_id: int, quarter: str):
    """Make or change the return for one KPI and quarter, until its deadline."""
    today = london_today()
    kpi = access.get_kpi_for_provider(kpi_id, current_user.provider_id)
    try:
        period = Quarter.parse(quarter)
    except ValueError:
        abort(404)
    if kpi.source is not KpiSource.PROVIDER_RETURN:
        abort(404)
    existing = returns.return_for(kpi, period)
    form = ReturnForm(
        data={
            "value": rules.plain(existing.value_hundredths) if existing else "",
            "note": existing.note if existing else "",
        }
    )
    outcome = submit(
        form,
        lambda: returns.submit_return(
            kpi.id, period.key, form.value.data or "", form.note.data or "", current_user
        ),
    )
    if outcome.done:
        flash(f"Return for {kpi.name}, {period.label} saved.", "success")
        return redirect(url_for("procurement.provider_kpis"))
    return render_template(
        "procurement/kpis/return_form.html",
        form=form,
        kpi=kpi,
        quarter=period,
        existing=existing,
        target=rules.format_target(kpi.target_hundredths, kpi.unit, kpi.direction),
        unit_text=rules.UNIT_TEXT[kpi.unit],
        deadline=format_date(period.return_deadline),
        open_now=rules.return_open(period, today),
    ), outcome.status
