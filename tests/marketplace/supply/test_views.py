"""Supply pages: who sees what (a parametrized sweep), the flows through the forms, and the
public vacancies board with its feeds."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from app.extensions import db
from app.time import london_today
from marketplace.supply import cover, vacancies
from marketplace.supply.models import ContractType
from marketplace.supply.rules import SupplyRole
from tests.marketplace.supply.conftest import make_supply


@pytest.fixture
def live(world):
    """A contract running today, a request from school A proposed by agencies A and B, one of
    them booked, and a timesheet; committed so pages read it."""
    today = london_today()
    s = make_supply(world)
    s.contract.starts_on = today - timedelta(days=400)
    s.contract.ends_on = today + timedelta(days=400)
    for worker in (s.teacher_a, s.teacher_b):
        for check in worker.checks:
            check.expires_on = today + timedelta(days=800)
    db.session.commit()
    start = today + timedelta(days=14 - today.weekday())  # a Monday next week or the one after
    request = cover.post_request(
        contract_id=s.contract.id,
        school_id=world.school_a.id,
        role=SupplyRole.TEACHER,
        session=cover.Session.FULL_DAY,
        starts_on=start,
        ends_on=start + timedelta(days=13),
        actor=world.sbm_a,
        today=today,
    )
    mine = cover.propose(request.id, world.provider_a.id, s.teacher_a.id, None, today=today)
    theirs = cover.propose(request.id, world.provider_b.id, s.teacher_b.id, None, today=today)
    open_request = cover.post_request(
        contract_id=s.contract.id,
        school_id=world.school_b.id,
        role=SupplyRole.TEACHER,
        session=cover.Session.MORNING,
        starts_on=start,
        ends_on=start,
        actor=world.sbm_b,
        today=today,
    )
    return {"s": s, "request": request, "mine": mine, "theirs": theirs, "open": open_request}


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("sbm_a", "/supply/requests/{request}", 200),
        ("sbm_b", "/supply/requests/{request}", 404),  # another school's request
        ("sbm_a", "/supply/requests/{open}", 404),
        ("provider_user_a", "/supply/requests/{request}", 200),
        ("admin", "/supply/requests/{request}", 403),
        ("sbm_a", "/supply/rates", 200),
        ("provider_user_a", "/supply/rates", 200),
        ("provider_user_a", "/supply/workers", 200),
        ("sbm_a", "/supply/workers", 403),
        ("sbm_a", "/supply", 200),
        ("provider_user_b", "/supply", 200),
        ("admin", "/supply", 200),
    ],
)
def test_who_may_open_which_page(live, client, login, world, who, path, status):
    login(getattr(world, who))
    url = path.format(request=live["request"].id, open=live["open"].id)
    assert client.get(url).status_code == status


def test_an_agency_sees_only_its_own_proposals_workers_and_rates(live, client, login, world):
    login(world.provider_user_a)
    page = client.get(f"/supply/requests/{live['request'].id}").get_data(as_text=True)
    assert "Asha Patel" in page and "Ben Okafor" not in page
    assert "Len Lapsed" in page and "Cannot be offered" in page  # its own lapsed worker, flagged
    rates = client.get("/supply/rates").get_data(as_text=True)
    assert world.provider_a.name in rates and world.provider_b.name not in rates
    workers = client.get("/supply/workers").get_data(as_text=True)
    assert "Asha Patel" in workers and "Ben Okafor" not in workers and "Cara Nwosu" not in workers


def test_a_school_sees_every_part_of_every_proposal(live, client, login, world):
    login(world.sbm_a)
    page = client.get(f"/supply/requests/{live['request'].id}").get_data(as_text=True)
    assert "Asha Patel" in page and "Ben Okafor" in page
    assert "agency fee £45.00" in page and "<strong>£238.12</strong>" in page


@pytest.mark.parametrize(
    ("who", "status"),
    [("sbm_a", 200), ("sbm_b", 404), ("provider_user_a", 200), ("provider_user_b", 404)],
)
def test_a_booking_is_seen_by_its_school_and_agency_only(live, client, login, world, who, status):
    booking = cover.accept(live["mine"].id, world.school_a.id, world.sbm_a, today=london_today())
    login(getattr(world, who))
    assert client.get(f"/supply/bookings/{booking.id}").status_code == status


def test_another_agency_cannot_propose_or_submit_for_what_is_not_its_own(
    live, client, login, world
):
    booking = cover.accept(live["mine"].id, world.school_a.id, world.sbm_a, today=london_today())
    login(live["s"].agency_user_c)
    response = client.post(
        f"/supply/requests/{live['open'].id}/propose", data={"worker_id": live["s"].teacher_a.id}
    )
    assert response.status_code == 404  # not its worker
    response = client.post(
        f"/supply/bookings/{booking.id}/timesheets",
        data={"week_starting": "2026-09-07", "monday": "day"},
    )
    assert response.status_code == 404


def test_a_lapsed_worker_is_refused_on_the_page_with_the_reason(live, client, login, world):
    login(world.provider_user_a)
    response = client.post(
        f"/supply/requests/{live['open'].id}/propose", data={"worker_id": live["s"].lapsed_a.id}
    )
    assert response.status_code == 409
    assert "cannot be offered until their checks are complete" in response.get_data(as_text=True)


@pytest.mark.parametrize("worker_id", [str(2**63), "-1", "\u0663", "x"])
def test_a_worker_id_that_is_not_a_record_id_is_refused_not_a_500(
    live, client, login, world, worker_id
):
    login(world.provider_user_a)
    response = client.post(
        f"/supply/requests/{live['open'].id}/propose", data={"worker_id": worker_id}
    )
    assert response.status_code == 400
    assert "choose from the list" in response.get_data(as_text=True)


def test_the_school_accepts_and_approves_through_the_pages(live, client, login, world):
    login(world.sbm_a)
    response = client.post(
        f"/supply/proposals/{live['theirs'].id}/accept", data={"parity_day_pay": "180.00"}
    )
    assert response.status_code == 302
    booking_url = response.headers["Location"]
    page = client.get(booking_url).get_data(as_text=True)
    assert "Ben Okafor" in page and "£180.00" in page and "Cancelling now costs £0.00" in page


def test_a_bad_request_form_says_why(live, client, login, world):
    login(world.sbm_a)
    response = client.post(
        "/supply/requests/new",
        data={
            "role": "teacher",
            "session": "full-day",
            "starts_on": "2020-01-01",
            "ends_on": "2020-01-02",
        },
    )
    assert response.status_code == 400
    assert "Cover cannot start in the past" in response.get_data(as_text=True)
    response = client.post(
        "/supply/requests/new",
        data={"role": "teacher", "session": "full-day", "starts_on": "nonsense"},
    )
    assert response.status_code == 400


def _vacancy(school, title, closing_on, **values):
    return vacancies.post(
        school_id=school.id,
        title=title,
        role=values.pop("role", SupplyRole.TEACHER),
        contract_type=ContractType.PERMANENT,
        salary_min_pence=3_200_000,
        salary_max_pence=4_000_000,
        closing_on=closing_on,
        description="Join our team.",
        today=closing_on - timedelta(days=30),
        actor=None,
        **values,
    )


def test_the_vacancies_board_is_public_filtered_and_closed_vacancies_come_down(client, world):
    today = london_today()
    _vacancy(world.school_a, "Year 3 teacher", today, subject="Primary")
    _vacancy(world.school_b, "Maths teacher", today + timedelta(days=10), subject="Maths")
    _vacancy(
        world.school_b,
        "TA for Year 1",
        today + timedelta(days=5),
        role=SupplyRole.TEACHING_ASSISTANT,
    )
    _vacancy(world.school_a, "Closed yesterday", today - timedelta(days=1))
    page = client.get("/vacancies").get_data(as_text=True)
    assert "Year 3 teacher" in page and "Maths teacher" in page and "Closed yesterday" not in page
    filtered = client.get("/vacancies?role=teacher&phase=Secondary").get_data(as_text=True)
    assert (
        "Maths teacher" in filtered
        and "Year 3 teacher" not in filtered
        and "TA for Year 1" not in filtered
    )
    assert "Maths teacher" in client.get("/vacancies?subject=maths").get_data(as_text=True)

    feed = client.get("/vacancies.json")
    assert feed.mimetype == "application/ld+json"
    body = json.loads(feed.get_data(as_text=True))
    postings = [item["item"] for item in body["itemListElement"]]
    assert [p["title"] for p in postings] == [
        "Year 3 teacher",
        "TA for Year 1",
        "Maths teacher",
    ]
    maths = postings[2]
    assert (
        maths["@type"] == "JobPosting" and maths["hiringOrganization"]["name"] == "Beta High School"
    )
    assert maths["baseSalary"]["value"] == {
        "@type": "QuantitativeValue",
        "minValue": 32000,
        "maxValue": 40000,
        "unitText": "YEAR",
    }
    assert maths["validThrough"].startswith((today + timedelta(days=10)).isoformat())

    atom = client.get("/vacancies.atom")
    assert atom.mimetype == "application/atom+xml"
    root = ET.fromstring(atom.get_data())  # noqa: S314 (our own feed, in a test)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert titles == [
        "Year 3 teacher: Alpha Primary School",
        "TA for Year 1: Beta High School",
        "Maths teacher: Beta High School",
    ]


def test_a_closed_vacancy_page_is_not_found(client, world):
    closed = _vacancy(world.school_a, "Closed", london_today() - timedelta(days=1))
    assert client.get(f"/vacancies/{closed.id}").status_code == 404


def test_posting_a_vacancy_refuses_bad_salaries(client, login, world):
    login(world.sbm_a)
    response = client.post(
        "/supply/vacancies/new",
        data={
            "title": "Teacher",
            "role": "teacher",
            "contract_type": "permanent",
            "salary_min": "40000",
            "salary_max": "30000",
            "closing_on": (london_today() + timedelta(days=5)).isoformat(),
            "description": "x",
        },
    )
    assert response.status_code == 400
    assert "cannot be below the lowest" in response.get_data(as_text=True)


def test_an_agency_adds_a_worker_and_records_checks_until_they_are_cleared(
    live, client, login, world
):
    login(world.provider_user_b)
    response = client.post(
        "/supply/workers", data={"name": "Nia Adeyemi", "role": "teaching-assistant"}
    )
    assert response.status_code == 302
    from marketplace.supply import access as supply_access

    [worker] = [
        w for w in supply_access.agency_workers(world.provider_b.id) if w.name == "Nia Adeyemi"
    ]
    assert "cannot be offered" in client.get("/supply/workers").get_data(as_text=True)
    today = london_today()
    bad = client.post(
        f"/supply/workers/{worker.id}/checks",
        data={
            f"worker-{worker.id}-kind": "right-to-work",
            f"worker-{worker.id}-checked_on": today.isoformat(),
            f"worker-{worker.id}-expires_on": (today - timedelta(days=1)).isoformat(),
        },
        follow_redirects=True,
    )
    assert "The expiry date must be on or after the check" in bad.get_data(as_text=True)
    for kind in (
        "dbs-barred",
        "dbs-update-service",
        "right-to-work",
        "references",
        "safeguarding-training",
    ):
        client.post(
            f"/supply/workers/{worker.id}/checks",
            data={
                f"worker-{worker.id}-kind": kind,
                f"worker-{worker.id}-checked_on": today.isoformat(),
                f"worker-{worker.id}-expires_on": (today + timedelta(days=365)).isoformat(),
            },
        )
    page = client.get("/supply/workers").get_data(as_text=True)
    assert "Nia Adeyemi (Teaching assistant): cleared" in page
    login(live["s"].agency_user_c)
    response = client.post(f"/supply/workers/{worker.id}/checks", data={})
    assert response.status_code == 404  # another agency's worker


def test_a_school_names_a_preferred_worker_it_has_had_and_sees_them_flagged(
    live, client, login, world
):
    cover.accept(live["mine"].id, world.school_a.id, world.sbm_a, today=london_today())
    login(world.sbm_b)
    assert client.post(f"/supply/workers/{live['s'].teacher_a.id}/prefer").status_code == 404
    login(world.sbm_a)
    assert client.post(f"/supply/workers/{live['s'].teacher_a.id}/prefer").status_code == 302
    page = client.get(f"/supply/requests/{live['request'].id}").get_data(as_text=True)
    assert "Your preferred worker" in page
