"""Contract change (UK10, `contractAmendment`) and termination (UK11, `contractTermination`)
releases of tender contracts validate offline like every other notice, with the contract's
`amendments`, its new period or value, and its `terminated` status."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.time import london_today
from procurement.contracts import amendments, termination
from procurement.contracts.models import AmendmentKind
from procurement.tenders.models import TenderRelease
from tests.procurement.contracts.factories import propose, round_contract, tender_contract
from tests.procurement.tenders.test_ocds_export import assert_valid, export


def _documents(contract_entry: dict) -> dict[str, dict]:
    return {d["noticeType"]: d for d in contract_entry["documents"] if "noticeType" in d}


def test_an_approved_change_publishes_a_uk10_release_that_validates(world):
    cw = tender_contract(world)
    before = export(cw.tw.tender.id)["releases"]
    proposal = propose(cw.contract, cw.committee)
    assert len(export(cw.tw.tender.id)["releases"]) == len(before)  # a proposal publishes nothing
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)

    package = export(cw.tw.tender.id)
    assert_valid(package)
    release = package["releases"][-1]
    assert release["tag"] == ["contractAmendment"]
    assert release["ocid"] == cw.tw.tender.ocid
    (contract,) = release["contracts"]
    (amendment,) = contract["amendments"]
    assert amendment["id"] == f"{cw.contract.reference}-A1"
    assert amendment["rationale"] == "Annual CPI indexation"
    assert amendment["description"].startswith("Every price up 3.2% (indexation), from ")
    assert amendment["releaseID"] == release["id"] == proposal.release_id
    assert amendment["amendsReleaseID"] == before[-1]["id"] == proposal.amends_release_id
    assert contract["value"] == {"amount": 90744, "currency": "GBP"}  # 400 × £226.86
    assert amendment["value"] == contract["value"]
    assert _documents(contract)["UK10"]["title"] == "Contract change notice"
    assert contract["status"] == "active"
    # The contract release before it is frozen as it was published.
    assert "amendments" not in before[-1].get("contracts", [{}])[0]


def test_an_extension_release_carries_the_new_period(world):
    cw = tender_contract(world)
    new_end = cw.contract.ends_on + timedelta(days=90)
    termination.set_extension_limit(cw.contract.id, world.admin, new_end)
    proposal = propose(cw.contract, cw.committee, AmendmentKind.EXTENSION, new_ends_on=new_end)
    amendments.approve_amendment(cw.contract.id, proposal.id, world.admin)
    package = export(cw.tw.tender.id)
    assert_valid(package)
    (contract,) = package["releases"][-1]["contracts"]
    (amendment,) = contract["amendments"]
    assert amendment["period"]["endDate"] == contract["period"]["endDate"]
    assert contract["period"]["endDate"][:10] == new_end.isoformat()


def test_a_second_change_lists_both_amendments_in_order(world):
    cw = tender_contract(world)
    first = propose(cw.contract, cw.committee)
    amendments.approve_amendment(cw.contract.id, first.id, cw.committee2)
    second = propose(cw.contract, cw.committee2, AmendmentKind.VOLUME_CHANGE, new_capacity=5_000)
    amendments.approve_amendment(cw.contract.id, second.id, cw.committee)
    package = export(cw.tw.tender.id)
    assert_valid(package)
    releases = package["releases"]
    (contract,) = releases[-1]["contracts"]
    assert [a["id"] for a in contract["amendments"]] == [
        f"{cw.contract.reference}-A1",
        f"{cw.contract.reference}-A2",
    ]
    assert contract["amendments"][1]["amendsReleaseID"] == releases[-2]["id"]
    assert contract["amendments"][0]["releaseID"] == releases[-2]["id"]


def test_a_termination_publishes_a_uk11_release_that_validates(world):
    cw = tender_contract(world)
    ends = london_today() + timedelta(days=30)
    termination.terminate_contract(cw.contract.id, cw.committee, "The provider is closing", ends)
    package = export(cw.tw.tender.id)
    assert_valid(package)
    release = package["releases"][-1]
    assert release["tag"] == ["contractTermination"]
    (contract,) = release["contracts"]
    assert contract["status"] == "terminated"
    assert contract["description"] == "Terminated early: The provider is closing"
    assert contract["period"]["endDate"][:10] in {
        (ends - timedelta(days=1)).isoformat(),  # midnight in London is 23:00 UTC in summer
        ends.isoformat(),
    }
    uk11 = _documents(contract)["UK11"]
    assert uk11["description"] == "The provider is closing"
    assert uk11["title"] == "Contract termination notice"


def test_rejected_changes_and_round_contracts_publish_nothing(world):
    cw = tender_contract(world)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(TenderRelease))
    proposal = propose(cw.contract, cw.committee)
    amendments.reject_amendment(cw.contract.id, proposal.id, cw.committee2, "Not yet")
    rounds = round_contract(world)
    change = propose(rounds, cw.committee)
    amendments.approve_amendment(rounds.id, change.id, cw.committee2)
    termination.terminate_contract(rounds.id, cw.committee, "Ended early", london_today())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderRelease)) == count


def test_the_notices_page_lists_contract_change_and_termination_notices(client, auth, world):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    amendments.approve_amendment(cw.contract.id, proposal.id, cw.committee2)
    auth.as_user(world.sbm_a)
    page = client.get("/tenders/notices").get_data(as_text=True)
    assert "UK10 contract change" in page and proposal.release_id in page
