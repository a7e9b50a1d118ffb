"""After delivery: the school confirms receipt or disputes it; the office resolves disputes."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm
from app.models import Role
from app.security import roles_required
from marketplace.blueprint import bp
from marketplace.orders import acceptance, access
from marketplace.orders.forms import ReasonForm
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.views.orders import SCHOOL, run_action, show_order


@bp.route("/orders/<int:order_id>/receipt", methods=["POST"])
@roles_required(*SCHOOL)
def order_receipt(order_id: int):
    """The school confirms it received what was delivered."""
    if not ActionForm().validate_on_submit():
        abort(400)
    return run_action(
        order_id,
        lambda: acceptance.confirm_receipt(order_id, current_user.school_id, current_user),
        "Receipt of order {id} confirmed. It will be billed.",
    )


@bp.route("/orders/<int:order_id>/dispute", methods=["POST"])
@roles_required(*SCHOOL)
def order_dispute(order_id: int):
    """The school disputes a delivery, saying what is wrong."""
    form = ReasonForm(prefix="dispute")
    if not form.validate_on_submit():
        order = access.get_order_for_school(order_id, current_user.school_id)
        return show_order(order, status=400, dispute_form=form)
    return run_action(
        order_id,
        lambda: acceptance.dispute(
            order_id, current_user.school_id, current_user, form.reason.data
        ),
        "Order {id} disputed. It is not billed while the partnership office looks into it.",
        dispute_form=form,
    )


@bp.route("/orders/disputes")
@roles_required(Role.ADMIN)
def order_disputes():
    """Deliveries schools have disputed, for the partnership office to resolve."""
    return render_template(
        "marketplace/orders/disputes.html",
        disputes=acceptance.open_disputes(),
        action_form=ReasonForm(prefix="resolve"),
        status_text=STATUS_TEXT,
    )


@bp.route("/orders/<int:order_id>/disputes/<outcome>", methods=["POST"])
@roles_required(Role.ADMIN)
def order_dispute_resolve(order_id: int, outcome: str):
    """The office resolves a dispute: accept the delivery (billed) or cancel the order."""
    resolve = {
        "accept": acceptance.resolve_by_accepting,
        "cancel": acceptance.resolve_by_cancelling,
    }.get(outcome)
    form = ReasonForm(prefix="resolve")
    if resolve is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    try:
        order = resolve(order_id, current_user, form.reason.data)
    except DomainError as exc:
        return (
            render_template(
                "marketplace/orders/disputes.html",
                disputes=acceptance.open_disputes(),
                action_form=form,
                status_text=STATUS_TEXT,
                error=exc.message,
            ),
            refusal_status(exc),
        )
    flash(
        f"Order {order.id}: delivery accepted; it will be billed."
        if outcome == "accept"
        else f"Order {order.id} cancelled with no charge; the school is not billed.",
        "success",
    )
    return redirect(url_for("marketplace.order_disputes"))
