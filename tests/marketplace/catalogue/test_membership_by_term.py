"""Prices by the membership of the term a school is buying for, not today's: the service page
prices the term the school chooses, and says from when its prices change next year."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import Membership, MembershipTerm
from app.time import london_today
from marketplace.orders.savings import membership_change
from tests import factories
from tests.marketplace.conftest import draft


def next_year() -> AcademicYear:
    return AcademicYear(factories.this_year().start_year + 1)


def next_autumn() -> Term:
    return next_year().terms()[0]


@pytest.fixture
def uplifted(market):
    market.offer_a.non_member_uplift_bp = 1_500  # £250 → £287.50 for non-members
    market.offer_b.non_member_uplift_bp = 1_500  # £270 → £310.50
    db.session.commit()
    return market


def join_next_year_only(world) -> None:
    """School A is not a member this year, but is next year."""
    db.session.execute(sa.delete(Membership).where(Membership.school_id == world.school_a.id))
    term = factories.make_membership_term(next_year().start_year)
    factories.make_membership(world.school_a, term)
    db.session.commit()


def test_the_change_is_named_only_when_membership_differs_next_year(uplifted):
    change = membership_change(uplifted.school_a.id, london_today())
    assert change is not None and change.year == next_year() and change.member is False
    join_next_year_only(uplifted)
    change = membership_change(uplifted.school_a.id, london_today())
    assert change is not None and change.year == next_year() and change.member is True
    # A member both years: nothing changes.
    term = db.session.scalar(
        sa.select(MembershipTerm).where(MembershipTerm.start_year == next_year().start_year)
    )
    factories.make_membership(uplifted.school_b, term)
    db.session.commit()
    assert membership_change(uplifted.school_b.id, london_today()) is None


def test_a_member_this_year_sees_non_member_prices_for_a_term_next_year(client, login, uplifted):
    login(uplifted.sbm_a)
    page = client.get(f"/services/{uplifted.service.id}").get_data(as_text=True)
    assert "£250.00" in page and "£287.50" not in page
    assert 'id="membership-change"' in page
    assert f"no membership of the partnership for {next_year().label}" in page
    assert f"1 September {next_year().start_year}" in page
    assert f'<option value="{next_autumn().key}"' in page

    chosen = client.get(f"/services/{uplifted.service.id}?term={next_autumn().key}")
    text = chosen.get_data(as_text=True)
    assert chosen.status_code == 200
    assert "£287.50" in text and "Non-member prices" in text
    assert f"Prices for {next_autumn().label}: non-member prices" in text
    assert 'id="membership-change"' not in text

    # Ordering for that term charges what the page showed.
    order = draft(uplifted, quantity=2, term_key=next_autumn().key)
    assert order.unit_price_pence == 28_750


def test_a_school_joining_next_year_sees_member_prices_for_next_years_terms(
    client, login, uplifted
):
    join_next_year_only(uplifted)
    login(uplifted.sbm_a)
    page = client.get(f"/services/{uplifted.service.id}").get_data(as_text=True)
    assert "£287.50" in page
    assert f"is a member of the partnership for {next_year().label}" in page
    chosen = client.get(f"/services/{uplifted.service.id}?term={next_autumn().key}").get_data(
        as_text=True
    )
    assert "£250.00" in chosen and "£287.50" not in chosen
    assert f"Prices for {next_autumn().label}: member prices" in chosen
    assert "membership-saving" not in chosen  # this year's saving is not about that term
    catalogue = client.get("/services").get_data(as_text=True)
    assert 'id="membership-change"' in catalogue


def test_an_unknown_term_is_ignored(client, login, uplifted):
    login(uplifted.sbm_a)
    page = client.get(f"/services/{uplifted.service.id}?term=1999-autumn")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "£250.00" in text and "priced-term" not in text
