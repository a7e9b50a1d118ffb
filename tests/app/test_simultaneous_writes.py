"""A handful of people saving at the same moment, against gunicorn on each database.

SQLite (the embedded default) has one writer at a time: writer transactions start as writers
(BEGIN IMMEDIATE) and wait their turn, so simultaneous identical submissions all succeed
instead of some failing with "database is locked".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import requests

from app.time import london_today
from tests.support.browser import DemoTemplates, LiveServer, demo_server

pytestmark = pytest.mark.slow

AT_ONCE = 4


@pytest.fixture(scope="module")
def busy_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, demo_templates: DemoTemplates
) -> Iterator[LiveServer]:
    """The demo partnership on gunicorn with one worker per simultaneous user."""
    tmp = tmp_path_factory.mktemp(f"busy-{backend}")
    with demo_server(backend, tmp, demo_templates, workers=AT_ONCE) as server:
        yield server


def signed_in(server: LiveServer, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token(session.get(server.url + "/sign-in").text)
    response = session.post(
        server.url + "/sign-in",
        data={"email": email, "password": "pooled-demo", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return session


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def errors_of(response: requests.Response) -> str:
    """What a page refused, for an assertion message."""
    found = re.findall(r"govuk-error-message\">\s*<span[^>]*>Error:</span>([^<]*)<", response.text)
    return f"{response.status_code}: {' '.join(found) or response.text[:200]}"


def all_at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run the calls in threads released by one barrier, so they reach the server together."""
    barrier = threading.Barrier(len(calls))
    results: list[requests.Response | BaseException] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(result, requests.Response) for result in results), results
    return results


def test_simultaneous_identical_tenders_are_all_saved(busy_server):
    sessions = [signed_in(busy_server, "committee@demo.pooled.test") for _ in range(AT_ONCE)]
    pages = [s.get(busy_server.url + "/tenders/new").text for s in sessions]
    tokens = [csrf_token(page) for page in pages]
    schools = re.findall(r'name="school_ids"[^>]*value="(\d+)"', pages[0])[:3]
    assert schools
    deadline = london_today() + timedelta(days=30)
    form = {
        "title": "Simultaneous tender",
        "description": "Four people press save together.",
        "deadline_on": deadline.isoformat(),
        "deadline_time": "12:00",
        "contract_starts_on": (deadline + timedelta(days=60)).isoformat(),
        "contract_ends_on": (deadline + timedelta(days=425)).isoformat(),
        "min_valid_bids": "1",
        "price_weight": "60",
        "quality_weight": "30",
        "social_value_weight": "10",
        "school_ids": schools,
    }
    responses = all_at_once(
        [
            lambda s=s, t=t: s.post(
                busy_server.url + "/tenders/new",
                data={**form, "csrf_token": t},
                allow_redirects=False,
            )
            for s, t in zip(sessions, tokens, strict=True)
        ]
    )
    assert [r.status_code for r in responses] == [302] * AT_ONCE, [errors_of(r) for r in responses]
    listed = sessions[0].get(busy_server.url + "/tenders").text
    assert listed.count("Simultaneous tender") == AT_ONCE


def test_simultaneous_identical_orders_are_all_saved(busy_server):
    sessions = [signed_in(busy_server, "sbm@demo.pooled.test") for _ in range(AT_ONCE)]
    catalogue = sessions[0].get(busy_server.url + "/services").text
    service = re.search(r'href="(/services/[^"?#]+)"', catalogue)
    assert service is not None
    offer_id = re.search(
        r'href="/offers/(\d+)/order"', sessions[0].get(busy_server.url + service.group(1)).text
    )
    assert offer_id is not None
    url = f"{busy_server.url}/offers/{offer_id.group(1)}/order"
    pages = [s.get(url).text for s in sessions]
    term = re.search(r'name="term_key"[^>]*value="([^"]+)"', pages[0])
    assert term is not None
    responses = all_at_once(
        [
            lambda s=s, p=p: s.post(
                url,
                data={
                    "term_key": term.group(1),
                    "quantity": "1",
                    "po_number": "PO-SAME-MOMENT",
                    "csrf_token": csrf_token(p),
                },
                allow_redirects=False,
            )
            for s, p in zip(sessions, pages, strict=True)
        ]
    )
    assert [r.status_code for r in responses] == [302] * AT_ONCE, [errors_of(r) for r in responses]


def test_notifications_opened_at_the_same_moment_are_all_marked_read(busy_server):
    # Opening a notification writes on a GET (it is marked read). On SQLite such a view starts
    # its transaction as a writer (`writes_on_get`); a plain reader that then writes fails with
    # "database is locked" when another writer got there first.
    sessions = [signed_in(busy_server, "sbm@demo.pooled.test") for _ in range(AT_ONCE)]
    url = busy_server.url
    listed = sessions[0].get(url + "/notifications").text
    ids = sorted(set(re.findall(r'href="/notifications/(\d+)"', listed)))
    assert len(ids) >= AT_ONCE, ids
    for attempt in range(3):  # each attempt opens notifications not yet opened
        chosen = ids[attempt * AT_ONCE : (attempt + 1) * AT_ONCE] or ids[:AT_ONCE]
        responses = all_at_once(
            [
                lambda s=s, n=n: s.get(f"{url}/notifications/{n}", allow_redirects=False)
                for s, n in zip(sessions, chosen, strict=False)
            ]
        )
        assert [r.status_code for r in responses] == [302] * len(responses), [
            errors_of(r) for r in responses
        ]
