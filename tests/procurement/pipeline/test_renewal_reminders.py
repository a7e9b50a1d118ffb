"""Committee members are reminded 120, 90 and 30 days before a contract ends, once each, with
the decision recorded so far; a missed morning catches up without a stale reminder."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Role
from procurement.contracts.models import ContractStatus
from procurement.pipeline import services
from procurement.pipeline.emails import send_renewal_reminders
from procurement.pipeline.models import RenewalReminder
from procurement.pipeline.rules import RenewalChoice
from tests import factories
from tests.marketplace.billing.conftest import make_contract
from tests.support.outbox import emails, recipients


def _reminders(contract_id):
    return sorted(
        db.session.scalars(
            sa.select(RenewalReminder.days_before).where(RenewalReminder.contract_id == contract_id)
        )
    )


def test_committee_members_hear_120_90_and_30_days_before_a_contract_ends(world, mailbox):
    second = factories.make_user(Role.COMMITTEE)
    contract = make_contract(world.offer_a, reference="ELP-C-77")
    ends = contract.ends_on
    told_on = {}
    day = ends - timedelta(days=130)
    while day < ends:
        if send_renewal_reminders(day):
            told_on[(ends - day).days] = day
        day += timedelta(days=1)
    assert sorted(told_on) == [30, 90, 120]
    assert recipients("contract_ending") == {world.committee.email, second.email}
    subjects = [r.subject for r in emails("contract_ending", to=world.committee)]
    assert subjects == [
        "Contract ELP-C-77 ends in 120 days",
        "Contract ELP-C-77 ends in 90 days",
        "Contract ELP-C-77 ends in 30 days",
    ]
    assert len(mailbox.wait_for(second.email, 3)) == 3
    assert _reminders(contract.id) == [30, 90, 120]
    assert send_renewal_reminders(told_on[30]) == 0  # once


def test_the_reminder_says_what_was_decided_and_links_to_the_pipeline(world):
    contract = make_contract(world.offer_a, reference="ELP-C-78")
    db.session.commit()
    services.record_decision(
        contract.id,
        world.committee,
        RenewalChoice.LAPSE,
        "Nobody uses it",
        contract.ends_on - timedelta(days=200),
    )
    assert send_renewal_reminders(contract.ends_on - timedelta(days=90)) == 1
    (sent,) = emails("contract_ending", to=world.committee)
    assert "Decided so far: let it lapse." in sent.text_body
    assert "/pipeline" in sent.text_body
    assert f"/contracts/{contract.id}" in sent.text_body


def test_a_missed_morning_sends_the_nearest_reminder_and_never_the_stale_one(world):
    contract = make_contract(world.offer_a)
    ends = contract.ends_on
    assert send_renewal_reminders(ends - timedelta(days=85)) == 1
    assert _reminders(contract.id) == [90]
    assert send_renewal_reminders(ends - timedelta(days=84)) == 0  # not the 120-day one now
    assert send_renewal_reminders(ends - timedelta(days=25)) == 1
    assert _reminders(contract.id) == [30, 90]


def test_an_ended_or_pending_contract_sends_nothing(world):
    contract = make_contract(world.offer_a)
    contract.status = ContractStatus.PENDING
    db.session.flush()
    assert send_renewal_reminders(contract.ends_on - timedelta(days=30)) == 0
    contract.status = ContractStatus.EXPIRED
    db.session.flush()
    assert send_renewal_reminders(contract.ends_on - timedelta(days=30)) == 0
    assert emails() == []
    assert _reminders(contract.id) == []
