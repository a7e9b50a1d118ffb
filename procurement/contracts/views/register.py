"""The contracts register and a contract's page, for every role (each sees its own share)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from app.extensions import db
from app.models import SCHOOL_ROLES, Role
from app.time import london_today
from marketplace.catalogue.models import Service
from marketplace.ratings import services as ratings
from procurement.blueprint import bp
from procurement.contracts import services as register_service
from procurement.contracts.models import ContractSource
from procurement.contracts.views.amendments import amendment_section
from procurement.contracts.views.calloffs import drawdown_context
from procurement.kpis.presenters import contract_kpis
from procurement.tenders.models import Tender


@bp.route("/contracts")
@login_required
def contracts():
    """Every contract from tenders and buying rounds, soonest expiry first."""
    today = london_today()
    rows = register_service.register(current_user, today)
    return render_template(
        "procurement/contracts/contracts.html",
        rows=rows,
        today=today,
        is_school=current_user.role in SCHOOL_ROLES,
        is_provider=current_user.role is Role.PROVIDER,
    )


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract_detail(contract_id: int):
    """A contract: provider, service, period, awarded prices, capacity and schools."""
    today = london_today()
    contract = register_service.get_contract_for_user(contract_id, current_user)
    tender = None
    if contract.source is ContractSource.TENDER and contract.source_id is not None:
        tender = db.session.get(Tender, contract.source_id)
        if tender is not None and not tender.was_published:
            tender = None
    service = db.session.get(Service, contract.service_id)
    status, status_text = register_service.shown_status(contract, today)
    return render_template(
        "procurement/contracts/contract_detail.html",
        contract=contract,
        service=service,
        status=status,
        status_text=status_text,
        participants=register_service.participants_for(contract, current_user),
        taking_part=register_service.schools_taking_part(contract),
        source_label=register_service.source_label(contract),
        tender=tender,
        can_open_tender=current_user.role in (Role.COMMITTEE, Role.ADMIN, Role.PROVIDER),
        is_school=current_user.role in SCHOOL_ROLES,
        ratings=ratings.contract_ratings(contract.id),
        **amendment_section(contract),
        **drawdown_context(contract, current_user),
        kpis=contract_kpis(contract, current_user, today),
    )
