"""Core-offer entitlements: £0 until used up, then the traded price; included/used/left."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import MembershipTerm
from marketplace.entitlements import services as entitlements
from marketplace.entitlements.models import Entitlement
from marketplace.orders import decisions, drafting
from marketplace.orders.errors import PriceChanged
from tests import factories
from tests.marketplace.conftest import draft
from tests.marketplace.html import banners, error_summary, row_cells


@pytest.fixture
def core(market):
    """Two link-partner visits included in this year's membership; £450 a visit after that."""
    term = db.session.scalar(
        sa.select(MembershipTerm).where(
            MembershipTerm.start_year == factories.this_year().start_year
        )
    )
    db.session.add(
        Entitlement(term_id=term.id, service_id=market.core_service.id, included_quantity=2)
    )
    offer = factories.make_offer(market.provider_a, market.core_service, tiers=[(0, 45_000)])
    db.session.commit()
    return offer


def year() -> int:
    return factories.this_year().start_year


def test_a_core_service_is_free_until_the_entitlement_is_used_then_traded_price(market, core):
    first = draft(market, quantity=1, offer_id=core.id)
    assert (first.entitled_quantity, first.total_pence) == (1, 0)
    drafting.submit(first.id, market.school_a.id, market.sbm_a)

    second = draft(market, quantity=2, offer_id=core.id)
    assert (second.entitled_quantity, second.total_pence) == (1, 45_000)
    drafting.submit(second.id, market.school_a.id, market.sbm_a)

    third = draft(market, quantity=1, offer_id=core.id)
    assert (third.entitled_quantity, third.total_pence) == (0, 45_000)
    assert entitlements.entitlement_left(market.school_a.id, market.core_service.id, year()) == 0


def test_cancelling_gives_the_entitled_units_back(market, core):
    order = draft(market, quantity=2, offer_id=core.id)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert entitlements.entitlement_left(market.school_a.id, market.core_service.id, year()) == 0
    decisions.cancel(order.id, market.school_a.id, market.sbm_a)
    assert entitlements.entitlement_left(market.school_a.id, market.core_service.id, year()) == 2


def test_drafts_do_not_use_the_entitlement_and_submit_checks_it_again(market, core):
    one = draft(market, quantity=2, offer_id=core.id)
    two = draft(market, quantity=2, offer_id=core.id)
    assert one.total_pence == two.total_pence == 0
    drafting.submit(one.id, market.school_a.id, market.sbm_a)
    with pytest.raises(PriceChanged, match="now costs £900.00 \\(was £0.00\\)"):
        drafting.submit(two.id, market.school_a.id, market.sbm_a)


def test_a_school_without_membership_that_year_has_no_entitlement(market, core):
    school = factories.make_school("Gamma Primary School", is_member=False)
    assert entitlements.entitlement_left(school.id, market.core_service.id, year()) == 0
    assert entitlements.entitlements_for_school(school.id, year()) is None


def test_traded_services_never_use_an_entitlement(market, core):
    term_id = db.session.scalar(sa.select(MembershipTerm.id))
    db.session.add(Entitlement(term_id=term_id, service_id=market.service.id, included_quantity=5))
    db.session.commit()
    assert draft(market, quantity=1).entitled_quantity == 0


def test_the_entitlements_page_shows_included_used_and_left(market, core, client, login):
    order = draft(market, quantity=1, offer_id=core.id)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    draft(market, quantity=1, offer_id=core.id)  # a draft uses nothing
    login(market.head_a)
    page = client.get("/entitlements").get_data(as_text=True)
    assert row_cells(page, "Link-partner visit") == ["Link-partner visit", "2 visits", "1", "1"]


def test_the_entitlements_page_for_a_year_without_membership_says_so(market, client, login):
    login(market.sbm_a)
    response = client.get("/entitlements?year=2001/02")
    assert response.status_code == 200
    assert "no membership recorded for 2001/02" in response.get_data(as_text=True)
    response = client.get("/entitlements?year=next-year")
    assert response.status_code == 400
    assert "not an academic year" in response.get_data(as_text=True)


def test_the_demo_entitlements_are_added_once(market):
    for slug in entitlements.DEMO_ENTITLEMENTS:
        factories.make_service(slug, kind=factories.ServiceKind.CORE)
    assert entitlements.seed_demo_entitlements() == len(entitlements.DEMO_ENTITLEMENTS)
    assert entitlements.seed_demo_entitlements() == 0


def test_the_partnership_office_sets_what_membership_includes(market, client, login):
    login(market.admin)
    page = client.get("/entitlements/settings").get_data(as_text=True)
    field = f"service_{market.core_service.id}"
    assert f'name="{field}"' in page
    response = client.post("/entitlements/settings", data={field: "3"}, follow_redirects=True)
    assert "1 entitlement changed" in " ".join(banners(response.get_data(as_text=True)))
    assert entitlements.entitlement_left(market.school_a.id, market.core_service.id, year()) == 3
    (event,) = audit.history("entitlement", db.session.scalar(sa.select(Entitlement.id)))
    assert (event.before["included_quantity"], event.after["included_quantity"]) == (0, 3)


@pytest.mark.parametrize(
    ("value", "message"), [("-1", "between 0 and 1,000"), ("1.5", "whole number"), ("", "Enter")]
)
def test_a_bad_included_quantity_is_refused(market, client, login, value, message):
    login(market.admin)
    response = client.post(
        "/entitlements/settings", data={f"service_{market.core_service.id}": value}
    )
    assert response.status_code == 400
    assert any(message in m for m in error_summary(response.get_data(as_text=True)))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entitlement)) == 0


def test_only_the_partnership_office_sets_entitlements(market, client, login):
    for user in (market.sbm_a, market.head_a, market.committee, market.provider_user_a):
        login(user)
        assert client.get("/entitlements/settings").status_code == 403
