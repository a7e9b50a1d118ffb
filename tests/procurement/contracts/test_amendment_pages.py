"""Contract change pages: who may read and who may act (a sweep of pages × roles), the forms'
named errors, and a change proposed by one committee member and approved by another."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Role
from app.time import london_today
from procurement.contracts import amendments
from procurement.contracts.models import AmendmentKind, AmendmentStatus, ContractStatus
from tests.procurement.contracts.factories import (
    ROUND_SCHOOL_PRICE,
    propose,
    round_contract,
    tender_contract,
)

ROLES = ["anonymous", *[r.value for r in Role], "other provider"]
READERS = {"admin", "committee", "sbm", "head", "provider"}
MANAGERS = {"admin", "committee"}


def _sign_in(auth, world, role):
    if role == "anonymous":
        return None
    user = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
        "other provider": world.provider_user_b,
        "trust": world.trust_user,
        "governor": world.governor_a,
    }[role]
    return auth.as_user(user)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "page",
    ["contract", "change", "propose", "reject", "terminate", "extension limit"],
)
def test_everyone_who_sees_a_contract_reads_its_changes_and_only_managers_act(
    client, auth, world, page, role
):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee2)  # so the committee may reject it
    base = f"/contracts/{cw.contract.id}"
    path = {
        "contract": base,
        "change": f"{base}/changes/{proposal.id}",
        "propose": f"{base}/changes/new/price_indexation",
        "reject": f"{base}/changes/{proposal.id}/reject",
        "terminate": f"{base}/terminate",
        "extension limit": f"{base}/extension-limit",
    }[page]
    _sign_in(auth, world, role)
    response = client.get(path)
    reading = page in ("contract", "change")
    if role == "anonymous":
        assert response.status_code == 302 and "/sign-in" in response.location
    elif role in (READERS if reading else MANAGERS):
        assert response.status_code == 200
        if reading:
            assert "Every price up 3.2% (indexation)" in response.get_data(as_text=True)
    elif reading and role in ("other provider", "trust", "governor"):
        assert response.status_code == 404  # not their contract: it does not exist for them
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ["sbm", "provider", "other provider"])
@pytest.mark.parametrize("action", ["approve", "withdraw"])
def test_schools_and_providers_cannot_decide_a_change(client, auth, world, role, action):
    cw = tender_contract(world)
    proposal = propose(cw.contract, cw.committee)
    _sign_in(auth, world, role)
    response = client.post(f"/contracts/{cw.contract.id}/changes/{proposal.id}/{action}")
    assert response.status_code == 403
    db.session.refresh(proposal)
    assert proposal.status is AmendmentStatus.PROPOSED


def test_a_change_of_another_contract_is_not_found(client, auth, world):
    cw = tender_contract(world)
    other = round_contract(world)
    proposal = propose(other, cw.committee)
    auth.as_user(world.committee)
    assert client.get(f"/contracts/{cw.contract.id}/changes/{proposal.id}").status_code == 404
    response = client.post(f"/contracts/{cw.contract.id}/changes/{proposal.id}/approve")
    assert response.status_code == 404
    assert client.get(f"/contracts/{cw.contract.id}/changes/new/sideways").status_code == 404


def test_one_committee_member_proposes_and_another_approves_through_the_pages(client, auth, world):
    cw = tender_contract(world)
    base = f"/contracts/{cw.contract.id}"
    auth.as_user(world.committee)
    form = client.get(f"{base}/changes/new/new_prices").get_data(as_text=True)
    assert 'name="prices-0"' in form and 'value="234.57"' in form
    response = client.post(
        f"{base}/changes/new/price_indexation",
        data={"percent": "3.2", "effective_on": london_today().isoformat(), "reason": "CPI"},
    )
    assert response.status_code == 302
    change_url = response.location
    page = client.get(change_url).get_data(as_text=True)
    assert "Waiting for approval" in page and "£234.57" in page and "£242.08" in page
    assert "Withdraw the change" in page and "Approve and apply" not in page
    refused = client.post(f"{change_url}/approve")
    assert refused.status_code == 409
    assert "another committee member or admin" in refused.get_data(as_text=True)
    auth.logout()

    auth.as_user(cw.committee2)
    assert client.post(f"{change_url}/approve").status_code == 302
    page = client.get(change_url).get_data(as_text=True)
    assert "Approved" in page and "Before and after" in page
    contract_page = client.get(base).get_data(as_text=True)
    assert "£242.08" in contract_page and "£234.57" not in contract_page


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("price_indexation", {"percent": "", "reason": "CPI"}, "Enter the percentage"),
        ("price_indexation", {"percent": "three", "reason": "CPI"}, "Enter a percentage like 3.2"),
        ("price_indexation", {"percent": "80", "reason": "CPI"}, "between −50% and 50%"),
        ("price_indexation", {"percent": "3", "reason": ""}, "Say why the contract is changed"),
        ("new_prices", {"prices-0": "240", "prices-1": "abc", "reason": "x"}, "not an amount"),
        ("new_prices", {"prices-0": "234.57", "prices-1": "219.83", "reason": "x"}, "the same"),
        ("extension", {"new_ends_on": "2031-01-01", "reason": "x"}, "does not allow an extension"),
        ("extension", {"new_ends_on": "not a date", "reason": "x"}, "enter a real date"),
        ("volume_change", {"new_capacity": "2.5", "reason": "x"}, "must be a whole number"),
        ("volume_change", {"new_capacity": "4321", "reason": "x"}, "same as the current one"),
    ],
)
def test_bad_input_gets_a_named_error_and_changes_nothing(client, auth, world, kind, data, message):
    cw = tender_contract(world)
    auth.as_user(world.committee)
    data = {"effective_on": london_today().isoformat(), **data}
    response = client.post(f"/contracts/{cw.contract.id}/changes/new/{kind}", data=data)
    assert response.status_code in (400, 409)
    body = response.get_data(as_text=True)
    assert "There is a problem" in body and message in body
    assert amendments.amendments_of(cw.contract) == []


def test_a_school_reads_changes_without_other_schools_agreed_prices(client, auth, world):
    contract = round_contract(world)  # school B has its own agreed price
    proposal = propose(contract, world.committee)
    auth.as_user(world.sbm_a)
    page = client.get(f"/contracts/{contract.id}/changes/{proposal.id}").get_data(as_text=True)
    assert "£250.00" in page and "£258.00" in page  # the tier price, before and after
    assert world.school_b.name not in page and "222.22" not in page
    auth.logout()
    auth.as_user(world.sbm_b)
    page = client.get(f"/contracts/{contract.id}/changes/{proposal.id}").get_data(as_text=True)
    assert world.school_b.name in page and "£222.22" in page and "£229.33" in page
    assert ROUND_SCHOOL_PRICE == 22_222
    contract_page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "only contracts from tenders publish" in contract_page


def test_terminating_through_the_page(client, auth, world):
    cw = tender_contract(world)
    auth.as_user(world.admin)
    base = f"/contracts/{cw.contract.id}"
    bad = client.post(f"{base}/terminate", data={"reason": "", "terminated_on": ""})
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert "Say why the contract is terminated" in body
    assert "Enter the date the termination takes effect" in body
    too_late = (cw.contract.ends_on + timedelta(days=1)).isoformat()
    response = client.post(f"{base}/terminate", data={"reason": "x", "terminated_on": too_late})
    assert response.status_code == 400 and "anyway" in response.get_data(as_text=True)
    response = client.post(
        f"{base}/terminate",
        data={"reason": "Provider closing", "terminated_on": london_today().isoformat()},
    )
    assert response.status_code == 302
    db.session.refresh(cw.contract)
    assert cw.contract.status is ContractStatus.TERMINATED
    page = client.get(base).get_data(as_text=True)
    assert "Provider closing" in page and "Terminate the contract" not in page


def test_setting_the_extension_limit_through_the_page(client, auth, world):
    cw = tender_contract(world)
    auth.as_user(world.committee)
    base = f"/contracts/{cw.contract.id}"
    assert "Cannot be extended" in client.get(base).get_data(as_text=True)
    same = client.post(
        f"{base}/extension-limit", data={"allowed_until": cw.contract.ends_on.isoformat()}
    )
    assert same.status_code == 400 and "after the contract’s current end" in same.get_data(
        as_text=True
    )
    limit = cw.contract.ends_on + timedelta(days=365)
    assert (
        client.post(
            f"{base}/extension-limit", data={"allowed_until": limit.isoformat()}
        ).status_code
        == 302
    )
    assert f"{limit:%-d %B %Y}" in client.get(base).get_data(as_text=True)
    proposal = propose(
        cw.contract, cw.committee, AmendmentKind.EXTENSION, new_ends_on=limit - timedelta(days=1)
    )
    assert proposal.status is AmendmentStatus.PROPOSED
