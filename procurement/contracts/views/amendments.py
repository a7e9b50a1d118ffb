"""Contract changes and termination: the contract page's section, a change's page (what it
changes, before and after), and the committee's and admins' forms to propose, approve, reject,
withdraw, terminate and set how far a contract may be extended.

Everyone who may open the contract reads its changes (a school sees only its own school's
agreed price among them); only committee members and admins act (403 for others).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.errors import DomainError, refusal_status
from app.extensions import db
from app.forms import ActionForm, submit
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role, School, User
from app.money import format_pence
from app.security import roles_required
from app.time import format_date, london_today, utcnow
from marketplace.catalogue.models import Service
from procurement.blueprint import bp
from procurement.contracts import amendments as service
from procurement.contracts import services as register_service
from procurement.contracts import termination
from procurement.contracts.access import CHANGEABLE_STATUSES
from procurement.contracts.forms import (
    AmendmentForm,
    DecisionNoteForm,
    ExtensionLimitForm,
    TerminationForm,
)
from procurement.contracts.labels import AMENDMENT_KIND_TEXT
from procurement.contracts.models import AmendmentKind, AmendmentStatus, Contract, ContractAmendment

MANAGERS = (Role.COMMITTEE, Role.ADMIN)


@dataclass(frozen=True)
class ChangeRow:
    what: str
    before: str
    after: str


def _unit(contract: Contract) -> str:
    service_row = db.session.get(Service, contract.service_id)
    return service_row.unit.value if service_row else "unit"


def change_rows(
    contract: Contract, amendment: ContractAmendment, user: User
) -> list[ChangeRow] | None:
    """What the change does (or did), line by line; None when it can no longer apply."""
    states = service.preview(contract, amendment)
    if states is None:
        return None
    before, after = states
    rows = []
    unit = _unit(contract)
    old_tiers = dict(before.get("tiers", []))
    for min_quantity, pence in after.get("tiers", []):
        label = f"Price per {unit}" + (
            f" from {min_quantity:,} {unit}s" if min_quantity > 1 else ""
        )
        rows.append(
            ChangeRow(label, format_pence(old_tiers.get(min_quantity)), format_pence(pence))
        )
    old_school_prices = dict(before.get("school_prices", []))
    shown = {user.school_id} if user.role in SCHOOL_ROLES else None
    names = {
        school_id: name
        for school_id, name in db.session.execute(
            sa.select(School.id, School.name).where(School.id.in_(list(old_school_prices)))
        )
    }
    for school_id, pence in after.get("school_prices", []):
        if shown is None or school_id in shown:
            rows.append(
                ChangeRow(
                    f"{names.get(school_id, 'A school')}: agreed price",
                    format_pence(old_school_prices.get(school_id)),
                    format_pence(pence),
                )
            )
    if "ends_on" in after:
        rows.append(
            ChangeRow(
                "End date",
                format_date(date.fromisoformat(before["ends_on"])),
                format_date(date.fromisoformat(after["ends_on"])),
            )
        )
    if "capacity" in after:
        old = before["capacity"]
        rows.append(
            ChangeRow(
                "Capacity",
                f"{old:,} {unit}s" if old is not None else "Not limited",
                f"{after['capacity']:,} {unit}s",
            )
        )
    return rows


def amendment_section(contract: Contract) -> dict[str, Any]:
    """The contract page's changes section: its history and what the reader may do."""
    can_change = current_user.role in PARTNERSHIP_ROLES
    today = london_today()
    return {
        "amendments": service.amendments_of(contract),
        "kind_text": AMENDMENT_KIND_TEXT,
        "amendment_kinds": list(AmendmentKind),
        "can_change_contract": can_change,
        "contract_changeable": contract.status in CHANGEABLE_STATUSES
        and contract.terminated_on is None
        and contract.ends_on >= today,
        "termination_in_force": contract.terminated_on is not None
        and contract.terminated_on <= today,
    }


def _contract(contract_id: int) -> Contract:
    return register_service.get_contract_for_user(contract_id, current_user)


def _contract_url(contract: Contract) -> str:
    return url_for("procurement.contract_detail", contract_id=contract.id) + "#changes"


def _amendment_page(
    contract: Contract, amendment: ContractAmendment, errors: list[str] | None = None
) -> str:
    return render_template(
        "procurement/contracts/amendment_detail.html",
        contract=contract,
        amendment=amendment,
        kind_text=AMENDMENT_KIND_TEXT,
        rows=change_rows(contract, amendment, current_user),
        can_decide=current_user.role in PARTNERSHIP_ROLES
        and amendment.status is AmendmentStatus.PROPOSED,
        is_proposer=amendment.proposed_by_id == current_user.id,
        form=ActionForm(),
        errors=errors or [],
    )


@bp.route("/contracts/<int:contract_id>/changes/new/<kind>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def amendment_new(contract_id: int, kind: str):
    """Propose a change of one kind: it applies only once a second person approves it."""
    contract = _contract(contract_id)
    try:
        amendment_kind = AmendmentKind(kind)
    except ValueError:
        abort(404)
    form = AmendmentForm()
    if not form.is_submitted():
        form.prices.min_entries = len(contract.tiers)
        form.prices.process(None, [tier.unit_price_pence for tier in contract.tiers])
    outcome = submit(
        form,
        lambda: service.propose_amendment(
            contract.id,
            current_user,
            service.AmendmentInput(
                kind=amendment_kind,
                reason=form.reason.data or "",
                effective_on=form.effective_on.data,
                indexation_bp=form.percent.data,
                tier_prices=tuple(entry.data for entry in form.prices),
                new_ends_on=form.new_ends_on.data,
                new_capacity=form.new_capacity.data,
            ),
            now=utcnow(),
        ),
    )
    if outcome.done:
        flash("Change proposed: a second committee member or admin must approve it.", "success")
        return redirect(
            url_for(
                "procurement.amendment_detail",
                contract_id=contract.id,
                amendment_id=outcome.value.id,
            )
        )
    return render_template(
        "procurement/contracts/amendment_form.html",
        contract=contract,
        kind=amendment_kind,
        kind_text=AMENDMENT_KIND_TEXT,
        form=form,
        unit=_unit(contract),
        price_entries=list(zip(contract.tiers, form.prices, strict=False)),
    ), outcome.status


@bp.route("/contracts/<int:contract_id>/changes/<int:amendment_id>")
@login_required
def amendment_detail(contract_id: int, amendment_id: int):
    """A change: why, when, who proposed and decided it, and what it changes."""
    contract = _contract(contract_id)
    amendment = service.get_amendment(contract, amendment_id)
    return _amendment_page(contract, amendment)


def _decision_button(contract_id: int, amendment_id: int, run: Any, success: str) -> Any:
    contract = _contract(contract_id)
    amendment = service.get_amendment(contract, amendment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run()
    except DomainError as exc:
        status = refusal_status(exc)
        db.session.rollback()
        contract = _contract(contract_id)
        amendment = service.get_amendment(contract, amendment_id)
        return _amendment_page(contract, amendment, [exc.message]), status
    flash(success, "success")
    return redirect(
        url_for("procurement.amendment_detail", contract_id=contract.id, amendment_id=amendment.id)
    )


@bp.route("/contracts/<int:contract_id>/changes/<int:amendment_id>/approve", methods=["POST"])
@roles_required(*MANAGERS)
def amendment_approve(contract_id: int, amendment_id: int):
    """Approve someone else's proposal: the change applies now."""
    return _decision_button(
        contract_id,
        amendment_id,
        lambda: service.approve_amendment(contract_id, amendment_id, current_user, now=utcnow()),
        "Change approved and applied.",
    )


@bp.route("/contracts/<int:contract_id>/changes/<int:amendment_id>/withdraw", methods=["POST"])
@roles_required(*MANAGERS)
def amendment_withdraw(contract_id: int, amendment_id: int):
    """Take back your own proposal; nothing changes."""
    return _decision_button(
        contract_id,
        amendment_id,
        lambda: service.withdraw_amendment(contract_id, amendment_id, current_user, now=utcnow()),
        "Change withdrawn: nothing was changed.",
    )


@bp.route("/contracts/<int:contract_id>/changes/<int:amendment_id>/reject", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def amendment_reject(contract_id: int, amendment_id: int):
    """Turn someone else's proposal down, saying why; nothing changes."""
    contract = _contract(contract_id)
    amendment = service.get_amendment(contract, amendment_id)
    form = DecisionNoteForm()
    outcome = submit(
        form,
        lambda: service.reject_amendment(
            contract.id, amendment.id, current_user, form.note.data or "", now=utcnow()
        ),
    )
    if outcome.done:
        flash("Change rejected: nothing was changed.", "success")
        return redirect(
            url_for(
                "procurement.amendment_detail", contract_id=contract.id, amendment_id=amendment.id
            )
        )
    return render_template(
        "procurement/contracts/amendment_reject.html",
        contract=contract,
        amendment=amendment,
        kind_text=AMENDMENT_KIND_TEXT,
        form=form,
    ), outcome.status


@bp.route("/contracts/<int:contract_id>/terminate", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def contract_terminate(contract_id: int):
    """End the contract early, with the reason and the day it takes effect."""
    contract = _contract(contract_id)
    form = TerminationForm()
    outcome = submit(
        form,
        lambda: termination.terminate_contract(
            contract.id,
            current_user,
            form.reason.data or "",
            form.terminated_on.data,
            now=utcnow(),
        ),
    )
    if outcome.done:
        flash("Contract terminated.", "success")
        return redirect(_contract_url(contract))
    return render_template(
        "procurement/contracts/contract_terminate.html", contract=contract, form=form
    ), outcome.status


@bp.route("/contracts/<int:contract_id>/extension-limit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def contract_extension_limit(contract_id: int):
    """Set how far the contract may be extended, as its terms allow (blank: not at all)."""
    contract = _contract(contract_id)
    form = ExtensionLimitForm()
    if not form.is_submitted():
        form.allowed_until.data = contract.extension_allowed_until
    outcome = submit(
        form,
        lambda: termination.set_extension_limit(
            contract.id, current_user, form.allowed_until.data, now=utcnow()
        ),
    )
    if outcome.done:
        flash("Extension limit saved.", "success")
        return redirect(_contract_url(contract))
    return render_template(
        "procurement/contracts/contract_extension_limit.html", contract=contract, form=form
    ), outcome.status
