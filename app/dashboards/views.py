"""Dashboards: the partnership's, a school's and a provider's, with a CSV of every table.

`/dashboard` shows the signed-in person's own: the partnership's to the office and the
committee, their school's to a business manager or head, their provider's to a provider. The
office and the committee can open any school's or provider's too; everyone else gets a 404 for
anything but their own. `?year=2025` picks the academic year (1 September 2025 – 31 August
2026).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.cache import cached_figures, cached_page
from app.calendar import AcademicYear
from app.dashboards import presenters
from app.dashboards.billing import billing_summary, invoices_due, owed
from app.dashboards.members import deadline_sources, deadlines, engagement, entitlements
from app.dashboards.savings import round_savings, school_savings, tender_savings
from app.dashboards.spend import (
    income_by_stream,
    orders_by_status,
    spend_by_category,
    spend_by_service,
)
from app.dashboards.supply import capacity_use, expiring_contracts, provider_contracts
from app.dashboards.table import Table, years_with_membership
from app.dashboards.temporary_staff import (
    service_measures,
    spend_by_agency,
    spend_by_role,
    spend_by_school,
)
from app.extensions import db
from app.models import Provider, Role, School
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.orders.acceptance import open_disputes

bp = Blueprint("dashboards", __name__)
bp.add_app_template_global(presenters.table_body, "table_body")
OFFICE = (Role.ADMIN, Role.COMMITTEE)


def _year() -> tuple[AcademicYear, list[AcademicYear], str | None]:
    """The year asked for (?year=2025 or ?year=2025/26), this year by default."""
    this_year = AcademicYear.containing(london_today())
    years = years_with_membership() or [this_year]
    if this_year not in years:
        years.insert(0, this_year)
    wanted = request.args.get("year", "").strip()
    if not wanted:
        return this_year, years, None
    try:
        year = AcademicYear.parse(wanted[:20])
    except ValueError as exc:
        return this_year, years, f"{exc}: choose one from the list."
    if year not in years:
        return (
            this_year,
            years,
            f"There are no figures for {year.label}: choose a year from the list.",
        )
    return year, years, None


def _partnership_tables(year: AcademicYear) -> dict[str, Callable[[], Table]]:
    today = london_today()
    return {
        "income-by-stream": lambda: income_by_stream(years_with_membership()),
        "spend-by-category": lambda: spend_by_category(year),
        "round-savings": lambda: round_savings(year),
        "tender-savings": lambda: tender_savings(year),
        "school-savings": lambda: school_savings(year),
        "billing": lambda: billing_summary(year, today),
        "engagement": lambda: engagement(year),
        "capacity-use": lambda: capacity_use(year),
        "expiring-contracts": lambda: expiring_contracts(today),
        "supply-measures": lambda: service_measures(year),
        "supply-spend-by-school": lambda: spend_by_school(year),
        "supply-spend-by-role": lambda: spend_by_role(year),
        "supply-spend-by-agency": lambda: spend_by_agency(year),
    }


def _school_tables(school_id: int, year: AcademicYear) -> dict[str, Callable[[], Table]]:
    today = london_today()
    return {
        "spend-by-service": lambda: spend_by_service(year, school_id),
        "round-savings": lambda: round_savings(year, school_id),
        "invoices-due": lambda: invoices_due(school_id, today),
        "entitlements": lambda: entitlements(school_id, year),
        "deadlines": lambda: deadlines(
            school_id,
            utcnow(),
            today,
            # What they come from is data only (kept until the next write); which are still to
            # come is chosen afresh on every request.
            cached_figures(
                f"deadline-sources:{school_id}",
                lambda: deadline_sources(school_id),
                current_app.config["FIGURES_CACHE_SECONDS"],
            ),
        ),
        "supply-measures": lambda: service_measures(year, school_id),
        "supply-spend-by-role": lambda: spend_by_role(year, school_id),
    }


def _provider_tables(provider_id: int, year: AcademicYear) -> dict[str, Callable[[], Table]]:
    return {
        "orders-by-status": lambda: orders_by_status(provider_id, year),
        "capacity-use": lambda: capacity_use(year, provider_id),
        "contracts": lambda: provider_contracts(provider_id),
        "owed": lambda: owed(provider_id),
    }


# Tables that depend on the time of day as well as the data: never cached whole (the data the
# deadlines are chosen from is: _school_tables).
LIVE_TABLES = frozenset({"deadlines"})


def _build(
    tables: dict[str, Callable[[], Table]], key: str, only: str | None = None
) -> dict[str, Table]:
    """The tables (or one of them), the data-only ones from the figures cache (app.cache):
    recomputed after any write, so a dashboard is never staler than the last commit."""
    names = [only] if only is not None else list(tables)
    cached = [name for name in names if name not in LIVE_TABLES]
    stored = cached_figures(
        f"{key}:{london_today().isoformat()}:{','.join(cached)}",
        lambda: {name: tables[name]() for name in cached},
        current_app.config["FIGURES_CACHE_SECONDS"],
    )
    return {name: stored[name] if name in stored else tables[name]() for name in names}


def _csv(
    tables: dict[str, Callable[[], Table]],
    key: str,
    name: str,
    year: AcademicYear,
    problem: str | None = None,
) -> Response:
    if name not in tables:
        abort(404)
    if problem:
        return Response(problem + "\n", status=400, mimetype="text/plain")
    table = _build(tables, key, only=name)[name]
    return Response(
        table.csv_text(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{year.start_year}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


def _school(school_id: int) -> School:
    """A school the signed-in person may see figures of: any, for the partnership office; one
    of the trust's schools, for its finance lead (404 for any other)."""
    school = db.session.get(School, school_id)
    if school is None:
        abort(404)
    if current_user.role is Role.TRUST and (
        current_user.trust_id is None or school.trust_id != current_user.trust_id
    ):
        abort(404)
    return school


def _provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        abort(404)
    return provider


@bp.route("/dashboard", endpoint="dashboard")
@roles_required(*Role)
@cached_page
def dashboard():
    """The signed-in person's own dashboard."""
    if current_user.role in OFFICE:
        return _render_partnership()
    if current_user.role is Role.PROVIDER:
        return _render_provider(_provider(current_user.provider_id))
    if current_user.role is Role.TRUST:
        return render_template("app/dashboards/trust.html", trust=current_user.trust)
    return _render_school(_school(current_user.school_id))


@bp.route("/dashboard/<name>.csv", endpoint="dashboard_csv")
@roles_required(*Role)
def dashboard_csv(name: str):
    year, _, problem = _year()
    if current_user.role in OFFICE:
        return _csv(_partnership_tables(year), _key("partnership", 0, year), name, year, problem)
    if current_user.role is Role.PROVIDER:
        provider_id = current_user.provider_id
        key = _key("provider", provider_id, year)
        return _csv(_provider_tables(provider_id, year), key, name, year, problem)
    if current_user.role is Role.TRUST:
        abort(404)  # a trust's figures are each school's (its dashboard links them)
    school_id = current_user.school_id
    return _csv(
        _school_tables(school_id, year), _key("school", school_id, year), name, year, problem
    )


@bp.route("/dashboard/schools/<int:school_id>", endpoint="school_dashboard")
@roles_required(*OFFICE, Role.TRUST)
def school_dashboard(school_id: int):
    return _render_school(_school(school_id))


@bp.route("/dashboard/schools/<int:school_id>/<name>.csv", endpoint="school_dashboard_csv")
@roles_required(*OFFICE, Role.TRUST)
def school_dashboard_csv(school_id: int, name: str):
    year, _, problem = _year()
    school_id = _school(school_id).id
    return _csv(
        _school_tables(school_id, year), _key("school", school_id, year), name, year, problem
    )


@bp.route("/dashboard/providers/<int:provider_id>", endpoint="provider_dashboard")
@roles_required(*OFFICE)
def provider_dashboard(provider_id: int):
    return _render_provider(_provider(provider_id))


@bp.route("/dashboard/providers/<int:provider_id>/<name>.csv", endpoint="provider_dashboard_csv")
@roles_required(*OFFICE)
def provider_dashboard_csv(provider_id: int, name: str):
    year, _, problem = _year()
    provider_id = _provider(provider_id).id
    key = _key("provider", provider_id, year)
    return _csv(_provider_tables(provider_id, year), key, name, year, problem)


def _key(kind: str, owner_id: int, year: AcademicYear) -> str:
    return f"dashboard:{kind}:{owner_id}:{year.start_year}"


def _csv_urls(endpoint: str, names: list[str], year: AcademicYear, **ids: int) -> dict[str, str]:
    values: dict[str, Any] = {"year": year.start_year, **ids}
    return {name: url_for(endpoint, name=name, **values) for name in names}


def _render_partnership():
    year, years, problem = _year()
    tables = _build(_partnership_tables(year), _key("partnership", 0, year))
    return render_template(
        "app/dashboards/partnership.html",
        year=year,
        years=years,
        problem=problem,
        tables=tables,
        headline=presenters.partnership_headline(tables, year),
        charts=presenters.partnership_charts(tables),
        csv=_csv_urls("dashboards.dashboard_csv", list(tables), year),
        schools=db.session.execute(
            db.select(School.id, School.name)
            .where(School.is_member.is_(True))
            .order_by(School.name)
        ).all(),
        providers=db.session.execute(
            db.select(Provider.id, Provider.name).order_by(Provider.name)
        ).all(),
        disputes=len(open_disputes()) if current_user.role is Role.ADMIN else 0,
    ), (400 if problem else 200)


def _render_school(school: School):
    year, years, problem = _year()
    tables = _build(_school_tables(school.id, year), _key("school", school.id, year))
    own = current_user.role not in (*OFFICE, Role.TRUST)
    endpoint = "dashboards.dashboard_csv" if own else "dashboards.school_dashboard_csv"
    ids = {} if own else {"school_id": school.id}
    return render_template(
        "app/dashboards/school.html",
        school=school,
        year=year,
        years=years,
        problem=problem,
        tables=tables,
        headline=presenters.school_headline(tables),
        charts=presenters.school_charts(tables),
        csv=_csv_urls(endpoint, list(tables), year, **ids),
        own=own,
    ), (400 if problem else 200)


def _render_provider(provider: Provider):
    year, years, problem = _year()
    tables = _build(_provider_tables(provider.id, year), _key("provider", provider.id, year))
    own = current_user.role not in OFFICE
    endpoint = "dashboards.dashboard_csv" if own else "dashboards.provider_dashboard_csv"
    ids = {} if own else {"provider_id": provider.id}
    return render_template(
        "app/dashboards/provider.html",
        provider=provider,
        year=year,
        years=years,
        problem=problem,
        tables=tables,
        headline=presenters.provider_headline(tables, year),
        charts=presenters.provider_charts(tables, year),
        csv=_csv_urls(endpoint, list(tables), year, **ids),
        own=own,
    ), (400 if problem else 200)


@bp.route("/dashboard/schools", endpoint="school_dashboard_pick")
@roles_required(*OFFICE)
def school_dashboard_pick():
    """The partnership dashboard's "a school's dashboard" form (a GET, without JavaScript)."""
    school_id = request.args.get("school_id", type=int)
    if school_id is None:
        abort(404)
    year = request.args.get("year", "")
    return redirect(url_for("dashboards.school_dashboard", school_id=school_id, year=year or None))


@bp.route("/dashboard/providers", endpoint="provider_dashboard_pick")
@roles_required(*OFFICE)
def provider_dashboard_pick():
    provider_id = request.args.get("provider_id", type=int)
    if provider_id is None:
        abort(404)
    year = request.args.get("year", "")
    return redirect(
        url_for("dashboards.provider_dashboard", provider_id=provider_id, year=year or None)
    )
