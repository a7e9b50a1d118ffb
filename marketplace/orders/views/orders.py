"""Order pages: ordering an offer, a school's orders, one order and every action on it."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.accounts import provider_for_user
from app.cache import cached_page
from app.errors import DomainError, refusal_status
from app.extensions import db, paginate
from app.forms import ActionForm, field_errors
from app.models import APPROVER_ROLES, Role
from app.money import format_pence
from app.security import roles_required
from app.time import london_today
from marketplace.blueprint import bp
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.coverage import cheaper_rounds, coverage
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders import access, approvals, decisions, drafting
from marketplace.orders.contract_prices import contract_prices
from marketplace.orders.forms import OrderForm, PoNumberForm, ReasonForm
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import CANCELLABLE_STATUSES, Order, OrderStatus
from marketplace.orders.savings import membership_change
from marketplace.ratings.rules import RATEABLE_ORDER_STATUSES
from marketplace.ratings.services import orders_to_rate, rating_of_order

SCHOOL = (Role.SBM, Role.HEAD)
SELLERS = (Role.PROVIDER, Role.SBM)  # an SBM sells when their school is a hub


def _status_filter() -> OrderStatus | None:
    value = request.args.get("status", "")
    try:
        return OrderStatus(value) if value else None
    except ValueError:
        return None


def covers_context(view: catalogue.OfferView, term_key: str | None = None) -> dict[str, Any]:
    """What else covers the offer's service for the order pages: open rounds (and those that
    price it lower than this offer, to warn of) and the school's contracts."""
    service_id = view.offer.service_id
    rounds = coverage().open_rounds(service_id)
    price = view.price.unit_price_pence if view.price is not None else None
    return {
        "rounds": rounds,
        "cheaper_rounds": cheaper_rounds(rounds, price, term_key),
        "contracts": contract_prices().for_school(
            current_user.school_id, service_id, london_today()
        ),
    }


def orderable(offer_id: int) -> tuple[Offer, catalogue.OfferView, date]:
    """A published offer (404 for a draft or none) as the signed-in school sees it today."""
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.status is OfferStatus.DRAFT:
        abort(404)
    today = london_today()
    return offer, catalogue.offer_view(offer, today, current_user.school), today


def term_choices(view: catalogue.OfferView) -> list[tuple[str, str]]:
    return [
        (t.term.key, f"{t.term.label} – {t.left} of {t.capacity} left")
        for t in view.orderable_terms
    ]


# A school's orders ---------------------------------------------------------------------------


@bp.route("/orders", endpoint="orders")
@roles_required(*SCHOOL)
@cached_page
def orders_list():
    """The school's orders, newest first, filtered by status."""
    status = _status_filter()
    page = paginate(access.school_orders(current_user.school_id, status), per_page=25)
    return render_template(
        "marketplace/orders/orders.html",
        page=page,
        status=status,
        statuses=list(OrderStatus),
        status_text=STATUS_TEXT,
        hub=provider_for_user(current_user),
        to_rate=orders_to_rate(current_user.school_id),
    )


@bp.route("/offers/<int:offer_id>/order", methods=["GET", "POST"])
@roles_required(Role.SBM)
def order_new(offer_id: int):
    """Order an offer: term, quantity and purchase-order number, saved as a draft to check."""
    offer, view, today = orderable(offer_id)
    form = OrderForm()
    form.term_key.choices = term_choices(view)
    if request.method == "GET" and len(form.term_key.choices) == 1:
        form.term_key.data = form.term_key.choices[0][0]
    status = 200
    if form.validate_on_submit():
        try:
            order = drafting.create_draft(
                school_id=current_user.school_id,
                offer_id=offer.id,
                term_key=form.term_key.data,
                quantity=form.quantity.data,
                po_number=form.po_number.data,
                notes=form.notes.data,
                actor=current_user,
                today=today,
            )
        except DomainError as exc:
            field_errors(form, exc.field, exc.message)
            status = refusal_status(exc)
        else:
            flash(
                f"Order {order.id} saved as a draft. Check it, then submit it to the provider.",
                "success",
            )
            return redirect(url_for("marketplace.order_detail", order_id=order.id))
        # The refusal rolled the session back: load the offer afresh.
        offer, view, today = orderable(offer_id)
    elif form.errors:
        status = 400
    if request.method == "GET" and view.problem:
        status = 409
    return (
        render_template(
            "marketplace/orders/order_new.html",
            form=form,
            view=view,
            offer=offer,
            today=today,
            change=membership_change(current_user.school_id, today),
            **covers_context(view),
        ),
        status,
    )


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SBM)
def order_edit(order_id: int):
    """Change a draft order (a submitted order can only be cancelled)."""
    order = access.get_order_for_school(order_id, current_user.school_id)
    if order.status is not OrderStatus.DRAFT or order.offer is None:
        flash(
            f"Order {order.id} has been submitted, so it can no longer be changed. "
            "Cancel it and place a new order instead.",
            "error",
        )
        return redirect(url_for("marketplace.order_detail", order_id=order.id))
    today = london_today()
    view = catalogue.offer_view(order.offer, today, current_user.school)
    form = OrderForm(obj=order)
    form.term_key.choices = term_choices(view)
    status = 200
    if form.validate_on_submit():
        try:
            drafting.update_draft(
                order.id,
                current_user.school_id,
                term_key=form.term_key.data,
                quantity=form.quantity.data,
                po_number=form.po_number.data,
                notes=form.notes.data,
                actor=current_user,
                today=today,
            )
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field, exc.message)
        else:
            flash(f"Order {order.id} saved.", "success")
            return redirect(url_for("marketplace.order_detail", order_id=order.id))
        order = access.get_order_for_school(order_id, current_user.school_id)
        view = catalogue.offer_view(order.offer, today, current_user.school)  # type: ignore[arg-type]
    elif form.errors:
        status = 400
    return (
        render_template(
            "marketplace/orders/order_new.html",
            form=form,
            view=view,
            offer=order.offer,
            order=order,
            today=today,
            change=membership_change(current_user.school_id, today),
            **covers_context(view),
        ),
        status,
    )


# One order -------------------------------------------------------------------------------------


def show_order(
    order: Order, *, status: int = 200, errors: list[str] | None = None, **forms: Any
) -> Any:
    user = current_user
    provider = provider_for_user(user)
    is_school = user.role in SCHOOL and order.school_id == user.school_id
    is_seller = provider is not None and order.provider_id == provider.id
    today = london_today()
    settlement = None
    lower = []
    if is_school and order.status is OrderStatus.DRAFT:
        lower = cheaper_rounds(
            coverage().open_rounds(order.service_id), order.unit_price_pence, order.term_key
        )
    if is_school and order.status in CANCELLABLE_STATUSES:
        settlement = decisions.cancellation_terms(order, today)
    return (
        render_template(
            "marketplace/orders/order_detail.html",
            order=order,
            history=access.history(order),
            status_text=STATUS_TEXT,
            is_school=is_school,
            is_seller=is_seller,
            settlement=settlement,
            cheaper_rounds=lower,
            threshold_pence=order.school.approval_threshold_pence,
            needs_approval=order.needs_approval(order.school.approval_threshold_pence),
            chain=approvals.chain_view(order),
            next_step=approvals.upcoming(order) if order.status is OrderStatus.SUBMITTED else None,
            can_approve=approvals.approval_problem(order, user) is None,
            action_form=ActionForm(),
            reject_form=forms.get("reject_form") or ReasonForm(prefix="reject"),
            decline_form=forms.get("decline_form") or ReasonForm(prefix="decline"),
            po_form=forms.get("po_form") or PoNumberForm(prefix="po"),
            dispute_form=forms.get("dispute_form") or ReasonForm(prefix="dispute"),
            starts_on=decisions.starts_on(order),
            can_rate=is_school
            and order.status.value in RATEABLE_ORDER_STATUSES
            and rating_of_order(order.id) is None,
            errors=errors or [],
        ),
        status,
    )


@bp.route("/orders/<int:order_id>")
@roles_required(*Role)
@cached_page
def order_detail(order_id: int):
    """One order: what, how much, its notice rules, what happens next and its history."""
    return show_order(access.get_order_for_user(order_id, current_user))


def run_action(order_id: int, action: Any, success: str, **forms: Any) -> Any:
    """Run one action; on success redirect with a message, else show the order with the error."""
    try:
        order = action()
    except DomainError as exc:
        status = refusal_status(exc)
        order = access.get_order_for_user(order_id, current_user)
        return show_order(order, status=status, errors=[exc.message], **forms)
    flash(success.format(id=order.id), "success")
    return redirect(url_for("marketplace.order_detail", order_id=order.id))


def _checked_action_form() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.route("/orders/<int:order_id>/submit", methods=["POST"])
@roles_required(Role.SBM)
def order_submit(order_id: int):
    """Submit a draft to the provider (via the head if over the approval threshold)."""
    _checked_action_form()
    try:
        order = drafting.submit(order_id, current_user.school_id, current_user)
    except DomainError as exc:
        status = refusal_status(exc)
        if exc.code == "price_changed":
            flash(exc.message, "error")
            return redirect(url_for("marketplace.order_edit", order_id=order_id))
        order = access.get_order_for_school(order_id, current_user.school_id)
        return show_order(order, status=status, errors=[exc.message])
    if order.status is OrderStatus.SUBMITTED:
        message = (
            f"Order {order.id} submitted. It is over your school’s approval threshold, so it "
            "now waits for your head to approve it."
        )
    else:
        message = f"Order {order.id} submitted to {order.provider.name} for confirmation."
    flash(message, "success")
    return redirect(url_for("marketplace.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/approve", methods=["POST"])
@roles_required(*APPROVER_ROLES)
def order_approve(order_id: int):
    """An approver gives the next step of the school's approval chain."""
    _checked_action_form()
    school_id = access.get_order_for_approver(order_id, current_user).school_id
    try:
        order = decisions.approve(order_id, school_id, current_user)
    except DomainError as exc:
        order = access.get_order_for_user(order_id, current_user)
        return show_order(order, status=refusal_status(exc), errors=[exc.message])
    if order.status is OrderStatus.APPROVED:
        flash(f"Order {order.id} approved and sent to the provider.", "success")
    else:
        flash(
            f"Your approval of order {order.id} is recorded. It is over the school’s second "
            "approval step, so it now waits for a second approver.",
            "success",
        )
    return redirect(url_for("marketplace.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/reject", methods=["POST"])
@roles_required(*APPROVER_ROLES)
def order_reject(order_id: int):
    """An approver turns an order down, saying why."""
    school_id = access.get_order_for_approver(order_id, current_user).school_id
    form = ReasonForm(prefix="reject")
    if not form.validate_on_submit():
        order = access.get_order_for_user(order_id, current_user)
        return show_order(order, status=400, reject_form=form)
    return run_action(
        order_id,
        lambda: decisions.reject(order_id, school_id, current_user, form.reason.data),
        "Order {id} rejected.",
        reject_form=form,
    )


@bp.route("/orders/<int:order_id>/po-number", methods=["POST"])
@roles_required(*SCHOOL)
def order_po_number(order_id: int):
    """The school gives the purchase-order number a call-off was awarded without."""
    form = PoNumberForm(prefix="po")
    if not form.validate_on_submit():
        order = access.get_order_for_school(order_id, current_user.school_id)
        return show_order(order, status=400, po_form=form)
    return run_action(
        order_id,
        lambda: drafting.give_po_number(
            order_id, current_user.school_id, current_user, form.po_number.data
        ),
        "Purchase-order number added to order {id}. It can now be billed.",
        po_form=form,
    )


@bp.route("/orders/<int:order_id>/cancel", methods=["GET", "POST"])
@roles_required(*SCHOOL)
def order_cancel(order_id: int):
    """Cancel an order: shows what it costs under the offer's rules, then cancels."""
    order = access.get_order_for_school(order_id, current_user.school_id)
    form = ReasonForm()
    today = london_today()
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            order = decisions.cancel(
                order_id, current_user.school_id, current_user, form.reason.data, today=today
            )
        except DomainError as exc:
            status = refusal_status(exc)
            errors.append(exc.message)
            order = access.get_order_for_school(order_id, current_user.school_id)
        else:
            charge = order.cancellation_charge_pence
            flash(
                f"Order {order.id} cancelled."
                + (f" Cancellation charge: {format_pence(charge)}." if charge else " No charge."),
                "success",
            )
            return redirect(url_for("marketplace.order_detail", order_id=order.id))
    elif form.errors:
        status = 400
    cancellable = order.status in CANCELLABLE_STATUSES
    settlement = decisions.cancellation_terms(order, today) if cancellable else None
    return (
        render_template(
            "marketplace/orders/order_cancel.html",
            order=order,
            form=form,
            settlement=settlement,
            cancellable=cancellable,
            errors=errors,
            status_text=STATUS_TEXT,
        ),
        status,
    )


# The provider's side ---------------------------------------------------------------------------


def _seller_id() -> int:
    provider = provider_for_user(current_user)
    if provider is None:
        abort(403)
    return provider.id


@bp.route("/provider/orders")
@roles_required(*SELLERS)
def provider_orders():
    """Orders placed with this provider: confirm, decline or mark delivered."""
    provider_id = _seller_id()
    status = _status_filter()
    page = paginate(access.provider_orders(provider_id, status), per_page=25)
    waiting = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Order)
        .where(Order.provider_id == provider_id, Order.status == OrderStatus.APPROVED)
    )
    return render_template(
        "marketplace/orders/provider_orders.html",
        page=page,
        status=status,
        statuses=[s for s in OrderStatus if s is not OrderStatus.DRAFT],
        status_text=STATUS_TEXT,
        waiting=waiting,
        provider=provider_for_user(current_user),
    )


@bp.route("/orders/<int:order_id>/confirm", methods=["POST"])
@roles_required(*SELLERS)
def order_confirm(order_id: int):
    """The provider accepts an approved order."""
    _checked_action_form()
    provider_id = _seller_id()
    return run_action(
        order_id,
        lambda: decisions.confirm(order_id, provider_id, current_user),
        "Order {id} confirmed. The school can see it.",
    )


@bp.route("/orders/<int:order_id>/decline", methods=["POST"])
@roles_required(*SELLERS)
def order_decline(order_id: int):
    """The provider turns an order down, saying why; its capacity is released."""
    provider_id = _seller_id()
    form = ReasonForm(prefix="decline")
    if not form.validate_on_submit():
        order = access.get_order_for_provider(order_id, provider_id)
        return show_order(order, status=400, decline_form=form)
    return run_action(
        order_id,
        lambda: decisions.decline(order_id, provider_id, current_user, form.reason.data),
        "Order {id} declined. The school has been told why.",
        decline_form=form,
    )


@bp.route("/orders/<int:order_id>/deliver", methods=["POST"])
@roles_required(*SELLERS)
def order_deliver(order_id: int):
    """The provider records delivery of a confirmed order."""
    _checked_action_form()
    provider_id = _seller_id()
    return run_action(
        order_id,
        lambda: decisions.deliver(order_id, provider_id, current_user),
        "Order {id} marked as delivered.",
    )
