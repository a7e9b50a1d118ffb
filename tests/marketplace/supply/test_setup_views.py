"""The partnership's set-up pages: contracts, their agencies, the rate card and schools'
pre-contract rates. Only the admin and the committee reach them; every change is audited;
every bad input is named on its field and writes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.time import london_today
from marketplace.supply import cover
from marketplace.supply.models import SupplyAgency, SupplyBaseline, SupplyContract, SupplyRate
from marketplace.supply.rules import RateUnit, ReleaseMode, SupplyRole, Weighting
from tests import factories
from tests.marketplace.supply.conftest import (
    NOW,
    book,
    make_supply,
    post,
)

CONTRACT = {
    "title": "Supply staff managed service 2027",
    "reference": "ELP-2027-001",
    "starts_on": "2027-09-01",
    "ends_on": "2029-08-31",
    "release_mode": "ranked",
    "release_window_hours": "2",
    "fill_by_hours": "18",
    "cancellation_notice_hours": "48",
    "cancellation_fee_percent": "50",
    "introduced_fee_percent": "40",
    "temp_to_perm_free_after_weeks": "12",
    "temp_to_perm_max_fee_percent": "15",
}
RATE = {
    "role": "cover-supervisor",
    "unit": "day",
    "weighting": "outer-london",
    "pay": "110.00",
    "ni": "9.50",
    "pension": "3.30",
    "holiday": "13.27",
    "fee": "33.00",
}


def _count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _audit(entity_type: str, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
    )


def _error_on(page: str, field_id: str, message: str) -> bool:
    """The message is in the error summary, linked to the field, and on the field itself."""
    return f'href="#{field_id}"' in page and page.count(message) >= 2


@pytest.fixture
def supply(world):
    return make_supply(world)


# Access ------------------------------------------------------------------------------------------

PAGES = ["/supply/contracts", "/supply/contracts/new", "/supply/contracts/{c}", "/supply/baselines"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("committee", 200),
        ("sbm_a", 403),
        ("head_a", 403),
        ("provider_user_a", 403),
        (None, 302),
    ],
)
def test_only_the_partnership_opens_the_set_up_pages(
    supply, client, login, world, path, who, status
):
    if who:
        login(getattr(world, who))
    response = client.get(path.format(c=supply.contract.id))
    assert response.status_code == status
    if who is None:
        assert "/sign-in" in response.location


@pytest.mark.parametrize("who", ["sbm_a", "head_a", "provider_user_a"])
def test_nobody_else_can_post_to_the_set_up_pages(supply, client, login, world, who):
    login(getattr(world, who))
    c = supply.contract.id
    before = [_count(m) for m in (SupplyContract, SupplyAgency, SupplyRate, SupplyBaseline)]
    agency = {"agency-provider_id": supply.agency_c.id, "agency-rank": "4"}
    rate = {**RATE, "provider_id": world.provider_a.id}
    baseline = {"school_id": world.school_a.id, "role": "teacher", "day_charge": "250.00"}
    for url, data in [
        ("/supply/contracts/new", CONTRACT),
        (f"/supply/contracts/{c}/agencies", agency),
        (f"/supply/contracts/{c}/agencies/{world.provider_b.id}/remove", {}),
        (f"/supply/contracts/{c}/rates", rate),
        ("/supply/baselines", baseline),
    ]:
        assert client.post(url, data=data).status_code == 403, url
    after = [_count(m) for m in (SupplyContract, SupplyAgency, SupplyRate, SupplyBaseline)]
    assert after == before


def test_an_unknown_contract_is_not_found(client, login, world):
    login(world.committee)
    assert client.get("/supply/contracts/999999").status_code == 404
    assert client.post("/supply/contracts/999999/rates", data=RATE).status_code == 404


def test_the_supply_home_links_the_partnership_to_its_set_up_pages(client, login, world):
    login(world.committee)
    page = client.get("/supply").get_data(as_text=True)
    for url in ("/supply/contracts", "/supply/contracts/new", "/supply/baselines"):
        assert f'href="{url}"' in page
    login(world.sbm_a)
    assert 'href="/supply/contracts"' not in client.get("/supply").get_data(as_text=True)


# Contracts ---------------------------------------------------------------------------------------


def test_the_committee_records_a_contract_with_its_rules(client, login, world):
    login(world.committee)
    response = client.post("/supply/contracts/new", data=CONTRACT)
    assert response.status_code == 302
    contract = db.session.scalar(
        sa.select(SupplyContract).where(SupplyContract.reference == "ELP-2027-001")
    )
    assert contract is not None
    assert response.location.endswith(f"/supply/contracts/{contract.id}")
    assert (contract.starts_on, contract.ends_on) == (date(2027, 9, 1), date(2029, 8, 31))
    assert contract.release_mode is ReleaseMode.RANKED
    assert contract.release_window_minutes == 120
    assert contract.fill_by_hours == 18
    assert contract.cancellation_notice_hours == 48
    assert contract.cancellation_fee_bp == 5_000
    assert contract.introduced_fee_bp == 4_000
    assert contract.temp_to_perm_free_after_weeks == 12
    assert contract.temp_to_perm_max_fee_bp == 1_500
    [event] = _audit("supply_contract", "created")
    assert event.actor_id == world.committee.id and event.entity_id == str(contract.id)
    listing = client.get("/supply/contracts").get_data(as_text=True)
    assert "Supply staff managed service 2027" in listing and "120 minutes each" in listing
    page = client.get(f"/supply/contracts/{contract.id}").get_data(as_text=True)
    assert "within 48 hours: 50% of the first day&#39;s charge" in page
    assert "No agencies on the contract yet." in page


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"title": "  "}, "title", "Give the contract a title"),
        ({"ends_on": "2027-08-31"}, "ends_on", "The contract must end on or after its start"),
        ({"starts_on": "31/02/2027"}, "starts_on", "Starts on: enter a real date"),
        (
            {"cancellation_fee_percent": "150"},
            "cancellation_fee_percent",
            "Enter a percentage from 0 to 100",
        ),
        (
            {"introduced_fee_percent": "-5"},
            "introduced_fee_percent",
            "Enter a percentage from 0 to 100",
        ),
        (
            {"release_window_hours": "two"},
            "release_window_hours",
            "must be a whole number",
        ),
        ({"cancellation_notice_hours": ""}, "cancellation_notice_hours", "Enter the notice"),
        ({"release_mode": "by-lottery"}, "release_mode", "Not a valid choice"),
    ],
)
def test_a_bad_contract_is_refused_on_its_field_and_nothing_is_written(
    client, login, world, changes, field_id, message
):
    login(world.admin)
    response = client.post("/supply/contracts/new", data={**CONTRACT, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page and f'href="#{field_id}"' in page
    assert _count(SupplyContract) == 0 and not _audit("supply_contract", "created")


# Agencies ----------------------------------------------------------------------------------------


def test_the_committee_puts_an_agency_on_and_takes_one_off(supply, client, login, world):
    login(world.committee)
    c = supply.contract.id
    extra = factories.make_provider("Delta Teachers")
    db.session.add(extra)
    db.session.commit()
    page = client.get(f"/supply/contracts/{c}").get_data(as_text=True)
    assert "Delta Teachers" in page
    assert re.search(r'<input[^>]*name="agency-rank"[^>]*value="4"', page)  # the next rank
    response = client.post(
        f"/supply/contracts/{c}/agencies", data={"agency-provider_id": extra.id, "agency-rank": "4"}
    )
    assert response.status_code == 302
    assert (
        db.session.scalar(
            sa.select(SupplyAgency.rank).where(
                SupplyAgency.contract_id == c, SupplyAgency.provider_id == extra.id
            )
        )
        == 4
    )
    assert _audit("supply_contract", "agency-added")[-1].after == {
        "provider_id": extra.id,
        "rank": 4,
    }
    response = client.post(f"/supply/contracts/{c}/agencies/{supply.agency_c.id}/remove")
    assert response.status_code == 302
    assert not db.session.scalar(
        sa.select(SupplyRate.id).where(SupplyRate.provider_id == supply.agency_c.id)
    )
    assert [e.before for e in _audit("supply_contract", "agency-removed")] == [
        {"provider_id": supply.agency_c.id, "rank": 3}
    ]
    page = client.get(f"/supply/contracts/{c}").get_data(as_text=True)
    assert "The agency and its rates are off the contract." in page
    assert f"Take {supply.agency_c.name} off" not in page


def test_an_agency_that_has_proposed_stays_on_the_contract(supply, client, login, world):
    request = post(supply)
    cover.propose(
        request.id, world.provider_a.id, supply.teacher_a.id, None, today=NOW.date(), now=NOW
    )
    login(world.admin)
    c = supply.contract.id
    before = _count(SupplyRate)
    response = client.post(f"/supply/contracts/{c}/agencies/{world.provider_a.id}/remove")
    assert response.status_code == 302
    assert _count(SupplyRate) == before
    assert cover.access.agency_rank(c, world.provider_a.id) == 1
    assert not _audit("supply_contract", "agency-removed")
    page = client.get(response.location).get_data(as_text=True)
    assert "has proposed workers under the contract, so it stays on it" in page
    # An agency not on the contract at all: not found.
    extra = factories.make_provider("Epsilon Cover")
    db.session.add(extra)
    db.session.commit()
    assert client.post(f"/supply/contracts/{c}/agencies/{extra.id}/remove").status_code == 404
    assert not _audit("supply_contract", "agency-removed")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agency-rank": "0"}, "Ranks start at 1"),
        ({"agency-rank": "1.5"}, "must be a whole number"),
        ({"agency-provider_id": "PROVIDER_A"}, "Not a valid choice"),  # already on it
        ({"agency-provider_id": ""}, "Choose an agency"),
    ],
)
def test_a_bad_agency_is_refused_on_its_field(supply, client, login, world, data, message):
    extra = factories.make_provider("Zeta Supply")
    db.session.add(extra)
    db.session.commit()
    if data.get("agency-provider_id") == "PROVIDER_A":  # already on the contract
        data = {**data, "agency-provider_id": str(world.provider_a.id)}
    login(world.committee)
    before = _count(SupplyAgency)
    response = client.post(
        f"/supply/contracts/{supply.contract.id}/agencies",
        data={"agency-provider_id": extra.id, "agency-rank": "4", **data},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert _count(SupplyAgency) == before


# The rate card -----------------------------------------------------------------------------------


def test_the_committee_puts_a_rate_on_the_card_in_parts(supply, client, login, world):
    login(world.committee)
    c = supply.contract.id
    response = client.post(
        f"/supply/contracts/{c}/rates", data={**RATE, "provider_id": world.provider_b.id}
    )
    assert response.status_code == 302
    rate = db.session.scalar(
        sa.select(SupplyRate).where(
            SupplyRate.provider_id == world.provider_b.id,
            SupplyRate.role == SupplyRole.COVER_SUPERVISOR,
        )
    )
    assert rate is not None
    assert (rate.unit, rate.weighting) == (RateUnit.DAY, Weighting.OUTER)
    parts = (rate.pay_pence, rate.ni_pence, rate.pension_pence, rate.holiday_pence, rate.fee_pence)
    assert parts == (11_000, 950, 330, 1_327, 3_300)
    assert rate.charge_pence == 16_907  # the sum, to the penny
    [event] = [e for e in _audit("supply_rate", "set") if e.entity_id == str(rate.id)]
    assert event.before is None
    assert event.after == {"charge_pence": 16_907, "fee_pence": 3_300, "replaces_rate_id": None}
    page = client.get(response.location).get_data(as_text=True)
    assert "Rate saved: Cover supervisor, day, outer london, charge £169.07." in page
    assert "£169.07" in page


def test_changing_a_rate_replaces_it_and_the_audit_keeps_the_old_charge(
    supply, client, login, world
):
    rate = db.session.scalar(
        sa.select(SupplyRate).where(
            SupplyRate.provider_id == world.provider_a.id,
            SupplyRate.role == SupplyRole.TEACHER,
            SupplyRate.unit == RateUnit.DAY,
        )
    )
    assert rate is not None and rate.charge_pence == 23_812
    login(world.admin)
    c = supply.contract.id
    form = client.get(f"/supply/contracts/{c}?rate={rate.id}").get_data(as_text=True)
    assert 'value="150.00"' in form and 'value="45.00"' in form  # filled with the rate
    assert "bookings already made at the old rate keep it" in form  # said on the page
    response = client.post(
        f"/supply/contracts/{c}/rates",
        data={
            "provider_id": world.provider_a.id,
            "role": "teacher",
            "unit": "day",
            "weighting": "outer-london",
            "pay": "150.00",
            "ni": "15.00",
            "pension": "10.00",
            "holiday": "18.12",
            "fee": "40.00",
        },
    )
    assert response.status_code == 302
    db.session.refresh(rate)
    assert (rate.fee_pence, rate.charge_pence) == (4_000, 23_312)
    event = [e for e in _audit("supply_rate", "set") if e.entity_id == str(rate.id)][-1]
    assert event.actor_id == world.admin.id
    assert event.before == {"charge_pence": 23_812, "fee_pence": 4_500}
    assert event.after == {"charge_pence": 23_312, "fee_pence": 4_000, "replaces_rate_id": None}
    assert not client.get(f"/supply/contracts/{c}").get_data(as_text=True).count("Earlier rates")


def test_a_rate_a_booking_was_made_at_is_kept_and_new_proposals_get_the_new_one(
    supply, client, login, world
):
    booking = book(supply, post(supply))
    old = booking.proposal.day_rate
    assert cover.quote(booking.proposal).day.charge_pence == 23_812
    login(world.committee)
    c = supply.contract.id
    new_parts = {"pay": "160.00", "ni": "16.00", "pension": "10.00", "holiday": "19.33"}
    response = client.post(
        f"/supply/contracts/{c}/rates",
        data={
            "provider_id": world.provider_a.id,
            "role": "teacher",
            "unit": "day",
            "weighting": "outer-london",
            "fee": "45.00",
            **new_parts,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert old.replaced_at is not None and old.charge_pence == 23_812  # kept as it was
    current = db.session.scalar(
        sa.select(SupplyRate).where(
            SupplyRate.provider_id == world.provider_a.id,
            SupplyRate.role == SupplyRole.TEACHER,
            SupplyRate.unit == RateUnit.DAY,
            SupplyRate.replaced_at.is_(None),
        )
    )
    assert current is not None and current.id != old.id and current.charge_pence == 25_033
    assert cover.quote(booking.proposal).day.charge_pence == 23_812  # the booking keeps its rate
    event = _audit("supply_rate", "set")[-1]
    assert event.entity_id == str(current.id) and event.after["replaces_rate_id"] == old.id
    assert event.before == {"charge_pence": 23_812, "fee_pence": 4_500}
    # A new proposal is priced at the new rate; the card shows it, the history the old one.
    second = post(supply, starts_on=date(2026, 9, 15))
    proposal = cover.propose(
        second.id, world.provider_a.id, supply.teacher_a.id, None, today=NOW.date(), now=NOW
    )
    assert proposal.day_rate_id == current.id
    page = client.get(f"/supply/contracts/{c}").get_data(as_text=True)
    card, history = page.split("Earlier rates, still paid on the bookings made at them", 1)
    assert "£250.33" in card and "£238.12" in history
    today = london_today()  # the card schools see is the contract's running today
    supply.contract.starts_on, supply.contract.ends_on = today, today + timedelta(days=400)
    db.session.commit()
    school_card = client.get("/supply/rates")
    assert school_card.get_data(as_text=True).count("£250.33") == 1


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"pay": "0"}, "pay", "Pay"),
        ({"pay": ""}, "pay", "Enter the worker&#39;s pay rate"),
        ({"ni": "-1.00"}, "ni", "Employer"),
        ({"fee": "12.345"}, "fee", "Agency fee"),
        ({"holiday": "lots"}, "holiday", "Holiday"),
        ({"role": "head-teacher"}, "role", "Not a valid choice"),
        ({"unit": "week"}, "unit", "Not a valid choice"),
        ({"provider_id": "OTHER"}, "provider_id", "Not a valid choice"),
    ],
)
def test_a_bad_rate_is_refused_on_its_field_and_nothing_changes(
    supply, client, login, world, changes, field_id, message
):
    if changes.get("provider_id") == "OTHER":  # a provider not on the contract
        other = factories.make_provider("Eta Staffing")
        db.session.add(other)
        db.session.commit()
        changes = {"provider_id": str(other.id)}
    login(world.committee)
    before = _count(SupplyRate)
    response = client.post(
        f"/supply/contracts/{supply.contract.id}/rates",
        data={**RATE, "provider_id": world.provider_a.id, **changes},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and f'href="#{field_id}"' in page and message in page
    assert _count(SupplyRate) == before and not [
        e for e in _audit("supply_rate", "set") if e.actor_id == world.committee.id
    ]


# Pre-contract rates ------------------------------------------------------------------------------


def test_the_committee_enters_and_replaces_a_schools_pre_contract_rate(client, login, world):
    login(world.committee)
    data = {"school_id": world.school_a.id, "role": "teacher", "day_charge": "255.00"}
    response = client.post("/supply/baselines", data=data)
    assert response.status_code == 302
    response = client.post("/supply/baselines", data={**data, "day_charge": "260.50"})
    assert response.status_code == 302
    [baseline] = db.session.scalars(sa.select(SupplyBaseline))
    assert (baseline.school_id, baseline.role, baseline.day_charge_pence) == (
        world.school_a.id,
        SupplyRole.TEACHER,
        26_050,
    )
    events = _audit("supply_baseline", "set")
    assert [e.after for e in events] == [{"day_charge_pence": 25_500}, {"day_charge_pence": 26_050}]
    assert {e.scope for e in events} == {f"school:{world.school_a.id}"}
    page = client.get("/supply/baselines").get_data(as_text=True)
    assert world.school_a.name in page and "£260.50" in page and "£255.00" not in page


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"day_charge": "0"}, "day_charge", "Day charge"),
        ({"day_charge": ""}, "day_charge", "Enter the day charge the school paid before"),
        ({"day_charge": "2.5.0"}, "day_charge", "Day charge"),
        ({"school_id": "999999"}, "school_id", "Not a valid choice"),
        ({"school_id": "x1"}, "school_id", "School: choose from the list"),
        ({"school_id": ""}, "school_id", "Choose the school"),
        ({"role": "caretaker"}, "role", "Not a valid choice"),
    ],
)
def test_a_bad_pre_contract_rate_is_refused_on_its_field(
    client, login, world, changes, field_id, message
):
    login(world.admin)
    response = client.post(
        "/supply/baselines",
        data={"school_id": world.school_a.id, "role": "teacher", "day_charge": "250", **changes},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and f'href="#{field_id}"' in page and message in page
    assert _count(SupplyBaseline) == 0 and not _audit("supply_baseline", "set")
