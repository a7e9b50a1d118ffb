"""Contract changes as use cases, on both databases: a proposal changes nothing until a second
committee member or admin approves it, which applies it at once and keeps before and after; a
rejected or withdrawn proposal changes nothing; termination stops contract pricing from its
date and leaves orders already placed alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.audit import events_in_scope
from app.calendar import Term
from app.extensions import db
from app.models import Role
from app.time import london_today
from marketplace.orders.models import OrderKind, OrderStatus
from procurement.contracts import amendments, calloffs, termination
from procurement.contracts.errors import (
    ContractChangeConflict,
    ContractChangeNotAllowed,
    InvalidContractChange,
    SecondApproverRequired,
)
from procurement.contracts.models import AmendmentKind, AmendmentStatus, ContractStatus
from procurement.contracts.prices import ContractRegisterPrices
from procurement.tenders.models import TenderRelease
from tests import factories
from tests.marketplace.conftest import draft
from tests.procurement.contracts.factories import (
    ROUND_SCHOOL_PRICE,
    propose,
    round_contract,
    tender_contract,
)
from tests.support.outbox import recipients


def _prices(contract) -> list[int]:
    db.session.refresh(contract)
    return [tier.unit_price_pence for tier in contract.tiers]


def test_an_indexation_changes_nothing_until_a_second_person_approves_it(world):
    cw = tender_contract(world)
    contract = cw.contract
    proposal = propose(contract, cw.committee)
    assert proposal.status is AmendmentStatus.PROPOSED and proposal.number == 1
    assert proposal.description == "Every price up 3.2% (indexation)"
    assert _prices(contract) == [23_457, 21_983]  # nothing changed yet

    approved = amendments.approve_amendment(contract.id, proposal.id, cw.committee2)
    assert approved.status is AmendmentStatus.APPROVED
    assert approved.decided_by_id == cw.committee2.id and approved.decided_at is not None
    assert _prices(contract) == [24_208, 22_686]  # each rounded half up to the penny
    assert approved.before == {"tiers": [[0, 23_457], [300, 21_983]], "school_prices": []}
    assert approved.after == {"tiers": [[0, 24_208], [300, 22_686]], "school_prices": []}
    actions = [e.action for e in events_in_scope(f"contract:{contract.id}")]
    assert actions == ["amendment proposed", "amendment 1 approved"]


def test_the_contract_prices_call_offs_at_the_approved_price(world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    term = Term.containing(london_today())
    price = ContractRegisterPrices().price_for(
        world.school_a.id, world.service.id, world.provider_a.id, term, 5
    )
    assert price.unit_price_pence == 23_457
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    price = ContractRegisterPrices().price_for(
        world.school_a.id, world.service.id, world.provider_a.id, term, 5
    )
    assert price.unit_price_pence == 24_208


def test_whoever_proposed_a_change_cannot_approve_it(world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    with pytest.raises(SecondApproverRequired, match="another committee member or admin"):
        amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee)
    db.session.refresh(proposal)
    assert proposal.status is AmendmentStatus.PROPOSED
    assert _prices(cw.contract) == [23_457, 21_983]
    # An admin is a second person too.
    amendments.approve_amendment(cw.contract.id, proposal.id, world.admin)
    assert _prices(cw.contract) == [24_208, 22_686]


@pytest.mark.parametrize("outcome", ["rejected", "withdrawn"])
def test_a_rejected_or_withdrawn_proposal_changes_nothing(world, outcome):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    releases = db.session.scalar(sa.select(sa.func.count()).select_from(TenderRelease))
    if outcome == "rejected":
        amendments.reject_amendment(
            cw.contract.id, proposal.id, cw.committee2, "Wait for the September CPI figure"
        )
    else:
        amendments.withdraw_amendment(cw.contract.id, proposal.id, cw.committee)
    db.session.refresh(proposal)
    assert proposal.status.value == outcome
    assert proposal.before is None and proposal.after is None
    assert _prices(cw.contract) == [23_457, 21_983]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderRelease)) == releases
    with pytest.raises(ContractChangeConflict, match="already been decided"):
        amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    assert _prices(cw.contract) == [23_457, 21_983]


def test_only_someone_else_rejects_and_only_the_proposer_withdraws(world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    with pytest.raises(SecondApproverRequired, match="withdraw it instead"):
        amendments.reject_amendment(cw.contract.id, proposal.id, cw.committee, "No")
    with pytest.raises(ContractChangeNotAllowed, match="Only whoever proposed"):
        amendments.withdraw_amendment(cw.contract.id, proposal.id, cw.committee2)
    with pytest.raises(InvalidContractChange, match="Say why") as refused:
        amendments.reject_amendment(cw.contract.id, proposal.id, cw.committee2, "   ")
    assert refused.value.field == "note"


@pytest.mark.parametrize("role", ["sbm", "head", "provider"])
def test_schools_and_providers_cannot_propose_or_approve(world, role):
    cw = tender_contract(world)
    user = {"sbm": world.sbm_a, "head": world.head_a, "provider": world.provider_user_a}[role]
    with pytest.raises(ContractChangeNotAllowed):
        propose(cw.contract, user)
    proposal = propose(cw.contract, cw.committee)
    with pytest.raises(ContractChangeNotAllowed):
        amendments.approve_amendment(cw.contract.id, proposal.id, user)
    assert _prices(cw.contract) == [23_457, 21_983]


def test_an_extension_needs_the_contract_to_allow_it(world):
    cw = tender_contract(world)
    contract = cw.contract
    old_end = contract.ends_on
    with pytest.raises(InvalidContractChange, match="does not allow an extension") as refused:
        propose(
            contract, cw.committee, AmendmentKind.EXTENSION, new_ends_on=old_end + timedelta(90)
        )
    assert refused.value.field == "new_ends_on"
    termination.set_extension_limit(contract.id, world.admin, old_end + timedelta(days=365))
    with pytest.raises(InvalidContractChange, match="extended to .* at most"):
        propose(
            contract, cw.committee, AmendmentKind.EXTENSION, new_ends_on=old_end + timedelta(400)
        )
    proposal = propose(
        contract, cw.committee, AmendmentKind.EXTENSION, new_ends_on=old_end + timedelta(days=182)
    )
    db.session.refresh(contract)
    assert contract.ends_on == old_end
    amendments.approve_amendment(contract.id, proposal.id, cw.committee2)
    db.session.refresh(contract)
    assert contract.ends_on == old_end + timedelta(days=182)
    assert proposal.before == {"ends_on": old_end.isoformat()}
    assert proposal.description.startswith("Extended to ")


def test_the_extension_limit_is_checked_again_at_approval(world):
    cw = tender_contract(world)
    contract = cw.contract
    termination.set_extension_limit(contract.id, world.admin, contract.ends_on + timedelta(365))
    proposal = propose(
        contract,
        cw.committee,
        AmendmentKind.EXTENSION,
        new_ends_on=contract.ends_on + timedelta(300),
    )
    termination.set_extension_limit(contract.id, world.admin, contract.ends_on + timedelta(100))
    with pytest.raises(InvalidContractChange, match="at most"):
        amendments.approve_amendment(contract.id, proposal.id, cw.committee2)
    db.session.refresh(proposal)
    assert proposal.status is AmendmentStatus.PROPOSED


def test_a_volume_change_sets_the_new_capacity(world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee, AmendmentKind.VOLUME_CHANGE, new_capacity=5_000)
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    db.session.refresh(cw.contract)
    assert cw.contract.capacity == 5_000
    assert (proposal.before, proposal.after) == ({"capacity": 4_321}, {"capacity": 5_000})
    assert proposal.description == "Capacity changed to 5,000 units (was 4,321 units)"


def test_a_volume_change_cannot_fall_below_what_has_been_called_off(world):
    cw = tender_contract(world)
    for n, quantity in enumerate((30, 12)):
        calloffs.call_off(
            cw.contract.id,
            world.school_a.id,
            world.sbm_a,
            term_key=factories.this_term().key,
            quantity=quantity,
            po_number=f"PO-VOL-{n}",
        )
    with pytest.raises(InvalidContractChange, match="below the 42 units already called off"):
        propose(cw.contract, cw.committee, AmendmentKind.VOLUME_CHANGE, new_capacity=41)
    proposal = propose(cw.contract, cw.committee, AmendmentKind.VOLUME_CHANGE, new_capacity=50)
    # More is called off while the change waits: approval checks again, and refuses it.
    calloffs.call_off(
        cw.contract.id,
        world.school_a.id,
        world.sbm_a,
        term_key=factories.this_term().key,
        quantity=10,
        po_number="PO-VOL-2",
    )
    with pytest.raises(InvalidContractChange, match="below the 52 units already called off"):
        amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    db.session.refresh(proposal)
    db.session.refresh(cw.contract)
    assert proposal.status is AmendmentStatus.PROPOSED and cw.contract.capacity == 4_321


def test_new_prices_replace_each_tier_price(world):
    cw = tender_contract(world)
    with pytest.raises(InvalidContractChange, match="each of the 2 price tiers"):
        propose(cw.contract, cw.committee, AmendmentKind.NEW_PRICES, tier_prices=(24_000,))
    proposal = propose(
        cw.contract, cw.committee, AmendmentKind.NEW_PRICES, tier_prices=(24_000, 22_500)
    )
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    assert _prices(cw.contract) == [24_000, 22_500]
    assert proposal.description == "New prices £240.00, £225.00 (were £234.57, £219.83)"


def test_an_indexation_also_moves_each_schools_agreed_price_in_a_round_contract(world):
    contract = round_contract(world)
    second = factories.make_user(Role.COMMITTEE)
    releases = db.session.scalar(sa.select(sa.func.count()).select_from(TenderRelease))
    proposal = propose(contract, world.committee, indexation_bp=-150)
    amendments.approve_amendment(contract.id, proposal.id, second)
    db.session.refresh(contract)
    assert _prices(contract) == [24_625]
    assert contract.schools[0].unit_price_pence == 21_889  # £222.22 − 1.5% = £218.8867
    assert contract.schools[0].charge_pence == 266_664  # what was agreed stays
    assert proposal.after["school_prices"] == [[world.school_b.id, 21_889]]
    assert proposal.release_id is None  # buying rounds publish no OCDS notices
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderRelease)) == releases
    assert ROUND_SCHOOL_PRICE == proposal.before["school_prices"][0][1]


def test_a_change_takes_effect_during_the_contract_and_needs_a_reason(world):
    cw = tender_contract(world)
    with pytest.raises(InvalidContractChange, match="during the contract") as refused:
        propose(cw.contract, cw.committee, effective_on=cw.contract.starts_on - timedelta(days=1))
    assert refused.value.field == "effective_on"
    with pytest.raises(InvalidContractChange, match="Say why") as refused:
        propose(cw.contract, cw.committee, reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(InvalidContractChange, match="other than 0"):
        propose(cw.contract, cw.committee, indexation_bp=0)


def test_approval_tells_the_provider_and_for_prices_the_schools(world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    assert recipients("contract_changed") == {cw.committee2.email, world.admin.email}
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    told = recipients("contract_changed")
    assert {world.provider_user_a.email, world.sbm_a.email, world.head_a.email} <= told
    assert world.sbm_b.email in told  # school B takes part too
    assert world.provider_user_b.email not in told


def test_an_extension_is_told_to_the_provider_only(world):
    cw = tender_contract(world)
    termination.set_extension_limit(
        cw.contract.id, world.admin, cw.contract.ends_on + timedelta(90)
    )
    proposal = propose(
        cw.contract,
        cw.committee,
        AmendmentKind.EXTENSION,
        new_ends_on=cw.contract.ends_on + timedelta(30),
    )
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    told = recipients("contract_changed")
    assert world.provider_user_a.email in told and world.sbm_a.email not in told


# --- Termination --------------------------------------------------------------------------------


def test_termination_stops_contract_pricing_from_its_date(world):
    cw = tender_contract(world)
    term = Term.containing(london_today())
    prices = ContractRegisterPrices()

    def price():
        return prices.price_for(world.school_a.id, world.service.id, world.provider_a.id, term, 5)

    later = london_today() + timedelta(days=200)
    termination.terminate_contract(cw.contract.id, cw.committee, "Provider closing", later)
    db.session.refresh(cw.contract)
    assert cw.contract.status is ContractStatus.TERMINATED
    if term.starts_on < later:
        assert price() is not None  # still in force until the termination takes effect
    cw.contract.terminated_on = london_today()  # as if that day had come
    db.session.commit()
    assert price() is None
    assert prices.for_school(world.school_a.id, world.service.id, london_today()) == []


def test_orders_placed_before_a_termination_stand_and_new_ones_pay_the_offer_price(market):
    cw = tender_contract(market)
    before = draft(market, quantity=5)
    assert before.kind is OrderKind.CALL_OFF and before.contract_id == cw.contract.id
    assert before.unit_price_pence == 23_457
    termination.terminate_contract(cw.contract.id, cw.committee, "Provider closing", london_today())
    db.session.refresh(before)
    assert (before.status, before.unit_price_pence, before.contract_id) == (
        OrderStatus.DRAFT,
        23_457,
        cw.contract.id,
    )
    after = draft(market, quantity=5, po_number="PO-1002")
    assert after.contract_id is None and after.unit_price_pence == 25_000  # the offer's price


def test_termination_withdraws_waiting_changes_and_ends_all_change(world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    termination.terminate_contract(
        cw.contract.id, world.admin, "Repeated missed deadlines", london_today()
    )
    db.session.refresh(proposal)
    assert proposal.status is AmendmentStatus.WITHDRAWN
    assert proposal.decision_note == "The contract was terminated."
    with pytest.raises(ContractChangeConflict, match="no longer in force"):
        propose(cw.contract, cw.committee)
    with pytest.raises(ContractChangeConflict, match="no longer in force"):
        termination.terminate_contract(cw.contract.id, cw.committee, "Again", london_today())
    told = recipients("contract_changed")
    assert {world.provider_user_a.email, world.sbm_a.email, world.sbm_b.email} <= told


def test_a_termination_needs_a_reason_and_a_date_within_the_contract(world):
    cw = tender_contract(world)
    with pytest.raises(InvalidContractChange, match="before the contract starts") as refused:
        termination.terminate_contract(
            cw.contract.id, cw.committee, "Why", cw.contract.starts_on - timedelta(days=1)
        )
    assert refused.value.field == "terminated_on"
    with pytest.raises(InvalidContractChange, match="Say why"):
        termination.terminate_contract(cw.contract.id, cw.committee, "", london_today())
    with pytest.raises(ContractChangeNotAllowed):
        termination.terminate_contract(cw.contract.id, world.sbm_a, "No", london_today())
    db.session.refresh(cw.contract)
    assert cw.contract.status is ContractStatus.ACTIVE and cw.contract.terminated_on is None
