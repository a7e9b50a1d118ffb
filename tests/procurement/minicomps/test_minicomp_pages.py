"""Framework and mini-competition pages: who may open each (a parametrized sweep), sealed
quotes at the page level, and the forms' named errors (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Role
from app.time import london_date, utcnow
from marketplace.orders.models import Order, OrderKind
from procurement.minicomps import award
from procurement.minicomps.models import MiniCompetition, MiniCompetitionStatus
from tests import factories
from tests.procurement.minicomps.factories import (
    SECRET_NOTE_A,
    SECRET_QUOTE_A,
    SECRET_QUOTE_B,
    make_framework,
    quote,
    start,
)

A_PRICE, B_PRICE = "312.47", "298.53"


@pytest.fixture
def scene(world):
    """A framework of A (rank 1) and B; school A's request, quoted by both, deadline passed."""
    fw = make_framework(world)
    started = utcnow() - timedelta(days=10)
    mini = start(fw, started=started)
    quote(mini, world.provider_user_a, SECRET_QUOTE_A, started + timedelta(hours=1), SECRET_NOTE_A)
    quote(mini, world.provider_user_b, SECRET_QUOTE_B, started + timedelta(hours=2))
    outsider_school = factories.make_school("Gamma Academy")
    users = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm_a": world.sbm_a,
        "head_a": world.head_a,
        "trust": world.trust_user,
        "sbm_b": world.sbm_b,
        "provider_a": world.provider_user_a,
        "provider_b": world.provider_user_b,
        "outsider_sbm": factories.make_user(Role.SBM, school=outsider_school),
        "outsider_provider": factories.make_user(
            Role.PROVIDER, provider=factories.make_provider("Delta Counselling")
        ),
    }
    db.session.commit()
    return fw, mini, users


# (path template, {user: status}); anyone not listed gets 404; anonymous is sent to sign in.
SWEEP = [
    (
        "/contracts/{contract}/framework",
        {"admin": 200, "committee": 200, "sbm_a": 200, "head_a": 200, "trust": 200,
         "sbm_b": 200, "provider_a": 403, "provider_b": 403, "outsider_provider": 403},
    ),
    (
        "/contracts/{contract}/mini-competitions/new",
        {"committee": 200, "sbm_a": 200, "head_a": 200, "trust": 200, "sbm_b": 200,
         "admin": 403, "provider_a": 403, "provider_b": 403, "outsider_provider": 403},
    ),
    (
        "/mini-competitions/{mini}",
        {"admin": 200, "committee": 200, "sbm_a": 200, "head_a": 200, "trust": 200,
         "provider_a": 200, "provider_b": 200},
    ),
    (
        "/mini-competitions/{mini}/trail",
        {"admin": 200, "committee": 200, "sbm_a": 200, "head_a": 200, "trust": 200},
    ),
    (
        "/mini-competitions/{mini}/quote",
        {"provider_a": 200, "provider_b": 200, "admin": 403, "committee": 403, "sbm_a": 403,
         "head_a": 403, "trust": 403, "sbm_b": 403, "outsider_sbm": 403},
    ),
    (
        "/mini-competitions/{mini}/cancel",
        {"committee": 200, "sbm_a": 200, "head_a": 200, "trust": 200, "admin": 403,
         "provider_a": 403, "provider_b": 403, "outsider_provider": 403},
    ),
    (
        "/mini-competitions",
        {"admin": 200, "committee": 200, "sbm_a": 200, "head_a": 200, "trust": 200,
         "sbm_b": 200, "provider_a": 200, "provider_b": 200, "outsider_sbm": 200,
         "outsider_provider": 200},
    ),
]  # fmt: skip
USERS = (
    "admin", "committee", "sbm_a", "head_a", "trust", "sbm_b", "provider_a", "provider_b",
    "outsider_sbm", "outsider_provider",
)  # fmt: skip


@pytest.mark.parametrize(("path", "allowed"), SWEEP, ids=[p for p, _ in SWEEP])
def test_each_page_answers_each_role_as_it_should(client, auth, scene, path, allowed):
    fw, mini, users = scene
    url = path.format(contract=fw.contract_a.id, mini=mini.id)
    response = client.get(url)
    assert response.status_code == 302 and "/sign-in" in response.location
    for name in USERS:
        auth.as_user(users[name])
        assert client.get(url).status_code == allowed.get(name, 404), (name, url)
        auth.logout()


def _pages(fw, mini) -> list[str]:
    return [
        f"/mini-competitions/{mini.id}",
        f"/mini-competitions/{mini.id}/trail",
        f"/mini-competitions/{mini.id}/quote",
        "/mini-competitions",
        f"/contracts/{fw.contract_a.id}/framework",
        f"/contracts/{fw.contract_a.id}",
    ]


def test_no_page_shows_a_quote_before_opening_except_to_its_own_supplier(client, auth, scene):
    fw, mini, users = scene
    for name in USERS:
        auth.as_user(users[name])
        for url in _pages(fw, mini):
            body = client.get(url).get_data(as_text=True)
            if name != "provider_a":
                assert A_PRICE not in body and SECRET_NOTE_A not in body, (name, url)
            if name != "provider_b":
                assert B_PRICE not in body, (name, url)
        auth.logout()
    auth.as_user(users["provider_a"])
    own = client.get(f"/mini-competitions/{mini.id}").get_data(as_text=True)
    assert A_PRICE in own and SECRET_NOTE_A in own and B_PRICE not in own


def test_after_opening_the_school_sees_every_quote_and_suppliers_only_their_own(
    client, auth, scene
):
    fw, mini, users = scene
    auth.as_user(users["sbm_a"])
    response = client.post(f"/mini-competitions/{mini.id}/open")
    assert response.status_code == 302
    body = client.get(f"/mini-competitions/{mini.id}").get_data(as_text=True)
    assert A_PRICE in body and B_PRICE in body and SECRET_NOTE_A in body
    trail = client.get(f"/mini-competitions/{mini.id}/trail").get_data(as_text=True)
    assert "quotes opened" in trail and "£312.47" in trail
    auth.logout()
    auth.as_user(users["provider_b"])
    body = client.get(f"/mini-competitions/{mini.id}").get_data(as_text=True)
    assert B_PRICE in body and A_PRICE not in body


def test_the_school_awards_from_the_page_and_the_call_off_order_follows(client, auth, scene):
    fw, mini, users = scene
    auth.as_user(users["sbm_a"])
    early = client.post(f"/mini-competitions/{mini.id}/award")
    assert early.status_code == 409
    assert "follows the opening" in early.get_data(as_text=True)
    client.post(f"/mini-competitions/{mini.id}/open")
    response = client.post(f"/mini-competitions/{mini.id}/award")
    assert response.status_code == 302
    db.session.expire_all()
    decided = db.session.get(MiniCompetition, mini.id)
    assert decided.status is MiniCompetitionStatus.AWARDED
    order = db.session.get(Order, decided.order_id)
    assert order.kind is OrderKind.CALL_OFF and order.contract_id == fw.contract_b.id
    body = client.get(f"/mini-competitions/{mini.id}").get_data(as_text=True)
    assert "Lowest compliant price wins" in body and f"/orders/{order.id}" in body


def test_an_award_the_winners_contract_cannot_take_is_refused_on_the_page(client, auth, scene):
    fw, mini, users = scene
    fw.contract_b.capacity = 5  # B's quote wins; the request is for 12 days
    db.session.commit()
    auth.as_user(users["sbm_a"])
    client.post(f"/mini-competitions/{mini.id}/open")
    response = client.post(f"/mini-competitions/{mini.id}/award")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "has only 5 days left to call off, and this call-off needs 12" in body
    assert "Nothing was awarded" in body
    db.session.expire_all()
    assert db.session.get(MiniCompetition, mini.id).status is MiniCompetitionStatus.OPENED


def test_a_quote_after_the_deadline_is_refused_on_the_page(client, auth, scene):
    fw, mini, users = scene
    auth.as_user(users["provider_a"])
    response = client.post(
        f"/mini-competitions/{mini.id}/quote",
        data={"unit_price": "250", "note": "", "declared_compliant": "y"},
    )
    assert response.status_code == 409
    assert "deadline" in response.get_data(as_text=True)


def test_a_supplier_sends_its_quote_through_the_form_with_named_errors(client, auth, world):
    fw = make_framework(world)
    mini = start(fw)
    auth.as_user(world.provider_user_a)
    url = f"/mini-competitions/{mini.id}/quote"
    bad = client.post(url, data={"unit_price": "abc", "note": ""})
    assert bad.status_code == 400
    undeclared = client.post(url, data={"unit_price": "250.50", "note": "ok"})
    assert undeclared.status_code == 400
    assert "Confirm that your quote meets the requirement" in undeclared.get_data(as_text=True)
    good = client.post(url, data={"unit_price": "250.50", "note": "ok", "declared_compliant": "y"})
    assert good.status_code == 302
    page = client.get(f"/mini-competitions/{mini.id}").get_data(as_text=True)
    assert "£250.50" in page and "Withdraw your quote" in page
    assert client.post(f"/mini-competitions/{mini.id}/quote/withdraw").status_code == 302


def test_the_request_form_starts_a_mini_competition_and_names_bad_fields(client, auth, world):
    fw = make_framework(world)
    auth.as_user(world.sbm_a)
    url = f"/contracts/{fw.contract_a.id}/mini-competitions/new"
    form = client.get(url).get_data(as_text=True)
    assert "Run a mini-competition" in form
    today = london_date(utcnow())
    data = {
        "school_id": str(world.school_a.id),
        "title": "Year 6 counselling",
        "requirement": "Ten days.",
        "quantity": "10",
        "term_key": "",
        "deadline_on": today.isoformat(),
        "deadline_time": "12:00",
        "award_method": "lowest_price",
        "po_number": "PO-9",
    }
    bad = client.post(url, data=data)
    assert bad.status_code == 400 and "Choose the term" in bad.get_data(as_text=True)
    from app.calendar import Term

    data["term_key"] = Term.containing(today).key
    too_soon = client.post(url, data=data)
    assert too_soon.status_code == 400
    assert "at least 2 working days ahead" in too_soon.get_data(as_text=True)
    from procurement.minicomps.rules import earliest_deadline_day

    data["deadline_on"] = earliest_deadline_day(utcnow()).isoformat()
    done = client.post(url, data=data)
    assert done.status_code == 302
    mini = db.session.scalar(db.select(MiniCompetition))
    assert mini.title == "Year 6 counselling" and len(mini.quotes) == 2


def test_the_contract_page_links_its_framework(client, auth, world):
    fw = make_framework(world)
    auth.as_user(world.committee)
    body = client.get(f"/contracts/{fw.contract_b.id}").get_data(as_text=True)
    assert f"/contracts/{fw.contract_b.id}/framework" in body and "Ranked 2" in body
    page = client.get(f"/contracts/{fw.contract_b.id}/framework").get_data(as_text=True)
    assert page.index(world.provider_a.name) < page.index(world.provider_b.name)
    assert "Run a mini-competition" in page
    assert "/call-off" not in page  # the committee does not call off
    auth.logout()
    auth.as_user(world.sbm_a)  # a school taking part awards directly from the ranking
    page = client.get(f"/contracts/{fw.contract_b.id}/framework").get_data(as_text=True)
    assert f"/contracts/{fw.contract_a.id}/call-off" in page
    assert f"/contracts/{fw.contract_b.id}/call-off" in page
    auth.logout()
    auth.as_user(world.provider_user_a)
    body = client.get(f"/contracts/{fw.contract_a.id}").get_data(as_text=True)
    assert "/framework" not in body


def test_quality_scores_are_saved_from_the_page_with_named_errors(client, auth, world):
    fw = make_framework(world)
    started = utcnow() - timedelta(days=10)
    mini = start(fw, started=started, award_method="weighted", price_weight=60, quality_weight=40)
    quote(mini, world.provider_user_a, SECRET_QUOTE_A, started + timedelta(hours=1))
    award.open_quotes(mini.id, world.sbm_a, now=mini.deadline_at + timedelta(hours=1))
    quote_id = next(q.id for q in mini.quotes if q.unit_price_pence)
    auth.as_user(world.sbm_a)
    url = f"/mini-competitions/{mini.id}/quotes/{quote_id}/score"
    bad = client.post(url, data={"score": "140"})
    assert bad.status_code == 400 and "from 0 to 100" in bad.get_data(as_text=True)
    assert client.post(url, data={"score": "80"}).status_code == 302
    db.session.expire_all()
    assert (
        next(
            q for q in db.session.get(MiniCompetition, mini.id).quotes if q.id == quote_id
        ).quality_score
        == 80
    )
