"""The dashboard pages: who sees what, the year filter, CSV = page, no N+1."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.calendar import Term
from app.extensions import db
from app.models import MembershipTerm, Role
from tests import factories
from tests.app.dashboards.support import booked


def test_each_role_gets_its_own_dashboard(client, login, market, year):
    booked(market, quantity=5)
    for user, heading in [
        (market.committee, "Partnership dashboard"),
        (market.admin, "Partnership dashboard"),
        (market.sbm_a, "School dashboard"),
        (market.head_a, "School dashboard"),
        (market.provider_user_a, "Provider dashboard"),
    ]:
        login(user)
        page = client.get("/dashboard").get_data(as_text=True)
        assert heading in page, user.email
    login(market.sbm_b)
    page = client.get("/dashboard").get_data(as_text=True)
    assert market.school_b.name in page and market.school_a.name not in page


@pytest.mark.parametrize("who", ["sbm_a", "head_a", "provider_user_a"])
def test_only_the_office_opens_other_organisations_dashboards(client, login, market, who):
    login(getattr(market, who))
    for path in (
        f"/dashboard/schools/{market.school_b.id}",
        f"/dashboard/providers/{market.provider_b.id}",
        f"/dashboard/schools/{market.school_b.id}/spend-by-service.csv",
    ):
        assert client.get(path).status_code == 403, path


def test_the_office_opens_any_school_or_provider_and_unknown_ones_are_404(
    client, login, market, year
):
    login(market.committee)
    page = client.get(f"/dashboard/schools/{market.school_b.id}").get_data(as_text=True)
    assert "School dashboard" in page and market.school_b.name in page
    assert client.get(f"/dashboard/providers/{market.provider_b.id}").status_code == 200
    assert client.get("/dashboard/schools/999999").status_code == 404
    assert client.get("/dashboard/providers/999999/owed.csv").status_code == 404
    assert client.get("/dashboard/no-such-table.csv").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, market):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/sign-in" in response.location


def test_a_bad_year_is_explained_and_this_years_figures_shown(client, login, market, year):
    login(market.committee)
    response = client.get("/dashboard?year=nonsense")
    assert response.status_code == 400
    assert "is not an academic year like 2026/27" in response.get_data(as_text=True)
    response = client.get("/dashboard?year=2001")
    assert response.status_code == 400
    assert "There are no figures for 2001/02" in response.get_data(as_text=True)
    assert client.get(f"/dashboard?year={year.start_year}").status_code == 200


def test_the_school_csv_download_matches_the_page(client, login, market, year):
    booked(market, quantity=5)
    login(market.sbm_a)
    page = client.get(f"/dashboard?year={year.start_year}").get_data(as_text=True)
    assert "£1,250.00" in page
    response = client.get(f"/dashboard/spend-by-service.csv?year={year.start_year}")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["Service", "Spend (£)", "Orders"],
        [market.offer_a.service.name, "1250.00", "1"],
    ]


def _statements(app, path: str, client) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement)

    db.session.expire_all()  # the signed-in user is loaded afresh either way
    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_number_of_queries_does_not_grow_with_schools_or_orders(
    app, client, login, market, year
):
    booked(market, quantity=5)
    login(market.committee)
    client.get("/dashboard")  # warm: the session's user and any first-time loads
    few = _statements(app, "/dashboard", client)
    term = db.session.scalar(sa.select(MembershipTerm).where(
        MembershipTerm.start_year == year.start_year))  # fmt: skip
    for n in range(12):
        school = factories.make_school(f"Extra school {n}")
        factories.make_membership(school, term, pupils=200 + n)
        sbm = factories.make_user(Role.SBM, school=school)
        db.session.commit()
        booked(market, quantity=1, school_id=school.id, actor=sbm)
    many = _statements(app, "/dashboard", client)
    assert many == few


def test_the_partnership_dashboard_opens_a_chosen_school_or_provider(client, login, market, year):
    login(market.committee)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'name="school_id"' in page and market.school_b.name in page
    response = client.get(
        f"/dashboard/schools?school_id={market.school_b.id}&year={year.start_year}"
    )
    assert response.status_code == 302
    assert response.location.endswith(
        f"/dashboard/schools/{market.school_b.id}?year={year.start_year}"
    )
    response = client.get(f"/dashboard/providers?provider_id={market.provider_b.id}")
    assert response.location.endswith(f"/dashboard/providers/{market.provider_b.id}")
    assert client.get("/dashboard/schools?school_id=").status_code == 404


def test_the_provider_dashboard_charts_capacity_used_per_term(client, login, market, year):
    order = booked(market, quantity=20)
    login(market.provider_user_a)
    page = client.get(f"/dashboard?year={year.start_year}").get_data(as_text=True)
    assert "Capacity used per term" in page
    label = Term.parse(order.term_key).label
    assert f"Highest: {label}, 20.0%" in page  # 20 of the offer’s 100 units that term


def test_a_csv_for_a_bad_year_is_refused_with_the_reason(client, login, market, year):
    login(market.sbm_a)
    response = client.get("/dashboard/spend-by-service.csv?year=20x6")
    assert response.status_code == 400
    assert "is not an academic year like 2026/27" in response.get_data(as_text=True)
