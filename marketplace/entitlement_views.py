"""The school's core-offer entitlements: included, used and left this year."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from app.calendar import AcademicYear
from app.models import Role
from app.security import roles_required
from marketplace import entitlements
from marketplace.scoping import london_today
from marketplace.views import bp


@bp.route("/entitlements", endpoint="entitlements")
@roles_required(Role.SBM, Role.HEAD)
def entitlements_page():  # type: ignore[no-untyped-def]
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
            "marketplace/entitlements.html",
            year=year,
            years=[AcademicYear(this_year.start_year - 1), this_year],
            lines=lines,
            school=current_user.school,
            problem=problem,
        ),
        400 if problem else 200,
    )
