"""Committee members are emailed 120, 90 and 30 days before a contract ends."""

from __future__ import annotations

from datetime import timedelta

from app.models import Role
from procurement.contracts.emails import send_ending_notices
from procurement.contracts.models import ContractStatus
from tests import factories
from tests.marketplace.billing.conftest import make_contract
from tests.support.outbox import emails, recipients


def test_committee_members_hear_120_90_and_30_days_before_a_contract_ends(world, mailbox):
    second = factories.make_user(Role.COMMITTEE)
    contract = make_contract(world.offer_a, reference="ELP-C-77")
    ends = contract.ends_on
    told_on = {}
    day = ends - timedelta(days=130)
    while day < ends:
        if send_ending_notices(day):
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
    assert send_ending_notices(told_on[30]) == 0  # once


def test_an_ended_or_pending_contract_sends_nothing(world):
    contract = make_contract(world.offer_a)
    contract.status = ContractStatus.PENDING
    assert send_ending_notices(contract.ends_on - timedelta(days=30)) == 0
    assert emails() == []
