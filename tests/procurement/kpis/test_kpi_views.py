"""KPI pages: the contract page's KPI table, the committee's actions, setting KPIs, the
provider's returns; who may open each; and a bidder's KPI history shown to evaluators."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.time import london_today
from procurement.kpis import returns
from procurement.kpis.models import ActionStatus, ContractKpi, KpiAction, KpiReturn
from procurement.kpis.rules import KpiKind, Quarter
from tests.procurement.kpis.conftest import kpi_of, make_kpi_contract
from tests.procurement.tenders.factories import evaluate, make_tender, open_bids, submit_both_bids

ROLES = ["anonymous", "admin", "committee", "sbm", "head", "provider", "other provider", "trust"]


def _running_contract(world):
    """Provider A's contract running this quarter, with a return below target (an action)."""
    today = london_today()
    contract = make_kpi_contract(
        world, starts_on=today - timedelta(days=400), ends_on=today + timedelta(days=400)
    )
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    returns.submit_return(kpi.id, Quarter.containing(today).key, "70", "", world.provider_user_a)
    action = db.session.scalars(sa.select(KpiAction)).one()
    return contract, kpi, action


def _sign_in(auth, world, role):
    if role == "anonymous":
        return
    user = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
        "other provider": world.provider_user_b,
        "trust": world.trust_user,
    }[role]
    auth.as_user(user)


@pytest.mark.parametrize("role", ROLES)
def test_kpi_pages_are_for_the_committee_the_office_and_the_contracts_own_provider(
    client, auth, world, role
):
    contract, kpi, action = _running_contract(world)
    quarter = Quarter.containing(london_today()).key
    _sign_in(auth, world, role)
    paths = {
        "actions": "/contracts/actions",
        "action": f"/contracts/actions/{action.id}",
        "new kpi": f"/contracts/{contract.id}/kpis/new",
        "edit kpi": f"/contracts/{contract.id}/kpis/{kpi.id}/edit",
        "returns": "/provider/kpis",
        "return": f"/provider/kpis/{kpi.id}/{quarter}",
    }
    got = {name: client.get(path).status_code for name, path in paths.items()}
    if role == "anonymous":
        assert set(got.values()) == {302}
        return
    partnership = (200, 200, 200, 200, 403, 403)
    expected = {
        "admin": partnership,
        "committee": partnership,
        "sbm": (403, 403, 403, 403, 403, 403),
        "head": (403, 403, 403, 403, 403, 403),
        "trust": (403, 403, 403, 403, 403, 403),
        "provider": (403, 403, 403, 403, 200, 200),
        "other provider": (403, 403, 403, 403, 200, 404),  # another provider's KPI: not there
    }[role]
    assert tuple(got.values()) == expected


@pytest.mark.parametrize("role", ["sbm", "provider", "other provider"])
def test_nobody_else_can_post_to_the_committees_kpi_forms(client, auth, world, role):
    contract, kpi, action = _running_contract(world)
    _sign_in(auth, world, role)
    posts = [
        (f"/contracts/actions/{action.id}", {"note": "Done"}),
        (f"/contracts/{contract.id}/kpis/new", {"name": "X"}),
        (f"/contracts/{contract.id}/kpis/{kpi.id}/edit", {"name": "X"}),
        (f"/contracts/{contract.id}/kpis/{kpi.id}/remove", {}),
        (f"/contracts/{contract.id}/kpis/standard", {}),
    ]
    assert [client.post(path, data=data).status_code for path, data in posts] == [403] * 5
    assert db.session.get(KpiAction, action.id).status is ActionStatus.OPEN


def test_the_contract_page_shows_each_kpi_by_quarter_and_the_committee_its_actions(
    client, auth, world
):
    contract, kpi, _ = _running_contract(world)
    auth.as_user(world.committee)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="kpis"' in page and 'id="kpi-table"' in page
    assert "Complaints resolved within 10 working days" in page and "≥ 90%" in page
    assert "70%" in page and "Below target" in page and "No data" in page
    assert "<svg" in page and "target ≥ 90%" in page  # the chart, described for screen readers
    assert 'id="kpi-action-table"' in page and "/contracts/actions/" in page
    assert f"/contracts/{contract.id}/kpis/{kpi.id}/edit" in page


def test_a_school_sees_the_kpis_but_not_the_actions_or_the_edit_links(client, auth, world):
    contract, kpi, _ = _running_contract(world)
    auth.as_user(world.sbm_b)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="kpi-table"' in page and "70%" in page
    assert "kpi-action-table" not in page and "/kpis/new" not in page
    assert f"/kpis/{kpi.id}/edit" not in page


def test_the_provider_finds_its_returns_from_the_contract_and_changes_one(client, auth, world):
    contract, kpi, _ = _running_contract(world)
    quarter = Quarter.containing(london_today())
    auth.as_user(world.provider_user_a)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "/provider/kpis" in page
    listing = client.get("/provider/kpis").get_data(as_text=True)
    assert f'data-quarter="{quarter.key}"' in listing and "70%" in listing
    form = client.get(f"/provider/kpis/{kpi.id}/{quarter.key}").get_data(as_text=True)
    assert 'value="70"' in form
    bad = client.post(f"/provider/kpis/{kpi.id}/{quarter.key}", data={"value": "250", "note": ""})
    assert bad.status_code == 400 and "Enter a figure from 0 to 100%" in bad.get_data(as_text=True)
    done = client.post(
        f"/provider/kpis/{kpi.id}/{quarter.key}", data={"value": "96", "note": "All resolved"}
    )
    assert done.status_code == 302
    row = db.session.scalars(sa.select(KpiReturn)).one()
    assert (row.value_hundredths, row.note) == (9600, "All resolved")


def test_a_locked_return_says_so_and_a_bad_quarter_is_not_found(client, auth, world):
    contract, kpi, _ = _running_contract(world)
    old = Quarter.containing(london_today() - timedelta(days=250))
    auth.as_user(world.provider_user_a)
    page = client.get(f"/provider/kpis/{kpi.id}/{old.key}").get_data(as_text=True)
    assert "is not open" in page and 'name="value"' not in page
    refused = client.post(f"/provider/kpis/{kpi.id}/{old.key}", data={"value": "99"})
    assert refused.status_code == 409 and "locked" in refused.get_data(as_text=True)
    assert client.get(f"/provider/kpis/{kpi.id}/2026-Q9").status_code == 404
    computed = kpi_of(contract, KpiKind.ON_TIME_DELIVERY)
    assert client.get(f"/provider/kpis/{computed.id}/{old.key}").status_code == 404


def test_the_committee_adds_a_kpi_and_a_bad_one_is_shown_again_with_the_reason(client, auth, world):
    contract, _, _ = _running_contract(world)
    auth.as_user(world.committee)
    data = {
        "kind": "custom",
        "name": "Reports within 10 days",
        "unit": "percent",
        "target": "95",
        "direction": "higher",
        "source": "computed",
    }
    bad = client.post(f"/contracts/{contract.id}/kpis/new", data=data)
    assert bad.status_code == 400 and "Pooled cannot work out a custom KPI" in bad.get_data(
        as_text=True
    )
    data["source"] = "provider_return"
    assert client.post(f"/contracts/{contract.id}/kpis/new", data=data).status_code == 302
    kpi = db.session.scalars(
        sa.select(ContractKpi).where(ContractKpi.name == "Reports within 10 days")
    ).one()
    edit = client.get(f"/contracts/{contract.id}/kpis/{kpi.id}/edit").get_data(as_text=True)
    assert 'value="95"' in edit
    assert client.post(f"/contracts/{contract.id}/kpis/{kpi.id}/remove").status_code == 302
    last = kpi_of(contract, KpiKind.CUSTOM)
    refused = client.post(f"/contracts/{contract.id}/kpis/{last.id}/remove")
    assert refused.status_code == 409 and "at least 3 KPIs" in refused.get_data(as_text=True)


def test_the_committee_closes_an_action_with_a_note(client, auth, world):
    _, _, action = _running_contract(world)
    auth.as_user(world.committee)
    listing = client.get("/contracts/actions").get_data(as_text=True)
    assert f'data-action="{action.id}"' in listing and "1 open action." in listing
    empty = client.post(f"/contracts/actions/{action.id}", data={"note": " "})
    assert empty.status_code == 400 and "Say what was done about it" in empty.get_data(as_text=True)
    done = client.post(f"/contracts/actions/{action.id}", data={"note": "Plan agreed"})
    assert done.status_code == 302
    assert db.session.get(KpiAction, action.id).status is ActionStatus.CLOSED
    page = client.get(f"/contracts/actions/{action.id}").get_data(as_text=True)
    assert "Plan agreed" in page and "Close the action" not in page


def test_a_contract_without_kpis_gets_the_standard_ones_from_its_page(client, auth, world):
    contract = make_kpi_contract(world)
    for kpi in db.session.scalars(sa.select(ContractKpi)):
        db.session.delete(kpi)
    db.session.commit()
    auth.as_user(world.committee)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="kpi-none"' in page and "Add the standard KPIs" in page
    assert client.post(f"/contracts/{contract.id}/kpis/standard").status_code == 302
    assert len(db.session.scalars(sa.select(ContractKpi)).all()) == 3


def test_evaluators_see_a_bidders_kpi_history_as_information(client, auth, world):
    contract, _, _ = _running_contract(world)
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    open_bids(tw)
    evaluate(tw, {bid_a.id: (70, 60), bid_b.id: (60, 60)})
    auth.as_user(world.committee)
    page = client.get(f"/tenders/{tw.tender.id}/bids/{bid_a.id}/score").get_data(as_text=True)
    assert "Alpha Counselling Ltd’s KPI history" in page and "not scored" in page
    assert contract.reference in page and "1 below target" in page
    other = client.get(f"/tenders/{tw.tender.id}/bids/{bid_b.id}/score").get_data(as_text=True)
    assert 'id="kpi-history-none"' in other
