"""Dashboards: figures worked out by hand on a small world, who sees what, CSV = table, no N+1."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.calendar import AcademicYear, Term
from app.dashboards import tables as reports
from app.extensions import db
from app.models import Grant, Membership, MembershipTerm, Role
from app.time import london_today, utcnow
from marketplace.billing.models import Invoice, InvoiceKind, InvoiceStatus
from marketplace.offers.models import OfferStatus
from marketplace.orders import decisions, drafting
from marketplace.orders.models import OrderStatus
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from procurement.rounds.models import BuyingRound, RoundStatus
from procurement.tenders import evaluation as evaluation_service
from procurement.tenders import services as tenders
from tests import factories
from tests.marketplace.conftest import draft
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)


def year_of(order) -> AcademicYear:  # type: ignore[no-untyped-def]
    return Term.parse(order.term_key).academic_year


def booked(market, quantity: int = 5, **kwargs):  # type: ignore[no-untyped-def]
    """An order from school A, submitted, approved where needed and confirmed by provider A."""
    order = draft(market, quantity=quantity, **kwargs)
    drafting.submit(order.id, order.school_id, market.sbm_a)
    if order.status is OrderStatus.SUBMITTED:
        decisions.approve(order.id, order.school_id, market.head_a)
    return decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)


@pytest.fixture
def year(market) -> AcademicYear:  # type: ignore[no-untyped-def]
    """The year orders go into, with both schools members: A 300 pupils, B 1,000 (capped)."""
    from tests.marketplace.conftest import term_key

    year = Term.parse(term_key()).academic_year
    term = db.session.scalar(
        sa.select(MembershipTerm).where(MembershipTerm.start_year == year.start_year)
    ) or factories.make_membership_term(year.start_year)
    term.rate_per_pupil_pence, term.default_cap_pence, term.council_match_bp = (
        1_400,
        1_250_000,
        5_000,
    )
    for school, pupils in ((market.school_a, 300), (market.school_b, 1_000)):
        membership = db.session.scalar(
            sa.select(Membership).where(
                Membership.term_id == term.id, Membership.school_id == school.id
            )
        ) or factories.make_membership(school, term)
        membership.pupils_counted, membership.cap_pence = pupils, None
    db.session.commit()
    return year


def test_income_by_stream_adds_capped_subscriptions_the_match_booked_orders_and_grants(
    market, year
):
    booked(market, quantity=5)  # 5 × £250 = £1,250
    draft(market, quantity=3)  # a draft is not income
    db.session.add_all(
        [
            Grant(source="DfE", amount_pence=1_000_000, received_on=year.starts_on),
            Grant(source="Council", amount_pence=250_000, received_on=year.ends_on),
            Grant(source="DfE", amount_pence=999_900, received_on=year.ends_on + timedelta(1)),
        ]
    )
    db.session.commit()

    table = reports.income_by_stream([year])

    # 300 × £14 = £4,200; 1,000 × £14 = £14,000 capped at £12,500. Match: half of each.
    assert table.rows == ((year.label, 1_670_000, 125_000, 835_000, 1_250_000, 3_880_000),)


def test_a_cancelled_order_counts_only_the_charge_kept(market, year):
    market.offer_a.cancellation_charge_bp = 1_000
    db.session.commit()
    order = booked(market, quantity=5)
    decisions.cancel(
        order.id,
        market.school_a.id,
        market.sbm_a,
        today=Term.parse(order.term_key).starts_on - timedelta(30),
    )
    assert reports.income_by_stream([year]).rows[0][2] == 12_500
    assert reports.spend_by_category(year).rows[0][1] == 12_500


def test_spend_by_category_and_by_service_for_one_school(market, year):
    booked(market, quantity=5)
    booked(market, quantity=2, school_id=market.school_b.id, actor=market.sbm_b)
    category = market.offer_a.service.category.label
    assert reports.spend_by_category(year).rows == ((category, 175_000, 2),)
    assert reports.spend_by_category(year, market.school_b.id).rows == ((category, 50_000, 1),)
    assert reports.spend_by_service(year, market.school_a.id).rows == (
        (market.offer_a.service.name, 125_000, 1),
    )
    assert (
        reports.spend_by_service(year.__class__(year.start_year - 1), market.school_a.id).rows == ()
    )


def test_engagement_counts_member_schools_that_sent_an_order_or_pledged(market, year):
    draft(market)  # a draft does not count
    assert reports.engagement(year).rows[2][1:] == (0, 0.0)
    booked(market)
    table = reports.engagement(year)
    assert table.extra["members"] == 2
    assert table.rows == (
        ("Ordered a service", 1, 50.0),
        ("Pledged into a buying round", 0, 0.0),
        ("Ordered or pledged", 1, 50.0),
    )


def test_capacity_use_per_provider_and_term(market, year):
    order = booked(market, quantity=20)
    table = reports.capacity_use(year, market.provider_a.id)
    (row,) = table.rows
    terms = [t.key for t in year.terms()]
    at = 1 + 2 * terms.index(order.term_key)
    assert row[0] == market.provider_a.name
    assert (row[at], row[at + 1]) == (20, 100)
    offered = sum(row[2:8:2])
    assert row[-1] == round(100 * 20 / offered, 1)


def _contract(market, ends_on: date, status=ContractStatus.ACTIVE, source=ContractSource.ROUND):  # type: ignore[no-untyped-def]
    contract = Contract(
        reference=f"C-{ends_on.isoformat()}-{status.value}",
        title="Counselling",
        provider_id=market.provider_a.id,
        service_id=market.offer_a.service_id,
        source=source,
        status=status,
        starts_on=ends_on - timedelta(days=300),
        ends_on=ends_on,
        tiers=[ContractTier(min_quantity=0, unit_price_pence=20_000)],
    )
    db.session.add(contract)
    db.session.flush()
    return contract


def test_contracts_ending_in_the_next_twelve_months(market):
    today = london_today()
    soon = _contract(market, today + timedelta(days=180))
    _contract(market, today + timedelta(days=400))  # later
    _contract(market, today - timedelta(days=1))  # over
    _contract(market, today + timedelta(days=30), status=ContractStatus.TERMINATED)
    db.session.add(ContractSchool(contract_id=soon.id, school_id=market.school_a.id))
    db.session.commit()
    table = reports.expiring_contracts(today)
    assert [row[0] for row in table.rows] == [soon.reference]
    assert table.rows[0][3:] == (soon.ends_on, 1)


def test_round_savings_per_round_and_per_school(market, year):
    buying_round = BuyingRound(
        title="Counselling pool",
        status=RoundStatus.AWARDED,
        term_keys=[year.terms()[0].key],
        pledge_deadline_at=utcnow(),
        max_share_percent=100,
        min_providers=1,
        single_source=False,
    )
    db.session.add(buying_round)
    db.session.flush()
    contract = _contract(market, year.terms()[0].ends_on)
    contract.starts_on = year.starts_on
    contract.source_id = buying_round.id
    db.session.add_all(
        [
            ContractSchool(
                contract_id=contract.id, school_id=market.school_a.id, allocated_quantity=10,
                charge_pence=230_000, standalone_pence=250_000,
            ),
            ContractSchool(
                contract_id=contract.id, school_id=market.school_b.id, allocated_quantity=30,
                charge_pence=690_000, standalone_pence=720_000,
            ),
        ]
    )  # fmt: skip
    db.session.commit()

    assert reports.round_savings(year).rows == (("Counselling pool", 2, 970_000, 920_000, 50_000),)
    assert reports.round_savings(year, market.school_a.id).rows == (
        ("Counselling pool", 1, 250_000, 230_000, 20_000),
    )
    assert reports.school_savings(year).rows == (
        (market.school_b.name, 720_000, 690_000, 30_000),
        (market.school_a.name, 250_000, 230_000, 20_000),
    )


def test_a_lot_shared_by_two_suppliers_counts_its_volume_once_at_the_dearer_awarded_price(world):
    # A cheaper offer that is not on sale is no catalogue price a school could pay alone.
    factories.make_offer(
        factories.make_provider("Draft Offers Ltd"),
        world.service,
        tiers=[(0, 10_000)],
        status=OfferStatus.DRAFT,
    )
    tw = make_tender(world, max_suppliers=2)
    bid_a, bid_b = submit_both_bids(tw)  # A: £219.83 a day from 300 days; B: £246.89
    open_bids(tw)
    evaluate(tw, {bid_a.id: (50, 50), bid_b.id: (50, 50)})
    awarded_at = AFTER_DEADLINE + timedelta(days=2)
    evaluation_service.decide_award(tw.tender.id, world.committee, now=awarded_at)
    contracts = tenders.enter_into_contracts(
        tw.tender.id, world.committee, now=awarded_at + timedelta(days=20)
    )
    assert len(contracts) == 2  # one per winner, both for the lot's 400 days

    # 400 days at offer A's £250 (the cheapest live single-school price) against 400 days at
    # provider B's £246.89: the lot's volume counted once, at the dearer winner's price.
    assert reports.tender_savings(AcademicYear(2026)).rows == (
        (
            f"{tw.tender.title}, lot 1: {tw.lot.title}",
            400,
            2,
            400 * 25_000,
            400 * 24_689,
            400 * (25_000 - 24_689),
        ),
    )
    assert reports.tender_savings(AcademicYear(2029)).rows == ()  # the contracts have ended


def test_invoices_due_overdue_first_and_paid_ones_left_out(market):
    today = london_today()
    common = {
        "school_id": market.school_a.id,
        "kind": InvoiceKind.MEMBERSHIP,
        "title": "Membership",
    }
    db.session.add_all(
        [
            Invoice(**common, period="a", billing_key="k1", status=InvoiceStatus.OPEN,
                    net_pence=10_000, total_pence=10_000, credited_pence=2_000,
                    due_on=today - timedelta(1), number="INV-1"),
            Invoice(**common, period="b", billing_key="k2", status=InvoiceStatus.OPEN,
                    net_pence=5_000, total_pence=5_000, due_on=today + timedelta(9),
                    number="INV-2"),
            Invoice(**common, period="c", billing_key="k3", status=InvoiceStatus.PAID,
                    net_pence=7_000, total_pence=7_000, amount_paid_pence=7_000,
                    due_on=today),
        ]
    )  # fmt: skip
    db.session.commit()
    table = reports.invoices_due(market.school_a.id, today)
    assert [(r[0], r[3], r[4]) for r in table.rows] == [
        ("INV-1", 8_000, "Overdue"),
        ("INV-2", 5_000, "Due"),
    ]
    assert reports.invoices_due(market.school_b.id, today).rows == ()


def test_a_providers_orders_by_status_and_what_it_is_owed(market, year):
    booked(market, quantity=5)
    delivered = booked(market, quantity=4)
    decisions.deliver(delivered.id, market.provider_a.id, market.provider_user_a)
    draft(market, quantity=2)  # the school's own until sent
    table = reports.orders_by_status(market.provider_a.id, year)
    assert table.rows == (("Confirmed", 1, 125_000), ("Delivered", 1, 100_000))
    (owed,) = reports.owed(market.provider_a.id).rows
    assert owed[1:] == (1, 100_000, 5_000, 95_000)  # less the 5% fee
    assert reports.orders_by_status(market.provider_b.id, year).rows == ()


def test_the_csv_holds_the_same_figures_as_the_table(market, year):
    booked(market, quantity=5)
    table = reports.income_by_stream([year])
    rows = list(csv.reader(io.StringIO(table.csv_text())))
    assert rows[0] == [
        "Academic year", "Subscriptions (£)", "Traded services (£)", "Council match (£)",
        "Grants (£)", "Total (£)",
    ]  # fmt: skip
    assert rows[1] == [year.label, "16700.00", "1250.00", "8350.00", "0.00", "26300.00"]


# Pages ---------------------------------------------------------------------------------------


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


def _statements(app, path: str, client) -> int:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
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


def test_the_years_invoices_billed_paid_still_to_pay_and_overdue(market, year):
    today = london_today()
    y = year.start_year
    common = {"school_id": market.school_a.id, "title": "Fees"}
    db.session.add_all(
        [
            Invoice(**common, kind=InvoiceKind.MEMBERSHIP, period=year.label, billing_key="m1",
                    status=InvoiceStatus.OPEN, net_pence=10_000, total_pence=10_000,
                    credited_pence=2_000, amount_paid_pence=1_000,
                    due_on=today - timedelta(1)),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-autumn", billing_key="o1",
                    status=InvoiceStatus.PAID, net_pence=5_000, vat_pence=1_000, total_pence=6_000,
                    amount_paid_pence=6_000, due_on=today),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-spring", billing_key="o2",
                    status=InvoiceStatus.OPEN, net_pence=3_000, total_pence=3_000,
                    due_on=today + timedelta(30)),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-summer", billing_key="o3",
                    status=InvoiceStatus.DRAFT, net_pence=9_000, total_pence=9_000),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-summer", billing_key="o4",
                    status=InvoiceStatus.VOID, net_pence=9_000, total_pence=9_000),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y + 1}-autumn", billing_key="o5",
                    status=InvoiceStatus.OPEN, net_pence=7_000, total_pence=7_000),
        ]
    )  # fmt: skip
    db.session.commit()
    assert reports.billing_summary(year, today).rows == (
        ("Membership", 1, 8_000, 1_000, 7_000, 7_000),
        ("Traded service", 2, 9_000, 6_000, 3_000, 0),
    )
