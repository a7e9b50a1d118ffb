"""The school's core-offer entitlements: included, used and left this year."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.calendar import AcademicYear
from app.errors import DomainError, refusal_status
from app.extensions import db
from app.forms import Required, WholeNumberField, field_errors
from app.models import MembershipTerm, Role
from app.security import roles_required
from app.time import london_today
from marketplace.blueprint import bp
from marketplace.entitlements import services as entitlements


@bp.route("/entitlements", endpoint="entitlements")
@roles_required(Role.SBM, Role.HEAD)
def entitlements_page():
    """What the school's membership includes, how much is used and what is left."""
    this_year = AcademicYear.containing(london_today())
    year = this_year
    problem = None
    if request.args.get("year"):
        try:
            year = AcademicYear.parse(request.args["year"])
        except ValueError as exc:
            problem = str(exc)
    lines = entitlements.entitlements_for_school(current_user.school_id, year.start_year)
    return (
        render_template(
            "marketplace/entitlements/entitlements.html",
            year=year,
            years=[AcademicYear(this_year.start_year - 1), this_year],
            lines=lines,
            school=current_user.school,
            problem=problem,
        ),
        400 if problem else 200,
    )


def _settings_form(services: list[Any], included: dict[int, int]) -> FlaskForm:
    """A form with one whole-number field per core service."""

    class SettingsForm(FlaskForm):
        pass

    for service in services:
        setattr(
            SettingsForm,
            f"service_{service.id}",
            WholeNumberField(
                f"{service.name} (per {service.unit.value})",
                default=included.get(service.id, 0),
                validators=[Required("Enter a number, 0 if none is included")],
            ),
        )
    return SettingsForm()


@bp.route("/entitlements/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def entitlement_settings():
    """The partnership office sets what each year's membership includes."""
    terms = list(
        db.session.scalars(sa.select(MembershipTerm).order_by(MembershipTerm.start_year.desc()))
    )
    wanted = request.args.get("year", type=int)
    term = next((t for t in terms if t.start_year == wanted), None)
    if term is None:
        this_year = AcademicYear.containing(london_today()).start_year
        term = next((t for t in terms if t.start_year == this_year), terms[0] if terms else None)
    services = entitlements.core_services()
    form = _settings_form(services, entitlements.included_for_term(term.id) if term else {})
    status = 200
    if term is not None and form.validate_on_submit():
        try:
            changed = entitlements.set_included(
                term.id,
                {s.id: getattr(form, f"service_{s.id}").data for s in services},
                current_user,
            )
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field, exc.message)
        else:
            flash(
                f"Membership for {term.label} saved: {changed} "
                f"entitlement{'s' if changed != 1 else ''} changed.",
                "success",
            )
            return redirect(url_for("marketplace.entitlement_settings", year=term.start_year))
    elif form.errors:
        status = 400
    return (
        render_template(
            "marketplace/entitlements/entitlement_settings.html",
            form=form,
            term=term,
            terms=terms,
            services=services,
        ),
        status,
    )
