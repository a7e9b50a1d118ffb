"""Buying-round pages: who sees what, pledging through the form, runs, the award, the CLI."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import before_render_template

from app.extensions import db
from app.models import AuditEvent
from app.time import utcnow
from marketplace.orders.models import Order, OrderKind
from procurement.rounds.access import awarded_run
from procurement.rounds.answers import run_answer
from procurement.rounds.award import award_run
from procurement.rounds.forms import lot_field_name
from procurement.rounds.models import BuyingRound, Pledge, RoundNotice, RoundRun, RoundStatus
from procurement.rounds.pledges import pledges_for_school
from procurement.rounds.runs import execute_run, queue_run
from tests.procurement.rounds.factories import (
    close,
    future_term,
    make_round_world,
    offer_for,
    pledge,
)


def text(page: str) -> str:
    """The page's words: tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def inline_runs(app):
    """Solve runs as the request commits (the test database is one uncommitted transaction)."""
    assert app.config["JOBS_IMMEDIATE"]  # the run's job runs inline; a consumer in other tests


@pytest.fixture
def login(auth):
    def switch(user):
        auth.logout()
        return auth.as_user(user)

    return switch


def field(rw) -> str:
    return lot_field_name(rw.world.service.id, rw.term.key)


def pledge_url(rw, school_id: int) -> str:
    return f"/rounds/{rw.buying_round.id}/schools/{school_id}/pledges"


def writes() -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Pledge)),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    )


def awarded_round(rw):
    """Pledged, run twice (to compare the runs) and the second run awarded."""
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 45)
    close(rw)
    execute_run(queue_run(rw.buying_round.id, rw.world.committee).id)
    run = queue_run(rw.buying_round.id, rw.world.committee)
    execute_run(run.id)
    award_run(rw.buying_round.id, run.id, rw.world.committee)
    return run


# Who may open which page -----------------------------------------------------------------------

ROLES = ["anonymous", "admin", "committee", "sbm", "head", "provider"]


def sign_in_as(login, world, role):
    users = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
    }
    if role != "anonymous":
        login(users[role])


@pytest.mark.parametrize("role", ROLES)
def test_pages_are_gated_by_role_and_schools_see_only_their_own_lines(client, login, rw, role):
    run = awarded_round(rw)
    world = rw.world
    round_id = rw.buying_round.id
    sign_in_as(login, world, role)
    partnership, school = role in ("admin", "committee"), role in ("sbm", "head")
    expected = {
        "/rounds": 200 if partnership or school else 403,
        "/rounds/new": 200 if partnership else 403,
        f"/rounds/{round_id}": 200 if partnership or school else 403,
        f"/rounds/{round_id}/runs/{run.id}": 200 if partnership else 403,
        f"/rounds/{round_id}/runs/{run.id}/inputs.json": 200 if partnership else 403,
        f"/rounds/{round_id}/runs/compare": 200 if partnership else 403,
        f"/rounds/{round_id}/runs/compare.csv": 200 if partnership else 403,
        pledge_url(rw, world.school_a.id): 200 if partnership or school else 403,
        pledge_url(rw, world.school_b.id): 200 if partnership else (404 if school else 403),
        f"/rounds/{round_id}/schools/{world.school_a.id}": 200 if partnership or school else 403,
        f"/rounds/{round_id}/schools/{world.school_b.id}": (
            200 if partnership else (404 if school else 403)
        ),
    }
    for path, status in expected.items():
        response = client.get(path)
        if role == "anonymous":
            assert response.status_code == 302 and "/sign-in" in response.location, path
        else:
            assert response.status_code == status, path
    if school:
        page = text(client.get(f"/rounds/{round_id}/schools/{world.school_a.id}").text)
        assert world.school_a.name in page and world.school_b.name not in page


@pytest.mark.parametrize("role", ["sbm", "head"])
def test_draft_rounds_are_hidden_from_schools(client, login, world, role):
    draft = make_round_world(world, open_now=False)
    sign_in_as(login, world, role)
    assert client.get(f"/rounds/{draft.buying_round.id}").status_code == 404
    assert draft.buying_round.title not in client.get("/rounds").text


# Opening a round ---------------------------------------------------------------------------


def test_the_committee_opens_a_round_and_schools_see_it_announced(client, login, world):
    term = future_term()
    offer = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=40)
    db.session.commit()
    login(world.committee)
    deadline = (utcnow() + timedelta(days=10)).date()
    form = {
        "title": "Counselling for spring",
        "service_ids": [str(world.service.id)],
        "term_keys": [term.key],
        "deadline_on": deadline.isoformat(),
        "deadline_time": "17:00",
        "max_share_percent": "100",
        "min_providers": "1",
        "action": "open",
    }
    refused = client.post("/rounds/new", data=form)
    assert refused.status_code == 400
    assert "a round with no offers cannot be priced" in text(refused.text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BuyingRound)) == 0
    created = client.post(
        "/rounds/new", data={**form, "offer_ids": [str(offer.id)], "pledge_step": "5"}
    )
    assert created.status_code == 302
    buying_round = db.session.scalar(sa.select(BuyingRound))
    assert buying_round.pledge_step == 5
    assert buying_round.status is RoundStatus.OPEN
    assert buying_round.pledge_deadline_at.hour in (17, 16)  # 17:00 London is 17:00 or 16:00 UTC
    login(world.sbm_a)
    home = text(client.get("/home").text)
    assert "Buying rounds open for pledges" in home and "Counselling for spring" in home
    assert "No pledge yet" in home


# Pledging through the form -------------------------------------------------------------------


def test_an_sbm_pledges_and_sees_the_tier_reached_and_the_saving(client, login, rw):
    pledge(rw, rw.world.sbm_b, 40)
    login(rw.world.sbm_a)
    response = client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): "15"})
    assert response.status_code == 302
    page = text(client.get(response.location).text)
    assert "Your pledges are saved" in page
    # 55 days pooled reach Beta's £210 tier; alone, 15 days cost 15 × £250 at Alpha.
    assert "Beta Therapy Ltd would supply 55 days" in page and "£210.00" in page
    assert "tier 2 of 2" in page
    assert "against £3,750.00 buying alone" in page
    home = text(client.get("/home").text)
    assert "You have pledged 15" in home


def test_pledging_for_another_school_is_not_found_and_changes_nothing(client, login, rw):
    login(rw.world.sbm_a)
    before = writes()
    response = client.post(pledge_url(rw, rw.world.school_b.id), data={field(rw): "15"})
    assert response.status_code == 404
    assert writes() == before


def test_pledging_after_the_deadline_gets_a_clear_message_and_changes_nothing(client, login, rw):
    pledge(rw, rw.world.sbm_a, 10)
    login(rw.world.sbm_a)
    client.get(pledge_url(rw, rw.world.school_a.id))  # the form was open when loaded…
    rw.buying_round.pledge_deadline_at = utcnow() - timedelta(minutes=1)  # …the deadline passes
    db.session.commit()
    before = writes()
    response = client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): "20"})
    assert response.status_code == 409
    assert "Pledging closed on" in text(response.text) and "nothing was changed" in text(
        response.text
    )
    assert writes() == before
    page = text(client.get(pledge_url(rw, rw.world.school_a.id)).text)
    assert "Pledging is closed" in page and "10 days" in page
    assert "Save pledges" not in page


def test_a_round_in_blocks_says_so_and_explains_a_pledge_off_its_blocks(client, login, world):
    rw = make_round_world(world, pledge_step=5)
    login(rw.world.sbm_a)
    form = text(client.get(pledge_url(rw, rw.world.school_a.id)).text)
    assert "in blocks of 5 (5, 10, 15 …)" in form
    assert "Pledges in blocks of 5" in text(client.get(f"/rounds/{rw.buying_round.id}").text)
    before = writes()
    refused = client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): "7"})
    assert refused.status_code == 400
    assert "in blocks of 5: 7 is not a multiple of 5 (try 5 or 10)" in text(refused.text)
    assert writes() == before
    assert (
        client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): "10"}).status_code == 302
    )


def test_a_head_cannot_pledge_and_a_bad_quantity_is_explained(client, login, rw):
    login(rw.world.head_a)
    refused = client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): "15"})
    assert refused.status_code == 403
    assert "Only your school’s business manager can pledge" in text(refused.text)
    login(rw.world.sbm_a)
    for bad, message in (("2.5", "must be a whole number"), ("-4", "cannot be negative")):
        response = client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): bad})
        assert response.status_code == 400, bad
        assert message in text(response.text)
    assert writes()[0] == 0


def test_withdrawing_through_the_page(client, login, rw):
    pledge(rw, rw.world.sbm_a, 10)
    login(rw.world.sbm_a)
    response = client.post(
        pledge_url(rw, rw.world.school_a.id) + "/withdraw", follow_redirects=True
    )
    assert "Your pledges are withdrawn" in text(response.text)
    assert (
        pledges_for_school(rw.buying_round.id, rw.world.school_a.id)[
            (rw.world.service.id, rw.term.key)
        ].withdrawn_at
        is not None
    )


# Running, re-running and awarding from the pages ----------------------------------------------


def test_a_run_page_refreshes_itself_until_the_run_is_done(client, login, rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    run = queue_run(rw.buying_round.id, rw.world.committee)
    login(rw.world.committee)
    waiting = client.get(f"/rounds/{rw.buying_round.id}/runs/{run.id}").text
    assert '<meta http-equiv="refresh" content="2">' in waiting
    assert "Waiting to start" in text(waiting)
    execute_run(run.id)
    done = client.get(f"/rounds/{rw.buying_round.id}/runs/{run.id}").text
    assert 'http-equiv="refresh"' not in done
    assert "Optimal" in text(done)


def test_the_committee_runs_changes_rules_reruns_and_awards(client, login, rw, inline_runs):
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 45)
    login(rw.world.committee)
    round_url = f"/rounds/{rw.buying_round.id}"
    early = client.post(round_url + "/runs", data={"solver": "highs", "time_limit_seconds": "30"})
    assert early.status_code == 409 and "Schools can pledge until" in text(early.text)
    assert client.post(round_url + "/close").status_code == 302
    first = client.post(round_url + "/runs", data={"solver": "highs", "time_limit_seconds": "30"})
    assert first.status_code == 302
    page = text(client.get(first.location).text)
    assert "Run 1 Optimal" in page
    assert "Beta Therapy Ltd" in page and "tier 2 of 2 (from 50 days)" in page
    assert "no school pays more than it would alone" in page
    again = client.post(round_url + "/runs", data={"solver": "highs", "time_limit_seconds": "30"})
    page = text(client.get(again.location).text)
    assert "Run 1 had exactly the same inputs and solver: the same answer" in page
    bad_rules = client.post(
        round_url + "/rules", data={"max_share_percent": "0", "min_providers": "1"}
    )
    assert bad_rules.status_code == 400 and "between 1% and 100%" in text(bad_rules.text)
    assert (
        client.post(
            round_url + "/rules", data={"max_share_percent": "100", "min_providers": "3"}
        ).status_code
        == 302
    )
    infeasible = client.post(
        round_url + "/runs", data={"solver": "highs", "time_limit_seconds": "30"}
    )
    page = text(client.get(infeasible.location).text)
    assert "No allocation meets the rules" in page and "Award this run" not in page
    run3 = db.session.scalar(sa.select(RoundRun).where(RoundRun.number == 3))
    refused = client.post(f"{round_url}/runs/{run3.id}/award")
    assert refused.status_code == 409 and "cannot be awarded" in text(refused.text)
    run1 = db.session.scalar(sa.select(RoundRun).where(RoundRun.number == 1))
    inputs = client.get(f"{round_url}/runs/{run1.id}/inputs.json")
    assert inputs.json == run1.inputs
    awarded = client.post(f"{round_url}/runs/{run1.id}/award", follow_redirects=True)
    assert "Awarded: 1 contract, 2 call-off orders for 2 schools, £11,550.00 in all" in text(
        awarded.text
    )
    twice = client.post(f"{round_url}/runs/{run1.id}/award")
    assert twice.status_code == 409 and "already been awarded" in text(twice.text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 2


def test_the_sbm_is_told_and_sees_the_call_off_and_the_saving(client, login, rw):
    awarded_round(rw)
    login(rw.world.sbm_a)
    home = client.get("/home").text
    notice = db.session.scalar(
        sa.select(RoundNotice).where(RoundNotice.school_id == rw.world.school_a.id)
    )
    assert "has been awarded" in text(home) and "you save" in text(home)
    result = text(client.get(f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}").text)
    order = db.session.scalar(sa.select(Order).where(Order.school_id == rw.world.school_a.id))
    assert order.kind is OrderKind.CALL_OFF
    assert f"Order {order.id}" in result and "Confirmed" in result
    line = run_answer(awarded_run(rw.buying_round.id), rw.world.school_a.id).lines[0]
    assert f"Your saving £{line.saving_pence / 100:,.2f}" in result
    assert "Beta Therapy Ltd: 10 days" in result and "tier 2 of 2" in result
    # The page states the sharing rule and its guarantee, capped sharing included.
    assert "No school pays more than it would alone." in result
    assert "capped at the stand-alone price of the units it actually got" in result
    other = client.post(f"/rounds/notices/{notice.id + 1000}/read", data={"next": "/home"})
    assert other.status_code == 404
    client.post(f"/rounds/notices/{notice.id}/read", data={"next": "/home"})
    assert notice.read_at is not None
    assert "has been awarded" not in text(client.get("/home").text)


def test_pledge_forms_need_the_csrf_token(app, client, login, rw):
    login(rw.world.sbm_a)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(pledge_url(rw, rw.world.school_a.id), data={field(rw): "5"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert writes()[0] == 0


# The command line ---------------------------------------------------------------------------


def test_flask_rounds_run_runs_the_aggregator_and_says_what_it_found(runner, rw):
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 45)
    early = runner.invoke(args=["rounds", "run", str(rw.buying_round.id)])
    assert early.exit_code == 1 and "Schools can pledge until" in early.output
    close(rw)
    result = runner.invoke(args=["rounds", "run", str(rw.buying_round.id), "--time-limit", "20"])
    assert result.exit_code == 0, result.output
    assert "Run 1: optimal (HiGHS" in result.output
    assert "cost £11,550.00" in result.output and "gap 0.000%" in result.output
    run = db.session.scalar(sa.select(RoundRun))
    assert run.started_by_id is None and run.time_limit_seconds == 20
    missing = runner.invoke(args=["rounds", "run", "999999"])
    assert missing.exit_code == 1 and "no such buying round" in missing.output


# The school home page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sbm", "head"])
def test_the_home_page_gets_the_round_panel_from_its_view_not_while_rendering(
    app, client, login, rw, role
):
    pledge(rw, rw.world.sbm_a, 15)
    sign_in_as(login, rw.world, role)
    rendered, queried = [], []

    def on_render(sender, template, context, **extra):
        rendered.append(context)

    def on_query(conn, cursor, statement, *args):
        if rendered:  # the view is done; the template is being rendered
            queried.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", on_query)
    try:
        with before_render_template.connected_to(on_render, app):
            page = client.get("/home")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_query)
    assert page.status_code == 200
    (context,) = (c for c in rendered if "round_panel" in c)
    (item,) = context["round_panel"].open_rounds
    assert item.round.id == rw.buying_round.id and item.pledged_units == 15
    assert not [s for s in queried if "round" in s.lower() or "pledge" in s.lower()]
    assert "You have pledged 15" in text(page.text)
