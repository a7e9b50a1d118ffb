"""Signing in and out, lockout after repeated failures, CSRF and cookie settings."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g

from app.extensions import db
from app.models import AuditEvent, LoginThrottle, Role
from app.time import utcnow
from tests import factories

CLIENT = "127.0.0.1"  # the Flask test client's address
STRANGER = "203.0.113.9"


def sign_in_from(client, address, email, password=factories.PASSWORD):
    return client.post(
        "/sign-in",
        data={"email": email, "password": password},
        environ_overrides={"REMOTE_ADDR": address},
    )


@pytest.mark.parametrize("role", list(Role))
def test_every_role_signs_in_and_lands_on_its_home_page(client, auth, world, role):
    user = {
        Role.ADMIN: world.admin,
        Role.COMMITTEE: world.committee,
        Role.SBM: world.sbm_a,
        Role.HEAD: world.head_a,
        Role.PROVIDER: world.provider_user_a,
        Role.TRUST: world.trust_user,
        Role.GOVERNOR: world.governor_a,
    }[role]
    response = auth.login(user.email)
    assert response.status_code == 302 and response.location.endswith("/home")
    page = client.get("/home").get_data(as_text=True)
    assert "What you can do next" in page
    assert user.email in page


def test_email_addresses_are_not_case_sensitive(client, auth, world):
    assert auth.login(world.sbm_a.email.upper()).status_code == 302


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(client, auth, world):
    response = auth.login(world.sbm_a.email, "not the password")
    assert response.status_code == 200
    assert "Email address or password is not right" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # still signed out


def test_repeated_failures_lock_the_address_for_a_while_with_a_clear_message(client, auth, world):
    for _ in range(4):
        auth.login(world.sbm_a.email, "wrong")
    locked = auth.login(world.sbm_a.email, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.get_data(as_text=True)
    # Even the right password is refused while locked.
    still_locked = auth.login(world.sbm_a.email)
    assert still_locked.status_code == 429
    assert client.get("/home").status_code == 302


def test_the_lock_lifts_after_the_lock_period(client, auth, world):
    for _ in range(5):
        auth.login(world.sbm_a.email, "wrong")
    throttle = db.session.get(LoginThrottle, (world.sbm_a.email, CLIENT))
    throttle.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert auth.login(world.sbm_a.email).status_code == 302
    assert db.session.get(LoginThrottle, (world.sbm_a.email, CLIENT)) is None


def test_unknown_addresses_are_locked_too_so_locks_reveal_nothing(client, auth):
    for _ in range(5):
        response = auth.login("nobody@example.test", "wrong")
    assert response.status_code == 429


def test_a_deactivated_user_cannot_sign_in(client, auth, db_session):
    user = factories.make_user(Role.ADMIN, active=False)
    response = auth.login(user.email)
    assert response.status_code == 200
    assert "deactivated" in response.get_data(as_text=True)


def test_a_deactivated_user_is_signed_out_at_the_next_request(client, auth, world):
    auth.as_user(world.sbm_b)
    world.sbm_b.active = False
    db.session.commit()
    assert client.get("/home").status_code == 302


def test_signing_out_needs_a_post(client, auth, world):
    auth.as_user(world.sbm_a)
    assert client.get("/sign-out").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/home").status_code == 302


def test_posts_without_a_csrf_token_are_refused(client, world, csrf_enabled):
    response = client.post(
        "/sign-in", data={"email": world.sbm_a.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/home").status_code == 302


def test_a_post_with_the_form_csrf_token_works(client, world, csrf_enabled):
    import re

    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token, page
    response = client.post(
        "/sign-in",
        data={
            "email": world.sbm_a.email,
            "password": factories.PASSWORD,
            "csrf_token": token.group(1),
        },
    )
    assert response.status_code == 302


def test_session_cookies_are_http_only_and_same_site(client, auth, world):
    response = auth.login(world.sbm_a.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_the_next_parameter_never_sends_people_off_site(client, world):
    response = client.post(
        "/sign-in?next=https://evil.example/",
        data={"email": world.sbm_a.email, "password": factories.PASSWORD},
    )
    assert response.location.endswith("/home")


def test_a_failed_sign_in_leaves_a_throttle_row(client, auth, world):
    auth.login(world.sbm_a.email, "wrong")
    row = db.session.scalar(
        sa.select(LoginThrottle).where(LoginThrottle.email == world.sbm_a.email)
    )
    assert row is not None and row.failures == 1


def test_a_stranger_locking_an_address_does_not_lock_its_owner_out(client, auth, world):
    for _ in range(5):
        locked = sign_in_from(client, STRANGER, world.sbm_a.email, "guess")
    assert locked.status_code == 429
    assert sign_in_from(client, STRANGER, world.sbm_a.email).status_code == 429
    # The owner, from their own client, signs in as usual.
    assert auth.login(world.sbm_a.email).status_code == 302


def test_a_lockout_is_recorded_in_the_audit_trail(client, world):
    for _ in range(5):
        sign_in_from(client, STRANGER, world.sbm_a.email, "guess")
    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "sign_in", AuditEvent.action == "locked"
        )
    )
    assert event is not None
    assert event.entity_id == world.sbm_a.email
    assert event.after["client"] == STRANGER


def test_a_client_guessing_across_many_addresses_is_locked_as_a_whole(client, auth, app, world):
    limit = app.config["LOGIN_CLIENT_MAX_FAILURES"]
    for number in range(limit):
        response = sign_in_from(client, STRANGER, f"someone{number}@example.test", "guess")
    assert response.status_code == 429
    assert "from your network" in response.get_data(as_text=True)
    assert sign_in_from(client, STRANGER, world.sbm_a.email).status_code == 429
    assert auth.login(world.sbm_a.email).status_code == 302  # other clients are not affected


def _session_cookie(client):
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _next_request_loads_the_user_again():
    """The test fixtures keep one app context for the whole test, so Flask-Login's per-request
    cache of the signed-in user (on `g`) would outlive the request that filled it."""
    g.pop("_login_user", None)


def test_a_session_cookie_saved_before_sign_out_no_longer_works(client, auth, world):
    auth.as_user(world.sbm_a)
    saved = _session_cookie(client)
    assert client.get("/home").status_code == 200
    auth.logout()
    client.set_cookie("session", saved)
    _next_request_loads_the_user_again()
    assert client.get("/home").status_code == 302


def test_a_new_password_ends_the_users_other_sessions(client, auth, world):
    auth.as_user(world.sbm_a)
    saved = _session_cookie(client)
    world.sbm_a.set_password("a brand new passphrase")
    db.session.commit()
    client.set_cookie("session", saved)
    _next_request_loads_the_user_again()
    assert client.get("/home").status_code == 302


def test_deactivating_a_user_ends_their_sessions_even_after_reactivation(client, auth, app, world):
    auth.as_user(world.sbm_a)
    saved = _session_cookie(client)
    other = app.test_client()
    _next_request_loads_the_user_again()
    assert (
        other.post(
            "/sign-in", data={"email": world.admin.email, "password": factories.PASSWORD}
        ).status_code
        == 302
    )
    for active in ("0", "1"):
        _next_request_loads_the_user_again()
        response = other.post(f"/admin/users/{world.sbm_a.id}/active", data={"active": active})
        assert response.status_code == 302
    client.set_cookie("session", saved)
    _next_request_loads_the_user_again()
    assert client.get("/home").status_code == 302
