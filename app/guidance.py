"""Guidance pages (how buying rounds, tenders and billing work) and the accessibility
statement: public, linked from the pages they explain and from the footer."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from app import partnership
from app.money import format_pence
from procurement.tenders.rules import STANDSTILL_WORKING_DAYS

bp = Blueprint("help", __name__)

GUIDES = {
    "buying-rounds": "How buying rounds and the savings split work",
    "tenders": "How tenders work for providers",
    "billing": "How billing works",
}


@bp.route("/help")
def index():
    """Every guide."""
    return render_template("app/help/index.html", guides=GUIDES)


@bp.route("/help/buying-rounds")
def buying_rounds():
    """Pledging, the pooled price, and how the saving is shared."""
    return render_template("app/help/buying_rounds.html", title=GUIDES["buying-rounds"])


@bp.route("/help/tenders")
def tenders():
    """Sealed bids, clarifications, evaluation, standstill and contracts."""
    return render_template(
        "app/help/tenders.html", title=GUIDES["tenders"], standstill_days=STANDSTILL_WORKING_DAYS
    )


@bp.route("/help/billing")
def billing():
    """Invoices, VAT, credit notes, what providers are paid."""
    fee_bp = partnership.details().fee_bp
    return render_template(
        "app/help/billing.html",
        title=GUIDES["billing"],
        fee_percent=f"{fee_bp / 100:g}%",
        default_threshold=format_pence(500_000, show_pence=False),
    )


@bp.route("/accessibility")
def accessibility():
    """The accessibility statement, in the GOV.UK format."""
    return render_template(
        "app/help/accessibility.html", contact_email=current_app.config["PARTNERSHIP_EMAIL"]
    )
