"""The provider portal: a provider's offers; creating, changing, publishing, withdrawing them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.accounts import provider_for_user
from app.calendar import Term, term_label
from app.errors import DomainError, refusal_status
from app.extensions import db
from app.forms import ActionForm, field_errors
from app.models import Role, School
from app.security import roles_required
from app.time import london_today
from marketplace.blueprint import bp
from marketplace.catalogue.models import Service
from marketplace.offers import services as offers
from marketplace.offers import tiers
from marketplace.offers.forms import OfferForm
from marketplace.offers.models import Offer, OfferStatus

SELLERS = (Role.PROVIDER, Role.SBM)  # an SBM sells when their school is a hub


def _provider() -> Any:
    provider = provider_for_user(current_user)
    if provider is None:
        abort(403)
    return provider


def _term_labels(keys: list[str]) -> dict[str, str]:
    return {key: term_label(key) for key in keys}


def _prepare(form: OfferForm, term_keys: list[str]) -> None:
    form.service_id.choices = [(0, "Choose a service")] + [
        (s.id, f"{s.name} (per {s.unit.value}, {s.kind.value})")
        for s in db.session.scalars(
            sa.select(Service).where(Service.active.is_(True)).order_by(Service.name)
        )
    ]
    form.areas.choices = [(area, area) for area in offers.known_areas()]
    if request.method == "GET":
        while len(form.capacities.entries):
            form.capacities.pop_entry()
        for key in term_keys:
            form.capacities.append_entry({"term_key": key, "capacity": None})


def _save(form: OfferForm, save: Any) -> tuple[Offer | None, int]:
    """Validate the form and run the use case; (offer, 200) or (None, error status)."""
    if not form.validate_on_submit():
        return None, 400 if request.method == "POST" else 200
    data = form.to_input()
    if data is None:
        return None, 400
    try:
        return save(data), 200
    except DomainError as exc:
        status = refusal_status(exc)
        field_errors(form, exc.field, exc.message)
        return None, status


def _render_form(form: OfferForm, offer: Offer | None, status: int) -> Any:
    keys = [entry.form.term_key.data or "" for entry in form.capacities]
    reserved = {c.term_key: c.reserved for c in offer.capacities} if offer else {}
    return (
        render_template(
            "marketplace/offers/offer_form.html",
            form=form,
            offer=offer,
            term_labels=_term_labels(keys),
            reserved=reserved,
        ),
        status,
    )


@bp.route("/provider/offers")
@roles_required(*SELLERS)
def provider_offers():
    """The provider's offers: prices, capacity reserved and left, status."""
    provider = _provider()
    return render_template(
        "marketplace/offers/provider_offers.html",
        provider=provider,
        offers=offers.offers_for_provider(provider.id),
        term_labels=_term_labels([t.key for t in offers.offer_terms(london_today())]),
        today=london_today(),
        action_form=ActionForm(),
    )


@bp.route("/provider/offers/new", methods=["GET", "POST"])
@roles_required(*SELLERS)
def offer_new():
    """Put a new offer up: prices in pounds, capacity per term, dates, areas and rules."""
    provider = _provider()
    today = london_today()
    form = OfferForm()
    if request.method == "GET":
        year_terms = offers.offer_terms(today)
        form.valid_from.data = today
        form.valid_to.data = year_terms[0].academic_year.ends_on
    _prepare(form, [t.key for t in offers.offer_terms(today)])
    publish = request.form.get("action") == "publish"
    offer, status = _save(
        form,
        lambda data: offers.create_offer(
            provider.id, data, current_user, publish=publish, today=today
        ),
    )
    if offer is not None:
        flash(
            f"“{offer.title}” {'published in the catalogue' if publish else 'saved as a draft'}.",
            "success",
        )
        return redirect(url_for("marketplace.offer_detail", offer_id=offer.id))
    return _render_form(form, None, status)


@bp.route("/provider/offers/<int:offer_id>")
@roles_required(*SELLERS)
def offer_detail(offer_id: int):
    """One of the provider's offers with its capacity and history."""
    provider = _provider()
    offer = offers.get_offer_for_provider(offer_id, provider.id)
    excluded = (
        list(
            db.session.scalars(
                sa.select(School)
                .where(School.id.in_(offer.excluded_school_ids))
                .order_by(School.name)
            )
        )
        if offer.excluded_school_ids
        else []
    )
    return render_template(
        "marketplace/offers/offer_detail.html",
        offer=offer,
        excluded=excluded,
        term_labels=_term_labels([c.term_key for c in offer.capacities]),
        history=offers.history(offer),
        action_form=ActionForm(),
        today=london_today(),
        non_member_tiers=tiers.non_member_tiers(offer)
        if tiers.has_non_member_prices(offer)
        else None,
    )


@bp.route("/provider/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@roles_required(*SELLERS)
def offer_edit(offer_id: int):
    """Change an offer's prices, capacity, dates, areas or rules."""
    provider = _provider()
    offer = offers.get_offer_for_provider(offer_id, provider.id)
    if offer.status is OfferStatus.WITHDRAWN:
        flash("This offer has been withdrawn and can no longer be changed.", "error")
        return redirect(url_for("marketplace.offer_detail", offer_id=offer.id))
    today = london_today()
    form = OfferForm(obj=None)
    if request.method == "GET":
        _fill(form, offer)
    keys = sorted(
        {t.key for t in offers.offer_terms(today)} | {c.term_key for c in offer.capacities},
        key=Term.parse,
    )
    _prepare(form, keys)
    if request.method == "GET":
        current = {c.term_key: c.capacity for c in offer.capacities}
        for entry in form.capacities:
            entry.form.capacity.data = current.get(entry.form.term_key.data or "")
    saved, status = _save(
        form,
        lambda data: offers.update_offer(offer.id, provider.id, data, current_user, today=today),
    )
    if saved is not None:
        flash(f"“{saved.title}” saved.", "success")
        return redirect(url_for("marketplace.offer_detail", offer_id=saved.id))
    offer = offers.get_offer_for_provider(offer_id, provider.id)
    return _render_form(form, offer, status)


def _fill(form: OfferForm, offer: Offer) -> None:
    form.service_id.data = offer.service_id
    form.title.data = offer.title
    form.description.data = offer.description
    form.valid_from.data = offer.valid_from
    form.valid_to.data = offer.valid_to
    form.lead_time_days.data = offer.lead_time_days
    form.notice_days.data = offer.notice_days
    form.cancellation_charge.data = offer.cancellation_charge_bp
    form.notice_rules.data = offer.notice_rules
    form.min_quantity.data = offer.min_quantity
    form.setup.data = offer.setup_pence or None
    form.non_member_uplift.data = offer.non_member_uplift_bp or None
    form.areas.data = list(offer.areas or [])
    if offer.excluded_school_ids:
        urns = db.session.scalars(
            sa.select(School.urn).where(School.id.in_(offer.excluded_school_ids))
        )
        form.excluded_school_urns.data = ", ".join(str(urn) for urn in sorted(urns))
    while len(form.tiers.entries):
        form.tiers.pop_entry()
    for tier in offer.tiers:
        form.tiers.append_entry({"min_quantity": tier.min_quantity, "unit_price": None})
        form.tiers.entries[-1].form.unit_price.data = tier.unit_price_pence
        form.tiers.entries[-1].form.non_member_price.data = tier.non_member_unit_price_pence
    while len(form.tiers.entries) < max(4, len(offer.tiers) + 1):
        form.tiers.append_entry()


@bp.route("/provider/offers/<int:offer_id>/publish", methods=["POST"])
@roles_required(*SELLERS)
def offer_publish(offer_id: int):
    """Put a draft offer in the catalogue."""
    return _offer_action(offer_id, offers.publish_offer, "“{title}” is now in the catalogue.")


@bp.route("/provider/offers/<int:offer_id>/withdraw", methods=["POST"])
@roles_required(*SELLERS)
def offer_withdraw(offer_id: int):
    """Take an offer out of the catalogue; orders already placed stand."""
    return _offer_action(
        offer_id,
        offers.withdraw_offer,
        "“{title}” withdrawn. Schools can no longer order it; existing orders stand.",
    )


def _offer_action(offer_id: int, action: Any, success: str) -> Any:
    provider = _provider()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        offer = action(offer_id, provider.id, current_user)
    except DomainError as exc:
        refusal_status(exc)
        flash(exc.message, "error")
    else:
        flash(success.format(title=offer.title), "success")
    return redirect(url_for("marketplace.offer_detail", offer_id=offer_id))
