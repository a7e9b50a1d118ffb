"""Email settings (straight away, daily digest, off; required messages always sent), the
07:00 digest, and the in-app notification list with its unread count."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Role
from app.notifications import inbox
from app.notifications.digest import send_digests
from app.notifications.kinds import Delivery, effective_delivery
from app.notifications.models import NotificationPreference, OutboxStatus
from app.notifications.services import notify
from app.time import utcnow
from tests import factories
from tests.support.outbox import emails, notifications
from tests.support.smtp import text_of


def tell(user, event, kind="contract_ending", subject="Contract 7 ends in 30 days"):
    notify(
        kind,
        [user],
        event=event,
        template="password_reset",
        subject=subject,
        link="/contracts/7",
    )
    db.session.commit()


def choose(user, **choices):
    inbox.save_preferences(user, {k: Delivery(v) for k, v in choices.items()})


def test_by_default_messages_are_emailed_straight_away(world):
    tell(world.committee, "e1")
    [row] = emails(to=world.committee)
    assert row.status is OutboxStatus.SENT


def test_off_sends_no_email_but_the_notification_still_shows(world):
    choose(world.committee, contract_ending="off")
    tell(world.committee, "e1")
    assert emails() == []
    assert [n.title for n in notifications(world.committee)] == ["Contract 7 ends in 30 days"]


def test_required_messages_cannot_be_turned_off(world):
    choose(world.sbm_a, password_reset="off", invitation="off", standstill_letter="off")
    assert db.session.scalars(sa.select(NotificationPreference)).all() == []
    # even a stray row cannot stop them
    db.session.add(
        NotificationPreference(
            user_id=world.sbm_a.id, kind="standstill_letter", delivery=Delivery.OFF
        )
    )
    db.session.commit()
    assert effective_delivery("standstill_letter", Delivery.OFF) is Delivery.IMMEDIATELY
    tell(world.sbm_a, "s1", kind="standstill_letter", subject="Award decision")
    assert [r.subject for r in emails(to=world.sbm_a)] == ["Award decision"]


def test_digest_messages_wait_and_go_out_together_at_seven(world, mailbox):
    choose(world.committee, contract_ending="digest")
    tell(world.committee, "e1", subject="Contract 7 ends in 30 days")
    tell(world.committee, "e2", subject="Contract 8 ends in 90 days")
    tell(world.sbm_a, "e3")  # straight away for someone who did not choose
    assert [r.status for r in emails(to=world.committee)] == [OutboxStatus.HELD] * 2
    assert mailbox.to(world.committee.email) == []

    assert send_digests(utcnow() + timedelta(minutes=1)) == 1
    [digest] = mailbox.wait_for(world.committee.email)
    assert digest["Subject"].startswith("Pooled: 2 updates for ")
    body = text_of(digest)
    assert "Contract 7 ends in 30 days" in body and "Contract 8 ends in 90 days" in body
    rows = emails(to=world.committee)
    assert [r.status for r in rows[:2]] == [OutboxStatus.DIGESTED] * 2
    assert rows[0].digest_id == rows[2].id and rows[2].kind == "digest"

    assert send_digests(utcnow() + timedelta(minutes=2)) == 0  # nothing left, nothing twice
    assert len(mailbox.to(world.committee.email)) == 1


def test_the_email_settings_page_saves_choices(client, auth, world):
    auth.as_user(world.sbm_a)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "Email settings" in page and "Buying rounds closing soon" in page
    assert "Password resets" in page  # listed as always emailed
    response = client.post(
        "/account/notifications", data={"round_closing": "digest", "invoice": "off"}
    )
    assert response.status_code == 302
    prefs = inbox.preferences(world.sbm_a.id)
    assert prefs["round_closing"] is Delivery.DIGEST and prefs["invoice"] is Delivery.OFF
    assert prefs["order_decided"] is Delivery.IMMEDIATELY


def test_an_unknown_choice_is_refused_with_a_message(client, auth, world):
    auth.as_user(world.sbm_a)
    response = client.post("/account/notifications", data={"invoice": "sometimes"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert inbox.preferences(world.sbm_a.id)["invoice"] is Delivery.IMMEDIATELY


def test_the_header_counts_unread_notifications_and_opening_one_reads_it(client, auth, world):
    tell(world.committee, "e1")
    tell(world.committee, "e2", subject="Contract 8 ends in 90 days")
    auth.as_user(world.committee)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Contract 8 ends in 90 days" in page
    assert 'app-header__count">2<' in page
    first = notifications(world.committee)[0]
    response = client.get(f"/notifications/{first.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/contracts/7"
    assert 'app-header__count">1<' in client.get("/notifications").get_data(as_text=True)
    client.post("/notifications/read")
    assert "app-header__count" not in client.get("/notifications").get_data(as_text=True)


def test_nobody_opens_another_persons_notification(client, auth, world):
    tell(world.committee, "e1")
    [note] = notifications(world.committee)
    other = factories.make_user(Role.COMMITTEE)
    auth.as_user(other)
    assert client.get(f"/notifications/{note.id}").status_code == 404
    db.session.refresh(note)
    assert note.read_at is None


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get("/notifications").status_code == 302
    assert client.get("/account/notifications").status_code == 302


def test_a_page_number_out_of_range_is_not_found_not_a_server_error(client, auth, world):
    tell(world.committee, "e1")
    auth.as_user(world.committee)
    for page in (str(2**63), "-1", "abc", "0"):
        assert client.get(f"/notifications?page={page}").status_code == 404, page
    assert client.get("/notifications?page=1").status_code == 200
