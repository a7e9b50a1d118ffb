"""Error pages: plain words, no stack traces, and the session rolled back after a 500."""

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import AuditEvent, School
from tests.conftest import make_app


@pytest.fixture
def failing_app(app, db_session, tmp_path) -> Flask:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    broken = make_app(uri, tmp_path, TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @broken.route("/boom")
    def boom():
        db.session.add(School(urn=1, name="Half-written"))
        db.session.flush()
        raise RuntimeError("secret internals")

    return broken


def test_an_unexpected_error_shows_a_plain_500_page_and_writes_nothing(failing_app):
    response = failing_app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in page and "Traceback" not in page
    assert "Sorry, there is a problem" in page
    with failing_app.app_context():
        assert db.session.get(School, 1) is None
        db.engine.dispose()


def test_a_forbidden_page_says_so(client, auth, world):
    auth.as_user(world.sbm_a)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "You cannot see this page" in response.get_data(as_text=True)


def test_a_nul_character_in_a_form_or_query_is_refused_with_a_reason(client, auth, world):
    auth.as_user(world.committee)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    posted = client.post("/tenders/new", data={"title": "Counselling\x00", "min_valid_bids": "1"})
    assert posted.status_code == 400
    assert "NUL character" in posted.get_data(as_text=True)
    searched = client.get("/tenders?q=%00")
    assert searched.status_code == 400 and "NUL character" in searched.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


@pytest.mark.parametrize("path", ["/admin/users", "/admin/schools", "/billing/invoices"])
def test_a_list_page_beyond_any_list_is_not_found_not_a_500(client, auth, world, path):
    auth.as_user(world.admin)
    assert client.get(f"{path}?page=1").status_code == 200
    for page in (str(2**63), "100001", "0", "-1", "²", "1e309"):
        assert client.get(f"{path}?page={page}").status_code == 404, page


def test_an_overlong_email_at_sign_in_is_refused_on_the_field(client, world):
    response = client.post("/sign-in", data={"email": "x" * 100_000, "password": "anything"})
    assert response.status_code < 500
    assert "254 characters or fewer" in response.get_data(as_text=True)
