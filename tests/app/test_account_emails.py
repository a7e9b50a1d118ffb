"""Invitations and password resets: signed single-use links, emailed through a real SMTP
server (aiosmtpd on 127.0.0.1), that work end to end through the app."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from app.extensions import db
from app.models import AuditEvent, Role, User
from app.notifications.models import OutboxMessage, OutboxStatus
from tests import factories
from tests.support.smtp import link_in, text_of


def path_of(url: str) -> str:
    return urlsplit(url).path


def outbox_count(**where: object) -> int:
    stmt = sa.select(sa.func.count()).select_from(OutboxMessage)
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    return db.session.scalar(stmt) or 0


def test_the_sign_in_page_links_to_forgot_your_password(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert "Forgot your password?" in page and 'href="/forgot-password"' in page


def test_a_password_reset_email_arrives_and_its_link_sets_a_password_that_signs_in(
    client, auth, world, mailbox, app
):
    other_device = app.test_client()
    assert (
        other_device.post(
            "/sign-in", data={"email": world.sbm_a.email, "password": factories.PASSWORD}
        ).status_code
        == 302
    )

    page = client.post("/forgot-password", data={"email": world.sbm_a.email.upper()})
    assert "Check your email" in page.get_data(as_text=True)
    [message] = mailbox.wait_for(world.sbm_a.email)
    assert message["Subject"] == "Reset your Pooled password"
    assert "works once, for 1 hour" in text_of(message)
    url = link_in(message, "/reset-password/")
    assert url.startswith(app.config["BASE_URL"])

    form = client.get(path_of(url))
    assert "Choose a new password" in form.get_data(as_text=True)
    done = client.post(
        path_of(url), data={"password": "a brand new password", "confirm": "a brand new password"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign-in")
    # the other device's session ended
    g.pop("_login_user", None)  # the fixtures keep one app context: forget the cached user
    assert other_device.get("/orders").status_code == 302
    assert auth.login(world.sbm_a.email, factories.PASSWORD).status_code == 200  # old one
    assert auth.login(world.sbm_a.email, "a brand new password").status_code == 302
    # the link worked once
    again = client.get(path_of(url))
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_the_reset_request_says_the_same_whether_or_not_the_address_exists(client, world):
    known = client.post("/forgot-password", data={"email": world.sbm_a.email})
    unknown = client.post("/forgot-password", data={"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace(world.sbm_a.email, "X") == unknown.get_data(
        as_text=True
    ).replace("nobody@example.test", "X")
    assert outbox_count(recipient="nobody@example.test") == 0
    assert outbox_count(recipient=world.sbm_a.email, kind="password_reset") == 1


def test_reset_requests_are_throttled_per_address(client, world, app):
    limit = app.config["PASSWORD_RESET_MAX_PER_HOUR"]
    for _ in range(limit + 2):
        assert (
            client.post("/forgot-password", data={"email": world.head_a.email}).status_code == 200
        )
    assert outbox_count(recipient=world.head_a.email) == limit


def test_a_deactivated_account_gets_no_reset_email(client, db_session):
    user = factories.make_user(Role.SBM, school=factories.make_school(), active=False)
    client.post("/forgot-password", data={"email": user.email})
    assert outbox_count(recipient=user.email) == 0


def test_a_reset_link_expires_after_an_hour(client, world, monkeypatch):
    client.post("/forgot-password", data={"email": world.sbm_a.email})
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    url = next(w for w in row.text_body.split() if "/reset-password/" in w)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3601)
    page = client.get(path_of(url))
    assert page.status_code == 400 and "has expired" in page.get_data(as_text=True)


def test_a_tampered_link_is_refused_and_sets_nothing(client, world):
    client.post("/forgot-password", data={"email": world.sbm_a.email})
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    url = next(w for w in row.text_body.split() if "/reset-password/" in w)
    bad = path_of(url)[:-3] + "xyz"
    before = world.sbm_a.password_hash
    response = client.post(
        bad, data={"password": "a brand new password", "confirm": "a brand new password"}
    )
    assert response.status_code == 400
    db.session.refresh(world.sbm_a)
    assert world.sbm_a.password_hash == before


def test_a_short_or_mismatched_new_password_is_refused(client, world):
    client.post("/forgot-password", data={"email": world.sbm_a.email})
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    path = path_of(next(w for w in row.text_body.split() if "/reset-password/" in w))
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert "at least 10 characters" in short.get_data(as_text=True)
    mismatch = client.post(path, data={"password": "a long password", "confirm": "another one!"})
    assert "do not match" in mismatch.get_data(as_text=True)
    assert world.sbm_a.check_password(factories.PASSWORD)


def test_the_admin_invites_someone_who_sets_their_own_password_from_the_email(
    client, auth, world, mailbox, app
):
    auth.as_user(world.admin)
    response = client.post(
        "/admin/users/new",
        data={
            "name": "New SBM",
            "email": "New.SBM@Example.org",
            "role": "sbm",
            "school_id": world.school_b.id,
            "provider_id": 0,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.sbm@example.org"))
    assert user.role is Role.SBM and user.school_id == world.school_b.id
    assert user.invited_at is not None
    [message] = mailbox.wait_for("new.sbm@example.org")
    assert "invited you to Pooled" in text_of(message)
    url = link_in(message, "/invitation/")
    auth.logout()
    page = client.get(path_of(url)).get_data(as_text=True)
    assert "Welcome to Pooled, New SBM" in page and "Beta High School" in page
    assert (
        client.post(
            path_of(url), data={"password": "my own password", "confirm": "my own password"}
        ).status_code
        == 302
    )
    assert auth.login("new.sbm@example.org", "my own password").status_code == 302
    db.session.refresh(user)
    assert user.invited_at is None
    assert client.get(path_of(url)).status_code == 400  # single use
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id)
        )
    ).all()
    assert set(actions) == {"invited", "invitation_accepted"}


def test_nobody_types_another_persons_password_any_more(client, auth, world):
    auth.as_user(world.admin)
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'type="password"' not in page


def test_an_invitation_link_expires_after_seven_days(client, world, monkeypatch, runner):
    result = runner.invoke(
        args=[
            "users",
            "invite",
            "--email",
            "late@example.org",
            "--name",
            "Late",
            "--role",
            "committee",
        ]
    )
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 7 * 86400 + 60)
    page = client.get(path_of(url))
    assert page.status_code == 400 and "has expired" in page.get_data(as_text=True)


def test_an_invited_person_cannot_sign_in_before_setting_a_password(client, auth, runner, world):
    runner.invoke(
        args=["users", "invite", "--email", "x@example.org", "--name", "X", "--role", "admin"]
    )
    assert auth.login("x@example.org", "").status_code != 302
    assert auth.login("x@example.org", factories.PASSWORD).status_code != 302


def test_flask_users_invite_emails_and_prints_the_link(runner, world, mailbox, client):
    result = runner.invoke(
        args=[
            "users",
            "invite",
            "--email",
            "Head@Example.org",
            "--name",
            "A Head",
            "--role",
            "head",
            "--school-urn",
            str(world.school_a.urn),
        ]
    )
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert "/invitation/" in url
    [message] = mailbox.wait_for("head@example.org")
    assert link_in(message, "/invitation/") == url
    assert client.get(path_of(url)).status_code == 200


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--role", "sbm"], "Choose the school"),
        (["--role", "sbm", "--school-urn", "1"], "No school with URN 1"),
        (["--role", "provider", "--provider", "Nobody Ltd"], "No provider called 'Nobody Ltd'"),
        (["--role", "wizard"], "Invalid value for '--role'"),
    ],
)
def test_flask_users_invite_refuses_bad_input_and_writes_nothing(runner, world, arguments, message):
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    result = runner.invoke(
        args=["users", "invite", "--email", "y@example.org", "--name", "Y", *arguments]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before
    assert outbox_count() == 0


def test_inviting_an_address_that_has_an_account_is_refused(runner, world):
    result = runner.invoke(
        args=["users", "invite", "--email", world.sbm_a.email, "--name", "Y", "--role", "admin"]
    )
    assert result.exit_code != 0 and "There is already an account" in result.output


def test_without_a_mail_server_each_email_is_written_as_an_eml_file(client, world, app):
    assert not app.config["MAIL_SERVER"]
    client.post("/forgot-password", data={"email": world.sbm_a.email})
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    assert row.status is OutboxStatus.SENT
    from pathlib import Path

    path = Path(app.config["MAIL_FOLDER"]) / f"outbox-{row.id:06d}.eml"
    content = path.read_text()
    assert "Subject: Reset your Pooled password" in content
    assert f"To: {world.sbm_a.email}" in content
    assert "multipart/alternative" in content


def test_the_head_invites_a_colleague_to_their_own_school(client, auth, world):
    auth.as_user(world.head_a)
    page = client.get("/account/invite").get_data(as_text=True)
    assert "Invite a colleague" in page and "Alpha Primary School" in page
    response = client.post(
        "/account/invite",
        data={"name": "New Head", "email": "newhead@example.org", "role": "head",
              "school_id": world.school_b.id},  # another school's id is ignored
    )  # fmt: skip
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "newhead@example.org"))
    assert (user.role, user.school_id) == (Role.HEAD, world.school_a.id)
    assert outbox_count(recipient="newhead@example.org", kind="invitation") == 1


def test_the_head_invites_a_chair_of_governors_as_second_approver(client, auth, world):
    auth.as_user(world.head_a)
    page = client.get("/account/invite").get_data(as_text=True)
    assert "Second approver (chair of governors)" in page
    response = client.post(
        "/account/invite",
        data={"name": "Chair", "email": "chair@example.org", "role": "governor"},
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "chair@example.org"))
    assert (user.role, user.school_id) == (Role.GOVERNOR, world.school_a.id)
    assert outbox_count(recipient="chair@example.org", kind="invitation") == 1


@pytest.mark.parametrize("who", ["sbm_a", "governor_a", "trust_user"])
def test_only_the_head_invites_the_schools_people(client, auth, world, who):
    auth.as_user(getattr(world, who))
    assert client.get("/account/invite").status_code == 403
    response = client.post(
        "/account/invite", data={"name": "X", "email": "x@example.org", "role": "sbm"}
    )
    assert response.status_code == 403
    assert outbox_count(kind="invitation") == 0


def test_the_head_cannot_invite_a_provider_an_admin_or_a_trust(client, auth, world):
    auth.as_user(world.head_a)
    for role in ("provider", "admin", "committee", "trust"):
        response = client.post(
            "/account/invite", data={"name": "X", "email": f"{role}@example.org", "role": role}
        )
        assert response.status_code == 400
        assert "Not a valid choice" in response.get_data(as_text=True)
    assert outbox_count(kind="invitation") == 0


def test_a_provider_user_invites_their_own_staff(client, auth, world):
    auth.as_user(world.provider_user_a)
    response = client.post(
        "/account/invite", data={"name": "Staff", "email": "staff@example.org", "role": "provider"}
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "staff@example.org"))
    assert (user.role, user.provider_id) == (Role.PROVIDER, world.provider_a.id)


def test_committee_members_and_admins_do_not_use_the_colleague_page(client, auth, world):
    auth.as_user(world.committee)
    assert client.get("/account/invite").status_code == 403


def test_may_invite_follows_the_rules(world):
    from app.accounts import may_invite

    assert may_invite(world.admin, Role.ADMIN, None, None)
    assert may_invite(world.head_a, Role.SBM, world.school_a.id, None)
    assert not may_invite(world.head_a, Role.SBM, world.school_b.id, None)
    assert may_invite(world.head_a, Role.GOVERNOR, world.school_a.id, None)
    assert not may_invite(world.sbm_a, Role.SBM, world.school_a.id, None)
    assert not may_invite(world.head_a, Role.TRUST, None, None)
    assert not may_invite(world.sbm_a, Role.PROVIDER, None, world.provider_a.id)
    assert may_invite(world.provider_user_a, Role.PROVIDER, None, world.provider_a.id)
    assert not may_invite(world.provider_user_a, Role.PROVIDER, None, world.provider_b.id)
    assert not may_invite(world.committee, Role.SBM, world.school_a.id, None)
