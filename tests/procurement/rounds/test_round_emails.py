"""Who is emailed about a buying round: opening, closing reminders, award, cancellation."""

from __future__ import annotations

from datetime import time, timedelta

from app.extensions import db
from app.models import Role
from app.time import london_date, london_instant, utcnow
from procurement.rounds.award import award_run
from procurement.rounds.emails import send_closing_reminders
from procurement.rounds.lifecycle import cancel_round, open_round
from tests import factories
from tests.procurement.rounds.factories import (
    close,
    make_round_world,
    pledge,
    run_now,
)
from tests.support.outbox import emails, notifications, recipients
from tests.support.smtp import link_in, text_of


def test_opening_a_round_emails_the_sbms_of_member_schools(world, mailbox):
    outsider = factories.make_school(is_member=False)
    factories.make_user(Role.SBM, school=outsider)
    rw = make_round_world(world)
    assert recipients("round_opened") == {world.sbm_a.email, world.sbm_b.email}
    [message] = mailbox.wait_for(world.sbm_a.email)
    assert message["Subject"] == "Buying round open: Counselling next spring"
    assert "School counselling" in text_of(message)
    assert link_in(message, f"/rounds/{rw.buying_round.id}")


def test_a_draft_round_emails_nobody_until_it_is_opened(world):
    rw = make_round_world(world, open_now=False)
    assert emails("round_opened") == []
    open_round(rw.buying_round.id, world.committee)
    assert recipients("round_opened") == {world.sbm_a.email, world.sbm_b.email}


def test_reminders_go_3_days_and_1_day_before_the_deadline_to_schools_that_have_not_pledged(
    world,
):
    today = london_date(utcnow())
    now = london_instant(today, time(7, 0))  # the reminders' morning run
    rw = make_round_world(world)
    assert send_closing_reminders(now) == 0  # 7 days to go
    rw.buying_round.pledge_deadline_at = london_instant(today + timedelta(days=3), time(17, 0))
    db.session.commit()
    pledge(rw, world.sbm_b, 4)
    assert send_closing_reminders(now) == 1
    [row] = emails("round_closing")
    assert row.recipient == world.sbm_a.email
    assert row.subject == "3 days left to pledge: Counselling next spring"
    assert "has not pledged" in row.text_body
    assert send_closing_reminders(now + timedelta(minutes=5)) == 0  # once per day count
    assert send_closing_reminders(now + timedelta(days=1)) == 0  # 2 days: no reminder
    assert send_closing_reminders(now + timedelta(days=2)) == 1
    assert emails("round_closing")[-1].subject == "1 day left to pledge: Counselling next spring"


def test_an_award_tells_each_participating_school_its_call_offs_charge_and_saving(world, mailbox):
    rw = make_round_world(world)
    pledge(rw, world.sbm_a, 10)
    close(rw)
    run = run_now(rw)
    award_run(rw.buying_round.id, run.id, world.committee)
    assert recipients("round_awarded") == {world.sbm_a.email, world.head_a.email}
    [message] = [m for m in mailbox.wait_for(world.sbm_a.email, 2) if "awarded" in m["Subject"]]
    body = text_of(message)
    assert "School counselling" in body and "from Alpha Counselling Ltd" in body
    assert "You pay £2,500.00 in total" in body
    assert "save £0.00" in body
    assert link_in(message, f"/rounds/{rw.buying_round.id}/schools/{world.school_a.id}")
    titles = [n.title for n in notifications(world.head_a)]
    assert "Buying round awarded: Counselling next spring" in titles


def test_a_cancelled_round_tells_the_schools_that_pledged(world):
    rw = make_round_world(world)
    pledge(rw, world.sbm_b, 3)
    cancel_round(rw.buying_round.id, world.committee)
    [row] = [r for r in emails("round_awarded")]
    assert row.recipient == world.sbm_b.email
    assert row.subject == "Buying round cancelled: Counselling next spring"
