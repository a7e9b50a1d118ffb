"""Trust pages: a trust's schools and their approval chains, and how the trust is invoiced."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, TextAreaField
from wtforms.validators import Email, Length, Optional

from app.forms import Required, submit
from app.models import PARTNERSHIP_ROLES, Role
from app.security import roles_required
from app.trusts import services

bp = Blueprint("trusts", __name__)

INVOICING_CHOICES = [
    ("once", "One invoice for the whole trust, with each school’s lines and totals"),
    ("each", "An invoice for each school"),
]


class InvoicingForm(FlaskForm):
    invoicing = RadioField(
        "How should the partnership invoice the trust’s schools?",
        choices=INVOICING_CHOICES,
        validators=[Required("Choose how the trust’s schools are invoiced")],
    )
    finance_email = EmailField(
        "Trust finance email address (optional)",
        description="Where the trust’s one invoice is sent. Without one, the partnership office "
        "sends it by hand.",
        validators=[
            Optional(),
            Email("Enter an email address like finance@trust.org.uk"),
            Length(max=254, message="The email address must be 254 characters or fewer"),
        ],
    )
    address = TextAreaField(
        "Address for the trust’s invoice (optional)",
        description="One line per line, as it should be printed.",
        validators=[
            Optional(),
            Length(max=1000, message="The address must be 1,000 characters or fewer"),
        ],
    )


@bp.route("/trust")
@roles_required(Role.TRUST)
def trust():
    """The signed-in finance lead's own trust."""
    if current_user.trust_id is None:
        abort(404)
    return redirect(url_for("trusts.trust_detail", trust_id=current_user.trust_id))


@bp.route("/trusts")
@roles_required(*PARTNERSHIP_ROLES)
def trusts():
    """Every trust the GIAS import found, with its schools."""
    return render_template("app/trusts/trusts.html", trusts=services.all_trusts())


@bp.route("/trusts/<int:trust_id>", methods=["GET", "POST"])
@roles_required(Role.TRUST, *PARTNERSHIP_ROLES)
def trust_detail(trust_id: int):
    """A trust's schools, each school's approval chain, and how the trust is invoiced."""
    trust = services.get_trust_for_user(trust_id, current_user)
    manage = services.may_manage(current_user, trust)
    form = InvoicingForm(
        data={
            "invoicing": "once" if trust.invoice_once else "each",
            "finance_email": trust.finance_email,
            "address": trust.address,
        }
    )
    outcome = submit(
        form,
        lambda: (
            services.set_invoicing(
                trust_id,
                current_user,
                invoice_once=form.invoicing.data == "once",
                finance_email=form.finance_email.data or "",
                address=form.address.data or "",
            )
            if manage
            else abort(404)
        ),
    )
    if outcome.done:
        flash(
            "The trust is now invoiced once for all its schools."
            if trust.invoice_once
            else "Each of the trust’s schools is now invoiced on its own.",
            "success",
        )
        return redirect(url_for("trusts.trust_detail", trust_id=trust.id))
    return render_template(
        "app/trusts/trust.html", trust=trust, form=form, manage=manage
    ), outcome.status
