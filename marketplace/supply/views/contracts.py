"""Supply pages for the partnership (admin and committee) to set the service up: contracts,
their agencies in release order, the rate card in parts, and schools' pre-contract rates."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.forms import ActionForm, filled, submit
from app.models import Role
from app.security import roles_required
from marketplace.blueprint import bp
from marketplace.supply import access, setup
from marketplace.supply.forms import AgencyForm, BaselineForm, ContractForm, RateForm
from marketplace.supply.models import SupplyContract
from marketplace.supply.rules import RateParts, RateUnit, ReleaseMode, SupplyRole, Weighting

PARTNERSHIP = (Role.ADMIN, Role.COMMITTEE)


@bp.route("/supply/contracts", endpoint="supply_contracts")
@roles_required(*PARTNERSHIP)
def supply_contracts():
    """Every managed-service contract, with its rules."""
    return render_template("marketplace/supply/contracts.html", contracts=access.contracts())


@bp.route("/supply/contracts/new", methods=["GET", "POST"], endpoint="supply_contract_new")
@roles_required(*PARTNERSHIP)
def supply_contract_new():
    """Record the managed-service contract the committee awarded, with its rules."""
    form = ContractForm()
    done = submit(
        form,
        lambda: setup.create_contract(
            title=form.title.data or "",
            reference=form.reference.data or "",
            starts_on=filled(form.starts_on.data),
            ends_on=filled(form.ends_on.data),
            actor=current_user,
            release_mode=ReleaseMode(form.release_mode.data),
            release_window_minutes=filled(form.release_window_hours.data) * 60,
            fill_by_hours=filled(form.fill_by_hours.data),
            cancellation_notice_hours=filled(form.cancellation_notice_hours.data),
            cancellation_fee_bp=filled(form.cancellation_fee_percent.data) * 100,
            introduced_fee_bp=filled(form.introduced_fee_percent.data) * 100,
            temp_to_perm_free_after_weeks=filled(form.temp_to_perm_free_after_weeks.data),
            temp_to_perm_max_fee_bp=filled(form.temp_to_perm_max_fee_percent.data) * 100,
        ),
    )
    if done.done:
        flash("Contract recorded: now put its agencies on it and fill in the rate card.", "success")
        return redirect(url_for("marketplace.supply_contract", contract_id=done.value.id))
    return render_template("marketplace/supply/contract_new.html", form=form), done.status


def _agency_form(contract: SupplyContract, form: AgencyForm | None = None) -> AgencyForm:
    form = form or AgencyForm(prefix="agency")
    on = {a.provider_id for a in contract.agencies}
    form.provider_id.choices = [(p.id, p.name) for p in access.providers() if p.id not in on]
    if not form.is_submitted():  # the next rank, offered
        form.rank.data = max((a.rank for a in contract.agencies), default=0) + 1
    return form


def _rate_form(contract: SupplyContract, form: RateForm | None = None) -> RateForm:
    if form is None:
        form = RateForm()
        chosen = request.args.get("rate", type=int)
        rate = next((r for r in access.contract_rates(contract.id) if r.id == chosen), None)
        if rate is not None:  # "Change" on a rate: the form filled with it
            form.provider_id.data = rate.provider_id
            form.role.data = rate.role.value
            form.unit.data = rate.unit.value
            form.weighting.data = rate.weighting.value
            for name in ("pay", "ni", "pension", "holiday", "fee"):
                getattr(form, name).data = getattr(rate, f"{name}_pence")
    form.provider_id.choices = [(a.provider_id, a.provider.name) for a in contract.agencies]
    return form


def _contract_page(
    contract_id: int,
    *,
    agency_form: AgencyForm | None = None,
    rate_form: RateForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    contract = access.get_contract(contract_id)
    return (
        render_template(
            "marketplace/supply/contract.html",
            contract=contract,
            rates=access.contract_rates(contract.id),
            replaced=access.contract_rates(contract.id, replaced=True),
            agency_form=_agency_form(contract, agency_form),
            rate_form=_rate_form(contract, rate_form),
            action_form=ActionForm(),
        ),
        status,
    )


@bp.route("/supply/contracts/<int:contract_id>", endpoint="supply_contract")
@roles_required(*PARTNERSHIP)
def supply_contract(contract_id: int):
    """A contract: its rules, its agencies in release order and its rate card, to edit."""
    return _contract_page(contract_id)


@bp.route(
    "/supply/contracts/<int:contract_id>/agencies",
    methods=["POST"],
    endpoint="supply_contract_agency_add",
)
@roles_required(*PARTNERSHIP)
def supply_contract_agency_add(contract_id: int):
    """Put an agency on the contract at a release rank."""
    contract = access.get_contract(contract_id)
    form = _agency_form(contract)
    done = submit(
        form,
        lambda: setup.add_agency(
            contract.id, filled(form.provider_id.data), filled(form.rank.data), current_user
        ),
    )
    if done.done:
        flash(
            f"{done.value.provider.name} is on the contract at rank {done.value.rank}.", "success"
        )
        return redirect(url_for("marketplace.supply_contract", contract_id=contract_id))
    return _contract_page(contract_id, agency_form=form, status=done.status)


@bp.route(
    "/supply/contracts/<int:contract_id>/agencies/<int:provider_id>/remove",
    methods=["POST"],
    endpoint="supply_contract_agency_remove",
)
@roles_required(*PARTNERSHIP)
def supply_contract_agency_remove(contract_id: int, provider_id: int):
    """Take an agency (and its rates) off the contract, while it has proposed nobody."""
    access.get_contract(contract_id)
    form = ActionForm()
    done = submit(form, lambda: setup.remove_agency(contract_id, provider_id, current_user))
    if done.done:
        flash("The agency and its rates are off the contract.", "success")
    elif done.status == 409:
        flash(
            "This agency has proposed workers under the contract, so it stays on it.",
            "error",
        )
    else:
        flash("The agency could not be taken off.", "error")
    return redirect(url_for("marketplace.supply_contract", contract_id=contract_id))


@bp.route(
    "/supply/contracts/<int:contract_id>/rates", methods=["POST"], endpoint="supply_contract_rate"
)
@roles_required(*PARTNERSHIP)
def supply_contract_rate(contract_id: int):
    """Put a rate on the card, or change one: its charge is the sum of its parts."""
    contract = access.get_contract(contract_id)
    form = _rate_form(contract, RateForm())

    def parts() -> RateParts:
        return RateParts(
            filled(form.pay.data),
            filled(form.ni.data),
            filled(form.pension.data),
            filled(form.holiday.data),
            filled(form.fee.data),
        )

    done = submit(
        form,
        lambda: setup.set_rate(
            contract.id,
            filled(form.provider_id.data),
            SupplyRole(form.role.data),
            RateUnit(form.unit.data),
            Weighting(form.weighting.data),
            parts(),
            current_user,
        ),
    )
    if done.done:
        rate = done.value
        flash(
            f"Rate saved: {rate.role.label}, {rate.unit.label.lower()}, "
            f"{rate.weighting.label.lower()}, charge £{rate.charge_pence / 100:,.2f}.",
            "success",
        )
        return redirect(url_for("marketplace.supply_contract", contract_id=contract_id))
    return _contract_page(contract_id, rate_form=form, status=done.status)


def _baselines_page(form: BaselineForm, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "marketplace/supply/baselines.html", form=form, baselines=access.baselines()
        ),
        status,
    )


@bp.route("/supply/baselines", methods=["GET", "POST"], endpoint="supply_baselines")
@roles_required(*PARTNERSHIP)
def supply_baselines():
    """Each school's pre-contract day charge per role: what the savings report compares with."""
    form = BaselineForm()
    form.school_id.choices = [(s.id, f"{s.name} ({s.urn})") for s in access.schools()]
    done = submit(
        form,
        lambda: setup.set_baseline(
            filled(form.school_id.data),
            SupplyRole(form.role.data),
            filled(form.day_charge.data),
            current_user,
        ),
    )
    if done.done:
        flash("Pre-contract rate saved.", "success")
        return redirect(url_for("marketplace.supply_baselines"))
    return _baselines_page(form, done.status)
