"""The pipeline page and its decisions (committee and office only), and schools' outside
contracts (each school's own people and its trust only): access sweeps, figures, bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.time import london_today
from marketplace.orders.models import OrderStatus
from procurement.contracts.models import ContractSchool
from procurement.pipeline import external
from procurement.pipeline.models import ExternalContract, RenewalDecision
from tests.marketplace.billing.conftest import make_contract, make_order

PARTNERSHIP = ["admin_user", "committee"]
EVERYONE_ELSE = [
    "sbm_a",
    "head_a",
    "governor_a",
    "trust_user",
    "provider_user_a",
]


def _contract(world, **values):
    contract = make_contract(world.offer_a, **values)
    contract.schools = [
        ContractSchool(school_id=world.school_a.id, allocated_quantity=30, charge_pence=700_000)
    ]
    make_order(world.school_a, world.offer_a, 4, contract=contract)  # delivered
    make_order(world.school_a, world.offer_a, 2, contract=contract, status=OrderStatus.INVOICED)
    make_order(world.school_a, world.offer_a, 3, contract=contract, status=OrderStatus.CONFIRMED)
    make_order(world.school_a, world.offer_a, 9, contract=contract, status=OrderStatus.CANCELLED)
    db.session.commit()
    return contract


def _user(world, name):
    return world.admin if name == "admin_user" else getattr(world, name)


@pytest.mark.parametrize("who", PARTNERSHIP)
def test_the_committee_and_the_office_open_the_pipeline(client, auth, world, who):
    contract = _contract(world, reference="ELP-C-501")
    auth.as_user(_user(world, who))
    response = client.get("/pipeline")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ELP-C-501" in page
    month = f"{contract.ends_on:%B %Y}"
    assert f'<h2 class="govuk-heading-m">{month}</h2>' in page
    assert "<svg" in page and "Spend under contracts ending, by month" in page


@pytest.mark.parametrize("who", EVERYONE_ELSE)
@pytest.mark.parametrize(
    "url",
    ["/pipeline", "/pipeline/contracts/{id}/decision"],
)
def test_nobody_else_sees_the_pipeline_or_its_decisions(client, auth, world, who, url):
    contract = _contract(world)
    auth.as_user(_user(world, who))
    assert client.get(url.format(id=contract.id)).status_code == 403


@pytest.mark.parametrize("who", [*EVERYONE_ELSE, "admin_user"])
@pytest.mark.parametrize("action", ["decision", "retender", "round"])
def test_only_committee_members_decide_or_draft(client, auth, world, who, action):
    contract = _contract(world)
    auth.as_user(_user(world, who))
    response = client.post(f"/pipeline/contracts/{contract.id}/{action}", data={"choice": "lapse"})
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RenewalDecision)) == 0


def test_spend_to_date_counts_orders_holding_capacity_by_stage(client, auth, world):
    contract = _contract(world)
    auth.as_user(world.committee)
    page = client.get("/pipeline").get_data(as_text=True)
    card = page[page.index(f'id="contract-{contract.id}"') :]
    unit = world.offer_a.tiers[0].unit_price_pence
    total = (4 + 2 + 3) * unit  # the cancelled order counts nothing
    assert f"£{total / 100:,.2f}" in card
    assert f"reserved £{3 * unit / 100:,.2f}, delivered £{4 * unit / 100:,.2f}, " in card
    assert f"invoiced £{2 * unit / 100:,.2f}" in card
    assert "charges agreed at the award £7,000.00" in card  # a round's contract
    assert "9 days called off; 30 allocated" in card
    assert "KPIs" in card


def test_a_decision_is_recorded_with_who_and_when_and_can_be_changed(client, auth, world):
    contract = _contract(world)
    auth.as_user(world.committee)
    url = f"/pipeline/contracts/{contract.id}/decision"
    page = client.get(url).get_data(as_text=True)
    assert 'value="extend"' not in page  # a round's contract cannot be extended
    response = client.post(url, data={"choice": "lapse", "note": "Hardly used"})
    assert response.status_code == 302
    response = client.post(url, data={"choice": "round", "note": "Pool it"})
    assert response.status_code == 302
    page = client.get("/pipeline").get_data(as_text=True)
    assert "Run a buying round" in page and "Pool it" in page
    assert world.committee.name in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"choice": ""}, "Choose what happens when the contract ends"),
        ({"choice": "extend"}, "Not a valid choice"),
        ({"choice": "lapse", "note": "x" * 2001}, "2000"),
    ],
)
def test_a_bad_decision_is_refused_with_a_named_error(client, auth, world, data, message):
    contract = _contract(world)
    auth.as_user(world.committee)
    response = client.post(f"/pipeline/contracts/{contract.id}/decision", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RenewalDecision)) == 0


def test_an_ended_contract_has_no_decision_page(client, auth, world):
    contract = _contract(world)
    contract.ends_on = london_today() - timedelta(days=1)
    db.session.commit()
    auth.as_user(world.committee)
    assert client.get(f"/pipeline/contracts/{contract.id}/decision").status_code == 404


def test_re_tender_from_the_pipeline_lands_on_the_prefilled_draft(client, auth, world):
    contract = _contract(world, reference="ELP-C-502")
    auth.as_user(world.committee)
    response = client.post(f"/pipeline/contracts/{contract.id}/retender")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Reference for evaluators" in page
    assert world.school_a.name in page
    again = client.post(f"/pipeline/contracts/{contract.id}/retender")
    assert again.status_code == 409
    assert "already been made from ELP-C-502" in again.get_data(as_text=True)


# --- outside contracts --------------------------------------------------------------------


def _form(world, school, **changes):
    data = {
        "school_id": str(school.id),
        "supplier_name": "Acme HR",
        "service_id": str(world.service.id),
        "category": "",
        "annual_value": "4,200.50",
        "ends_on": (london_today() + timedelta(days=90)).isoformat(),
        "notes": "",
    }
    data.update(changes)
    return data


def _outside(world, school, user, supplier="Acme HR"):
    return external.add_external(
        external.ExternalInput(
            school.id,
            supplier,
            world.service.id,
            "",
            100_000,
            london_today() + timedelta(days=60),
            "",
        ),
        user,
        london_today(),
    )


def test_a_school_records_changes_and_removes_an_outside_contract(client, auth, world):
    auth.as_user(world.sbm_a)
    response = client.post("/external-contracts/new", data=_form(world, world.school_a))
    assert response.status_code == 302
    (row,) = db.session.scalars(sa.select(ExternalContract)).all()
    assert (row.school_id, row.annual_value_pence) == (world.school_a.id, 420_050)
    response = client.post(
        f"/external-contracts/{row.id}/edit",
        data=_form(world, world.school_a, service_id="0", category="Grounds maintenance"),
    )
    assert response.status_code == 302
    db.session.refresh(row)
    assert (row.service_id, row.category) == (None, "Grounds maintenance")
    page = client.get("/external-contracts").get_data(as_text=True)
    assert "Grounds maintenance" in page and "£4,200.50" in page
    assert client.post(f"/external-contracts/{row.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalContract)) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"supplier_name": " "}, "Enter the supplier’s name"),
        ({"annual_value": "lots"}, "annual value"),
        ({"annual_value": "10000000.01"}, "£10,000,000"),
        ({"ends_on": "2001-01-01"}, "already ended"),
        ({"service_id": "0", "category": ""}, "describe what the contract is for"),
        ({"school_id": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_outside_contracts_are_refused_with_a_named_error(
    client, auth, world, changes, message
):
    auth.as_user(world.sbm_a)
    response = client.post("/external-contracts/new", data=_form(world, world.school_a, **changes))
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalContract)) == 0


def test_a_school_cannot_record_for_another_school(client, auth, world):
    auth.as_user(world.sbm_a)
    response = client.post("/external-contracts/new", data=_form(world, world.school_b))
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalContract)) == 0


@pytest.mark.parametrize("who", ["sbm_a", "head_a", "trust_user"])
def test_schools_see_only_their_own_outside_contracts(client, auth, world, who):
    own = _outside(world, world.school_a, world.sbm_a, "Own Supplier Ltd")
    other = _outside(world, world.school_b, world.sbm_b, "Other Supplier Ltd")
    auth.as_user(getattr(world, who))
    page = client.get("/external-contracts").get_data(as_text=True)
    assert "Own Supplier Ltd" in page and "Other Supplier Ltd" not in page
    assert client.get(f"/external-contracts/{own.id}/edit").status_code == 200
    assert client.get(f"/external-contracts/{other.id}/edit").status_code == 404
    assert client.post(f"/external-contracts/{other.id}/delete").status_code == 404
    assert db.session.get(ExternalContract, other.id) is not None


@pytest.mark.parametrize("who", ["admin_user", "committee", "governor_a", "provider_user_a"])
def test_only_schools_and_trusts_keep_outside_contracts(client, auth, world, who):
    row = _outside(world, world.school_a, world.sbm_a)
    auth.as_user(_user(world, who))
    for url in (
        "/external-contracts",
        "/external-contracts/new",
        f"/external-contracts/{row.id}/edit",
    ):
        assert client.get(url).status_code == 403, url


def test_the_pipeline_lines_up_outside_contracts_and_drafts_a_joint_tender(client, auth, world):
    _outside(world, world.school_a, world.sbm_a, "Acme HR")
    _outside(world, world.school_b, world.sbm_b, "Beta HR")
    auth.as_user(world.committee)
    page = client.get("/pipeline").get_data(as_text=True)
    assert "Candidates for a joint tender" in page
    assert "2 schools, £2,000 a year" in page
    ids = re.search(r'name="contracts" value="([0-9,]+)"', page).group(1)
    response = client.post("/pipeline/joint-tender", data={"contracts": ids})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Acme HR" in page and world.school_b.name in page
    bad = client.post("/pipeline/joint-tender", data={"contracts": "1,x"})
    assert bad.status_code == 400
