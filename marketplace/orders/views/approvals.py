"""A school's approval chain, set by its head (or its trust, or the partnership admin), and the
orders of a trust's schools for its finance lead."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.extensions import paginate
from app.forms import field_errors
from app.models import Role
from app.security import roles_required
from marketplace.blueprint import bp
from marketplace.orders import access, approvals
from marketplace.orders.errors import InvalidApprovalChain
from marketplace.orders.forms import ApprovalChainForm
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import OrderStatus
from marketplace.orders.views.orders import _status_filter

CHAIN_SETTERS = (Role.HEAD, Role.TRUST, Role.ADMIN)


@bp.route("/school/approvals", endpoint="my_school_approvals")
@roles_required(Role.HEAD)
def my_school_approvals():
    """The head's own school's approval chain."""
    return redirect(url_for("marketplace.school_approvals", school_id=current_user.school_id))


@bp.route("/schools/<int:school_id>/approvals", methods=["GET", "POST"])
@roles_required(*CHAIN_SETTERS)
def school_approvals(school_id: int):
    """Set who must approve the school's orders, by amount: no one, the head, then a second
    approver."""
    school = approvals.get_school_for_chain(school_id, current_user)
    form = ApprovalChainForm(
        data={
            "threshold": school.approval_threshold_pence // 100,
            "second": (
                None
                if school.second_approval_pence is None
                else school.second_approval_pence // 100
            ),
        }
    )
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                approvals.set_chain(
                    school.id,
                    current_user,
                    threshold_pounds=form.threshold.data,
                    second_pounds=form.second.data,
                )
            except InvalidApprovalChain as exc:
                for field, message in exc.problems.items():
                    field_errors(form, field, message)
            except DomainError as exc:
                status = refusal_status(exc)
                field_errors(form, exc.field, exc.message)
            else:
                flash(f"The approval chain of {school.name} is saved.", "success")
                return redirect(url_for("marketplace.school_approvals", school_id=school.id))
    return render_template(
        "marketplace/orders/school_approvals.html", school=school, form=form
    ), status


@bp.route("/trust/orders", endpoint="trust_orders")
@roles_required(Role.TRUST)
def trust_orders():
    """Every order the trust's schools have submitted, newest first, filtered by status."""
    if current_user.trust_id is None:
        abort(404)
    status = _status_filter()
    page = paginate(access.trust_orders(current_user.trust_id, status), per_page=25)
    return render_template(
        "marketplace/orders/trust_orders.html",
        page=page,
        status=status,
        statuses=[s for s in OrderStatus if s is not OrderStatus.DRAFT],
        status_text=STATUS_TEXT,
    )
