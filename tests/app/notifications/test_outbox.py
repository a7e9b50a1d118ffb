"""The outbox: one email per event and recipient, sent once however often the job runs,
failures kept with their error and retried; .eml files without a mail server; the Outbox page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Role
from app.notifications import delivery
from app.notifications.delivery import ClaimHeld, DeliveryFailed, send_message
from app.notifications.models import Notification, OutboxMessage, OutboxStatus
from app.notifications.services import notify
from app.notifications.tasks import send_email
from app.time import utcnow
from tests import factories
from tests.support.browser import free_port
from tests.support.outbox import emails


def tell(users, event="contract-7-ending-30"):
    rows = notify(
        "contract_ending",
        users,
        event=event,
        template="password_reset",  # any template: the outbox does not care what it says
        subject="Something happened",
        link="/contracts/7",
        about=("contract", 7),
    )
    db.session.commit()
    return rows


def test_the_same_event_told_twice_writes_and_sends_one_email(world, mailbox):
    tell([world.committee])
    tell([world.committee, world.committee])
    assert len(emails(to=world.committee)) == 1
    assert len(mailbox.wait_for(world.committee.email)) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == world.committee.id)
        )
        == 1
    )
    [row] = emails()
    assert (row.key, row.subject_type, row.subject_id) == (
        f"contract-7-ending-30:{world.committee.id}",
        "contract",
        "7",
    )


def test_a_send_job_run_twice_sends_one_smtp_message(world, mailbox):
    [row] = tell([world.committee])
    mailbox.wait_for(world.committee.email)
    assert send_message(row.id) is False
    send_email(row.id)  # the job's function, run again in this process
    assert len(mailbox.to(world.committee.email)) == 1
    db.session.refresh(row)
    assert row.status is OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None


def test_a_message_claimed_by_another_worker_is_not_sent_again_and_the_job_waits(
    world, mailbox, app
):
    app.config["MAIL_SERVER"] = ""  # hold it: no SMTP while we set the claim up
    [row] = tell([world.committee])
    row.status, row.claimed_at = OutboxStatus.SENDING, utcnow()
    db.session.commit()
    app.config["MAIL_SERVER"] = "127.0.0.1"
    with pytest.raises(ClaimHeld):  # the queue tries again later
        send_message(row.id)
    assert mailbox.to(world.committee.email) == []


def test_a_claim_whose_worker_died_is_taken_over_after_the_timeout(world, mailbox, app):
    app.config["MAIL_SERVER"] = ""
    [row] = tell([world.committee])
    row.status = OutboxStatus.SENDING
    row.claimed_at = utcnow() - timedelta(seconds=app.config["MAIL_CLAIM_SECONDS"] + 1)
    db.session.commit()
    app.config["MAIL_SERVER"] = "127.0.0.1"
    assert send_message(row.id) is True
    assert len(mailbox.wait_for(world.committee.email)) == 1


def test_inactive_people_are_not_told(world):
    gone = factories.make_user(Role.COMMITTEE, active=False)
    tell([gone])
    assert emails() == []


@pytest.fixture
def dead_mail_server(app):
    saved = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    yield
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = saved


def test_a_failed_send_keeps_the_error_and_is_retried_until_it_gives_up(world, dead_mail_server):
    [row] = tell([world.committee])  # the job ran on commit, and failed
    db.session.refresh(row)
    assert row.status is OutboxStatus.QUEUED and row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    for _ in range(delivery.MAIL_MAX_ATTEMPTS - 1):
        with pytest.raises(DeliveryFailed):
            send_message(row.id)
    db.session.refresh(row)
    assert row.status is OutboxStatus.FAILED and row.attempts == delivery.MAIL_MAX_ATTEMPTS
    assert send_message(row.id) is False  # a failed one waits for an admin


def test_the_outbox_page_shows_failures_and_an_admin_sends_one_again(
    client, auth, world, app, smtp_server
):
    box, port = smtp_server
    box.clear()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    try:
        [row] = tell([world.committee])
        row.status, row.attempts = OutboxStatus.FAILED, delivery.MAIL_MAX_ATTEMPTS
        db.session.commit()
        auth.as_user(world.admin)
        page = client.get("/admin/outbox").get_data(as_text=True)
        assert "1 failed to send" in page and "Something happened" in page
        assert "ConnectionRefusedError" in page
        detail = client.get(f"/admin/outbox/{row.id}").get_data(as_text=True)
        assert "Send again" in detail and world.committee.email in detail
        app.config["MAIL_PORT"] = port  # the mail server is back
        response = client.post(f"/admin/outbox/{row.id}/retry")
        assert response.status_code == 302
        assert len(box.wait_for(world.committee.email)) == 1
        db.session.refresh(row)
        assert row.status is OutboxStatus.SENT
    finally:
        app.config["MAIL_SERVER"] = ""
        box.clear()


@pytest.mark.parametrize("role", [Role.COMMITTEE, Role.SBM, Role.HEAD, Role.PROVIDER])
def test_only_admins_see_the_outbox(client, auth, world, role):
    user = {
        Role.COMMITTEE: world.committee,
        Role.SBM: world.sbm_a,
        Role.HEAD: world.head_a,
        Role.PROVIDER: world.provider_user_a,
    }[role]
    [row] = tell([world.committee])
    auth.as_user(user)
    assert client.get("/admin/outbox").status_code == 403
    assert client.get(f"/admin/outbox/{row.id}").status_code == 403
    assert client.get(f"/admin/outbox/{row.id}/html").status_code == 403


def test_the_admin_reads_an_eml_written_without_a_mail_server(client, auth, world, app):
    assert not app.config["MAIL_SERVER"]
    [row] = tell([world.committee])
    db.session.refresh(row)
    assert row.status is OutboxStatus.SENT
    auth.as_user(world.admin)
    detail = client.get(f"/admin/outbox/{row.id}").get_data(as_text=True)
    assert f"outbox-{row.id:06d}.eml" in detail
    assert "/contracts/7" in detail
    html = client.get(f"/admin/outbox/{row.id}/html").get_data(as_text=True)
    assert "<a href=" in html


def test_the_outbox_filters_by_status(client, auth, world):
    [row] = tell([world.committee])
    auth.as_user(world.admin)
    assert "Something happened" in client.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert "Something happened" not in client.get("/admin/outbox?status=failed").get_data(
        as_text=True
    )
    assert client.get("/admin/outbox?status=nonsense").status_code == 200
    assert db.session.get(OutboxMessage, row.id) is not None


def test_an_outbox_page_number_out_of_range_is_not_found_not_a_server_error(client, auth, world):
    tell([world.committee])
    auth.as_user(world.admin)
    assert client.get(f"/admin/outbox?page={2**63}").status_code == 404
    assert client.get("/admin/outbox?page=x").status_code == 404
    assert client.get("/admin/outbox?page=1").status_code == 200
