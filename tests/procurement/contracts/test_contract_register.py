"""The contracts register: tender and round contracts with expiry dates, each role its share;
tender contracts are the price source for schools' call-off orders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.calendar import Term
from app.extensions import db
from app.time import london_today, utcnow
from procurement.contracts import services as register_service
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus
from procurement.contracts.prices import ContractRegisterPrices
from procurement.tenders import award
from tests.procurement.tenders.factories import evaluate, make_tender, open_bids, submit_both_bids


def _tender_contract(world) -> Contract:
    """Provider A wins a counselling tender; its contract runs from today for two years."""
    now = utcnow()
    tw = make_tender(world, now=now - timedelta(days=60), deadline_at=now - timedelta(days=40))
    bid_a, bid_b = submit_both_bids(tw, now=now - timedelta(days=50))
    open_bids(tw, now=now - timedelta(days=39))
    evaluate(tw, {bid_a.id: (60, 60), bid_b.id: (60, 60)}, now=now - timedelta(days=38))
    award.decide_award(tw.tender.id, world.committee, now=now - timedelta(days=30))
    (contract,) = award.enter_into_contracts(tw.tender.id, world.committee, now=now)
    return contract


def _round_contract(world, ends_on: date, school) -> Contract:
    contract = Contract(
        reference=f"RND-{ends_on:%Y%m%d}",
        title="Counselling from a buying round",
        provider_id=world.provider_b.id,
        service_id=world.service.id,
        source=ContractSource.ROUND,
        source_id=7,
        status=ContractStatus.ACTIVE,
        starts_on=ends_on - timedelta(days=200),
        ends_on=ends_on,
        schools=[
            ContractSchool(
                school_id=school.id,
                allocated_quantity=12,
                unit_price_pence=22_222,
                charge_pence=266_664,
            )
        ],
    )
    db.session.add(contract)
    db.session.commit()
    return contract


def test_the_register_lists_tender_and_round_contracts_by_expiry(client, auth, world):
    tender_contract = _tender_contract(world)
    today = london_today()
    soon = _round_contract(world, today + timedelta(days=30), world.school_b)
    auth.as_user(world.committee)
    body = client.get("/contracts").get_data(as_text=True)
    assert body.index(soon.reference) < body.index(tender_contract.reference)
    assert f"{soon.ends_on:%-d %B %Y}" in body and f"{tender_contract.ends_on:%-d %B %Y}" in body
    assert "Expiring soon" in body


@pytest.mark.parametrize("role", ["admin", "committee", "sbm", "head", "provider"])
def test_every_role_opens_the_register(client, auth, world, role):
    _tender_contract(world)
    user = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
    }[role]
    auth.as_user(user)
    response = client.get("/contracts")
    assert response.status_code == 200
    assert "TEN-" in response.get_data(as_text=True)


def test_a_school_sees_every_contract_but_only_its_own_allocation(client, auth, world):
    today = london_today()
    other_schools = _round_contract(world, today + timedelta(days=300), world.school_b)
    auth.as_user(world.sbm_a)
    listing = client.get("/contracts").get_data(as_text=True)
    assert other_schools.reference in listing
    page = client.get(f"/contracts/{other_schools.id}").get_data(as_text=True)
    assert "Your school does not take part" in page
    assert world.school_b.name not in page and "222.22" not in page and "2,666.64" not in page
    auth.logout()
    auth.as_user(world.sbm_b)
    page = client.get(f"/contracts/{other_schools.id}").get_data(as_text=True)
    assert "Your school takes part" in page and "£222.22" in page


def test_a_provider_sees_only_its_own_contracts(client, auth, world):
    ours = _tender_contract(world)
    theirs = _round_contract(world, london_today() + timedelta(days=300), world.school_a)
    auth.as_user(world.provider_user_a)
    listing = client.get("/contracts").get_data(as_text=True)
    assert ours.reference in listing and theirs.reference not in listing
    assert client.get(f"/contracts/{ours.id}").status_code == 200
    assert client.get(f"/contracts/{theirs.id}").status_code == 404


def test_a_tender_contract_prices_the_schools_call_offs(world):
    contract = _tender_contract(world)
    term = Term.containing(london_today())
    price = ContractRegisterPrices().price_for(
        world.school_a.id, world.service.id, world.provider_a.id, term, 350
    )
    assert price is not None
    assert price.contract_id == contract.id
    assert price.unit_price_pence == 21_983  # A's tier from 300 units
    assert (
        ContractRegisterPrices()
        .price_for(world.school_a.id, world.service.id, world.provider_a.id, term, 5)
        .unit_price_pence
        == 23_457
    )


def test_expired_contracts_say_so(world):
    today = date(2026, 6, 1)
    contract = Contract(
        status=ContractStatus.ACTIVE, starts_on=date(2024, 9, 1), ends_on=date(2026, 5, 31)
    )
    assert register_service.shown_status(contract, today) == ("expired", "Expired")
    contract.ends_on = date(2026, 7, 1)
    assert register_service.shown_status(contract, today) == ("expiring", "Expiring soon")
    contract.ends_on = date(2027, 7, 1)
    assert register_service.shown_status(contract, today) == ("active", "Active")
    contract.starts_on = date(2026, 9, 1)
    assert register_service.shown_status(contract, today) == ("pending", "Starts 1 Sep 2026")


def test_a_contract_shows_its_tender_and_awarded_prices(client, auth, world):
    contract = _tender_contract(world)
    auth.as_user(world.committee)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "£234.57" in page and "£219.83" in page
    assert world.school_a.name in page and world.school_b.name in page
    assert f"/tenders/{contract.source_id}" in page
