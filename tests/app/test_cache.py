"""The figures cache (app.cache): shared by every worker, never stale after a write.

Each test has a database of its own that really commits (the usual tests roll back and run
with no figures cache), and two apps on it that stand for two gunicorn workers sharing one
cache: the file cache of the embedded default, and Redis.
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.grants import record_grant
from app.time import london_today
from tests import factories
from tests.conftest import make_app
from tests.databases import required

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        reason = f"Redis suite skipped: no Redis at {REDIS_URL} ({exc})"
        if required("REQUIRE_REDIS"):
            pytest.fail(reason + " but REQUIRE_REDIS=1")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def shared(module_database, tmp_path_factory) -> tuple[str, factories.World]:
    """The module's database with a world, committed once."""
    application = make_app(module_database, tmp_path_factory.mktemp("cache"))
    with application.app_context():
        world = factories.make_world()  # with this year's memberships
        db.session.commit()
        for user in (world.admin, world.committee, world.sbm_a):
            db.session.refresh(user)
        db.session.expunge_all()
        db.engine.dispose()
    return module_database, world


@pytest.fixture(params=["file", "redis"])
def workers(request, shared, tmp_path) -> Iterator[tuple[Flask, Flask, factories.World]]:
    database_url, world = shared
    if request.param == "redis":
        redis_or_skip()
        cache = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": f"pooled-test-{uuid.uuid4().hex}:",
        }
    else:
        cache = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache")}
    first, second = (make_app(database_url, tmp_path, **cache) for _ in range(2))
    yield first, second, world
    for application in (first, second):
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def signed_in(application: Flask, email: str):
    client = application.test_client()
    answer = client.post("/sign-in", data={"email": email, "password": factories.PASSWORD})
    assert answer.status_code == 302
    return client


def statements(application: Flask) -> list[str]:
    seen: list[str] = []
    with application.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_second_view_is_served_from_the_cache(workers):
    first, _, world = workers
    client = signed_in(first, world.committee.email)
    seen = statements(first)
    assert client.get("/dashboard").status_code == 200
    cold = len(seen)
    seen.clear()
    assert client.get("/dashboard").status_code == 200
    assert len(seen) < cold - 5, (cold, len(seen))


def grants(csv_text: str) -> Decimal:
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == 1, csv_text
    return Decimal(rows[0]["Grants (£)"])


def test_a_write_in_one_worker_shows_at_once_in_the_other(workers, tmp_path):
    first, second, world = workers
    reader = signed_in(second, world.committee.email)
    before = reader.get("/dashboard/income-by-stream.csv").get_data(as_text=True)
    assert reader.get("/dashboard/income-by-stream.csv").get_data(as_text=True) == before
    with first.app_context():
        admin = db.session.get(type(world.admin), world.admin.id)
        record_grant(
            admin,
            source="Council",
            description="Cache test",
            amount_pence=1_234_567,
            received_on=london_today() - timedelta(days=1),
        )
    after = reader.get("/dashboard/income-by-stream.csv").get_data(as_text=True)
    assert grants(after) == grants(before) + Decimal("12345.67")
    uncached = make_app(first.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    fresh = signed_in(uncached, world.committee.email)
    assert fresh.get("/dashboard/income-by-stream.csv").get_data(as_text=True) == after
    with uncached.app_context():
        db.engine.dispose()


def test_a_write_rolled_back_also_throws_the_figures_away(workers):
    """A figure read inside the transaction may have seen its writes: after the rollback it
    must not be served."""
    first, _, world = workers
    with first.app_context():
        from app.cache import figures_token
        from app.models import Grant

        token = figures_token()
        db.session.rollback()
        assert figures_token() == token  # nothing written, nothing thrown away
        db.session.add(
            Grant(
                source="Council",
                description="Never happened",
                amount_pence=999_999,
                received_on=london_today(),
                recorded_by_id=world.admin.id,
            )
        )
        db.session.flush()
        db.session.rollback()
        assert figures_token() != token


def test_sign_ins_do_not_throw_the_figures_away(workers):
    first, _, world = workers
    client = signed_in(first, world.committee.email)
    client.get("/dashboard")
    seen = statements(first)
    signed_in(first, world.sbm_a.email)  # writes users / throttles / audit only
    seen.clear()
    client.get("/dashboard")
    warm = len(seen)
    with first.app_context():
        from app.cache import figures_changed

        figures_changed()
    seen.clear()
    client.get("/dashboard")
    assert warm < len(seen)


# Pages (cached_page): the same person, the same session, nothing written since ---------------


def test_a_page_seen_again_is_served_from_the_cache_with_only_the_sign_in_check(workers):
    first, _, world = workers
    client = signed_in(first, world.sbm_a.email)
    seen = statements(first)
    page = client.get("/services")
    assert page.status_code == 200 and "School counselling" in page.get_data(as_text=True)
    cold = len(seen)
    seen.clear()
    again = client.get("/services")
    assert again.status_code == 200 and again.get_data() == page.get_data()
    assert len(seen) <= 2 < cold, (cold, seen)  # loading the signed-in user, nothing else


def test_a_write_in_one_worker_shows_on_the_next_view_of_a_cached_page_in_the_other(workers):
    first, second, world = workers
    reader = signed_in(second, world.sbm_a.email)
    assert "School counselling" in reader.get("/services").get_data(as_text=True)
    assert "School counselling" in reader.get("/services").get_data(as_text=True)  # cached
    with first.app_context():
        from marketplace.catalogue.models import Service

        by_slug = sa.select(Service).where(Service.slug == "counselling-test")
        service = db.session.scalar(by_slug)
        service.name = "Counselling for pupils"
        db.session.commit()
    page = reader.get("/services").get_data(as_text=True)
    assert "Counselling for pupils" in page and "School counselling" not in page
    with first.app_context():
        service = db.session.scalar(by_slug)
        service.name = "School counselling"
        db.session.commit()


def test_another_session_of_the_same_person_gets_a_page_of_its_own(workers):
    """Forms on a page carry a CSRF token made from the session's secret: a page cached for one
    session would refuse the other's forms."""
    first, _, world = workers
    one = signed_in(first, world.sbm_a.email)
    other = signed_in(first, world.sbm_a.email)
    one.get("/services")
    one.get("/services")
    seen = statements(first)
    other.get("/services")  # its first view: rendered, not the first session's page
    assert len(seen) > 2, seen
    seen.clear()
    other.get("/services")
    assert len(seen) <= 2, seen


def test_a_message_waiting_is_shown_once_and_never_served_again_from_the_cache(workers):
    first, _, world = workers
    client = signed_in(first, world.sbm_a.email)
    client.get("/services")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Your basket was sent")]
    assert "Your basket was sent" in client.get("/services").get_data(as_text=True)
    assert "Your basket was sent" not in client.get("/services").get_data(as_text=True)
    assert "Your basket was sent" not in client.get("/services").get_data(as_text=True)


def test_a_cached_page_is_not_served_after_signing_out(workers):
    first, _, world = workers
    client = signed_in(first, world.sbm_a.email)
    client.get("/services")
    client.get("/services")
    page = client.get("/services")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    answer = client.get("/services")
    assert answer.status_code == 302 and "/sign-in" in answer.location


def test_the_headers_counts_follow_a_write_in_another_worker(workers):
    """The header's unread notifications (cached per person) and the page around them."""
    first, second, world = workers
    reader = signed_in(second, world.sbm_a.email)
    reader.get("/services")
    before = unread(reader.get("/services").get_data(as_text=True))
    with first.app_context():
        from app.notifications.models import Notification

        db.session.add(
            Notification(
                user_id=world.sbm_a.id,
                key=f"cache-test-{uuid.uuid4().hex}",
                kind="order_status",
                title="Your order was confirmed",
            )
        )
        db.session.commit()
    assert unread(reader.get("/services").get_data(as_text=True)) == before + 1


def unread(page: str) -> int:
    found = re.search(r'app-header__count">(\d+)<span class="govuk-visually-hidden"> unread', page)
    return int(found.group(1)) if found else 0
