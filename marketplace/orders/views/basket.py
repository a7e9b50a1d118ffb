"""The school's basket: adding an offer from its order page, changing and removing lines, and
checking the basket out as orders under one purchase-order number."""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.cache import cached_figures
from app.calendar import term_label
from app.errors import DomainError, refusal_status
from app.forms import ActionForm, field_errors
from app.models import Role
from app.money import format_pence
from app.security import roles_required
from app.time import london_today
from marketplace.blueprint import bp
from marketplace.orders import basket
from marketplace.orders.errors import CheckoutRefused
from marketplace.orders.forms import BasketLineForm, CheckoutForm, OrderForm, QuantityForm
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.rules import needs_approval, plural
from marketplace.orders.savings import membership_change
from marketplace.orders.views.orders import SCHOOL, covers_context, orderable, term_choices


@bp.app_context_processor
def basket_header() -> dict[str, Any]:
    """How many lines the SBM's school basket holds, for the header's "Basket (N)" link."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    if current_user.role is not Role.SBM or current_user.school_id is None:
        return {}
    school_id = current_user.school_id
    count = cached_figures(
        f"basket-lines:{school_id}",
        lambda: basket.line_count(school_id),
        current_app.config["FIGURES_CACHE_SECONDS"],
    )
    return {"basket_count": count}


@bp.route("/offers/<int:offer_id>/basket", methods=["POST"])
@roles_required(Role.SBM)
def basket_add(offer_id: int):
    """Put an offer in the basket from its order page, with the order form's term and quantity."""
    offer, view, today = orderable(offer_id)
    form = BasketLineForm()
    form.term_key.choices = term_choices(view)
    status = 400
    if form.validate_on_submit():
        try:
            line = basket.add_line(
                school_id=current_user.school_id,
                offer_id=offer.id,
                term_key=form.term_key.data,
                quantity=form.quantity.data,
                actor=current_user,
                today=today,
            )
        except DomainError as exc:
            field_errors(form, exc.field, exc.message)
            status = refusal_status(exc)
        else:
            unit = line.offer.service.unit.value
            flash(
                f"{line.offer.service.name} from {line.offer.provider.name} is in your basket: "
                f"{line.quantity} {plural(unit, line.quantity)} for {term_label(line.term_key)}.",
                "success",
            )
            return redirect(url_for("marketplace.basket"))
        # The refusal rolled the session back: load the offer afresh.
        offer, view, today = orderable(offer_id)
    # The order page again, its term and quantity carrying the basket's errors.
    order_form = OrderForm(formdata=request.form)
    order_form.term_key.choices = form.term_key.choices
    for field in form:
        order_form[field.name].errors = list(field.errors)
    order_form.form_errors.extend(form.form_errors)
    return (
        render_template(
            "marketplace/orders/order_new.html",
            form=order_form,
            view=view,
            offer=offer,
            today=today,
            change=membership_change(current_user.school_id, today),
            **covers_context(view),
        ),
        status,
    )


def _show_basket(status: int = 200, forms: dict[int, QuantityForm] | None = None) -> Any:
    today = london_today()
    school_basket = basket.school_basket(current_user.school_id, today)
    forms = forms or {}
    quantity_forms = {
        p.line.id: forms.get(p.line.id)
        or QuantityForm(prefix=f"line-{p.line.id}", formdata=None, quantity=p.line.quantity)
        for p in school_basket.lines
    }
    return (
        render_template(
            "marketplace/orders/basket.html",
            basket=school_basket,
            quantity_forms=quantity_forms,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.route("/basket", endpoint="basket")
@roles_required(Role.SBM)
def basket_page():
    """The school's basket by provider: each line's price at its quantity, or its problem."""
    return _show_basket()


@bp.route("/basket/lines/<int:line_id>/quantity", methods=["POST"])
@roles_required(Role.SBM)
def basket_line_quantity(line_id: int):
    """Change a basket line's quantity."""
    line = basket.get_line_for_school(line_id, current_user.school_id)
    form = QuantityForm(prefix=f"line-{line.id}")
    if form.validate_on_submit():
        try:
            basket.change_quantity(
                line.id, current_user.school_id, quantity=form.quantity.data, actor=current_user
            )
        except DomainError as exc:
            field_errors(form, "quantity", exc.message)
            return _show_basket(refusal_status(exc), {line_id: form})
        flash("Quantity changed: the basket is priced again.", "success")
        return redirect(url_for("marketplace.basket"))
    return _show_basket(400, {line_id: form})


@bp.route("/basket/lines/<int:line_id>/remove", methods=["POST"])
@roles_required(Role.SBM)
def basket_line_remove(line_id: int):
    """Take a line out of the basket."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired or was sent twice: nothing was removed. Try again.", "error")
        return redirect(url_for("marketplace.basket"))
    offer = basket.remove_line(line_id, current_user.school_id, current_user)
    flash(f"{offer.service.name} from {offer.provider.name} removed.", "success")
    return redirect(url_for("marketplace.basket"))


@bp.route("/basket/checkout", methods=["GET", "POST"])
@roles_required(Role.SBM)
def basket_checkout():
    """Check the basket and give one purchase-order number; then every line is ordered."""
    today = london_today()
    form = CheckoutForm()
    status = 200
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            done = basket.checkout(
                current_user.school_id,
                current_user,
                po_number=form.po_number.data,
                fingerprint=form.basket_check.data,
                today=today,
            )
        except CheckoutRefused as exc:
            status = refusal_status(exc)
            problems = exc.problems
            form.form_errors.append(exc.message)
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field, exc.message)
        else:
            count = len(done.orders)
            flash(
                f"{count} order{'s' if count != 1 else ''} placed with purchase-order number "
                f"{done.po_number}.",
                "success",
            )
            return redirect(url_for("marketplace.basket_checkout_done", checkout_id=done.id))
    elif form.errors:
        status = 400
    school_basket = basket.school_basket(current_user.school_id, today)
    # What is shown now is what the school confirms.
    form.basket_check.data = school_basket.fingerprint
    threshold = current_user.school.approval_threshold_pence
    return (
        render_template(
            "marketplace/orders/basket_checkout.html",
            basket=school_basket,
            form=form,
            problems=problems,
            threshold_pence=threshold,
            waits_for_head={
                p.line.id for p in school_basket.lines if needs_approval(p.total_pence, threshold)
            },
        ),
        status,
    )


@bp.route("/basket/checkouts/<int:checkout_id>")
@roles_required(*SCHOOL)
def basket_checkout_done(checkout_id: int):
    """What a checkout placed: its orders, each with its status."""
    done = basket.get_checkout_for_school(checkout_id, current_user.school_id)
    return render_template(
        "marketplace/orders/basket_checkout_done.html",
        checkout=done,
        status_text=STATUS_TEXT,
        total=format_pence(sum(order.total_pence for order in done.orders)),
    )
