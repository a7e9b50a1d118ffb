"""The page comparing two runs of a round: choosing, named errors, order, CSV and who may see it."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re

import pytest

from procurement.rounds.comparison import compare_runs
from procurement.rounds.runs import queue_run
from tests.procurement.rounds.factories import close, make_round_world, pledge, run_now
from tests.procurement.rounds.test_run_comparison import two_runs


def text(page: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def compare_url(rw, a=None, b=None, **more) -> str:
    params = {"a": a, "b": b, **more}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return f"/rounds/{rw.buying_round.id}/runs/compare" + (f"?{query}" if query else "")


def test_the_round_page_offers_to_compare_its_latest_two_runs(client, auth, rw):
    first, second = two_runs(rw)
    auth.as_user(rw.world.committee)
    page = client.get(f"/rounds/{rw.buying_round.id}").text
    assert 'id="compare-runs"' in page and 'method="get"' in page
    assert compare_url(rw, first.id, second.id).replace("&", "&amp;") in page
    # Both selects list every run, the latest two chosen.
    assert re.search(rf'<option selected value="{first.id}">Run {first.number}: ', page)
    assert re.search(rf'<option selected value="{second.id}">Run {second.number}: ', page)


def test_the_round_page_has_no_comparison_form_with_one_run(client, auth, rw):
    pledge(rw, rw.world.sbm_a, 30)
    close(rw)
    run_now(rw)
    auth.as_user(rw.world.committee)
    assert 'id="compare-runs"' not in client.get(f"/rounds/{rw.buying_round.id}").text


def test_the_comparison_page_shows_rules_figures_and_each_schools_charge(client, auth, rw):
    first, second = two_runs(rw)
    auth.as_user(rw.world.committee)
    response = client.get(compare_url(rw, first.id, second.id))
    assert response.status_code == 200
    words = text(response.text)
    assert "Compare two runs" in words
    assert "Each school buys each service from one provider No Yes" in words
    assert "Largest share of a lot one provider may win 100% 60%" in words
    comparison = compare_runs(rw.buying_round.id, first.id, second.id)
    pooled = comparison.figures[0].change
    difference = pooled.difference
    assert f"+£{difference // 100:,}.{difference % 100:02d}" in words
    assert "Providers used 1 2 +1 +100.0%" in words
    assert rw.world.school_a.name in words and rw.world.school_b.name in words
    assert 'class="app-table-scroll" role="region"' in response.text
    assert "<svg" in response.text and 'id="compare-chart"' in response.text
    assert f"compare.csv?a={first.id}&amp;b={second.id}&amp;sort=difference" in response.text


def test_the_schools_order_follows_the_sort_parameter(client, auth, rw):
    first, second = two_runs(rw)
    auth.as_user(rw.world.committee)
    names = [s.school_name for s in compare_runs(rw.buying_round.id, first.id, second.id).schools]
    by_name = client.get(compare_url(rw, first.id, second.id, sort="school")).text
    positions = [by_name.index(f">{html_lib.escape(name)}<") for name in sorted(names)]
    assert positions == sorted(positions)
    assert '<strong aria-current="true">school name</strong>' in by_name
    rise = client.get(compare_url(rw, first.id, second.id, sort="rise")).text
    assert '<strong aria-current="true">biggest rise</strong>' in rise


@pytest.mark.parametrize(
    ("choose", "status", "message", "field"),
    [
        (lambda f, s, q, o: (f.id, f.id), 400, "Choose two different runs", "b"),
        (lambda f, s, q, o: ("", s.id), 400, "Choose the first run to compare", "a"),
        (lambda f, s, q, o: ("seven", s.id), 400, "Choose the first run to compare", "a"),
        (lambda f, s, q, o: (f.id, o.id), 400, "not a run of this round", "b"),
        (lambda f, s, q, o: (f.id, 99_999_999), 400, "not a run of this round", "b"),
        (lambda f, s, q, o: (q.id, s.id), 409, "has not finished yet", "a"),
    ],
)
def test_a_bad_choice_is_named_on_the_form_never_a_server_error(
    client, auth, rw, world, choose, status, message, field
):
    first, second = two_runs(rw)
    queued = queue_run(rw.buying_round.id, rw.world.committee)
    other = make_round_world(world)
    pledge(other, world.sbm_a, 5)
    close(other)
    elsewhere = run_now(other)
    a, b = choose(first, second, queued, elsewhere)
    auth.as_user(rw.world.committee)
    response = client.get(compare_url(rw, a, b))
    assert response.status_code == status
    page = response.text
    assert "<title>Error: Compare runs" in page
    assert "govuk-error-summary" in page and f'href="#{field}"' in page
    assert f'id="{field}-error"' in page and message in text(page)
    assert 'id="compare-schools"' not in page
    csv_response = client.get(compare_url(rw, a, b).replace("/compare", "/compare.csv"))
    assert csv_response.status_code == status and message in csv_response.text


def test_a_round_with_one_run_says_there_is_nothing_to_compare(client, auth, rw):
    pledge(rw, rw.world.sbm_a, 30)
    close(rw)
    run_now(rw)
    auth.as_user(rw.world.committee)
    response = client.get(compare_url(rw))
    assert response.status_code == 409
    assert "fewer than two finished runs" in text(response.text)
    assert "<title>Error: " in response.text


def test_the_csv_downloads_each_schools_charge_under_both_runs(client, auth, rw):
    first, second = two_runs(rw)
    auth.as_user(rw.world.admin)
    response = client.get(
        compare_url(rw, first.id, second.id, sort="school").replace("/compare", "/compare.csv")
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    comparison = compare_runs(rw.buying_round.id, first.id, second.id, sort="school")
    assert [row[0] for row in rows[1:]] == [s.school_name for s in comparison.schools]


@pytest.mark.parametrize("role", ["anonymous", "admin", "committee", "sbm", "head", "provider"])
def test_only_the_committee_and_admin_may_compare_runs(client, auth, rw, role):
    first, second = two_runs(rw)
    users = {
        "admin": rw.world.admin,
        "committee": rw.world.committee,
        "sbm": rw.world.sbm_a,
        "head": rw.world.head_a,
        "provider": rw.world.provider_user_a,
    }
    if role != "anonymous":
        auth.as_user(users[role])
    for path in (
        compare_url(rw, first.id, second.id),
        compare_url(rw, first.id, second.id).replace("/compare", "/compare.csv"),
        "/rounds/99999999/runs/compare",
    ):
        response = client.get(path)
        if role == "anonymous":
            assert response.status_code == 302 and "/sign-in" in response.location
        elif role in ("admin", "committee"):
            assert response.status_code == (404 if "99999999" in path else 200), path
        else:
            assert response.status_code == 403, path
