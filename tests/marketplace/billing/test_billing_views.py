"""Billing pages: who may see what, the school's own invoices only, the admin's billing run."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from marketplace.billing import runs
from marketplace.billing.models import BillingRun, Invoice
from tests.marketplace import html
from tests.marketplace.billing.conftest import count, make_order

pytestmark = pytest.mark.usefixtures("no_stripe")

ROLES = (
    "anonymous",
    "admin",
    "committee",
    "sbm_a",
    "head_a",
    "provider_user_a",
    "trust_user",
    "governor_a",
)
ACCESS = {
    "/invoices": {"sbm_a": 200, "head_a": 200, "trust_user": 200},
    "/billing": {"admin": 200},
    "/billing/invoices": {"admin": 200, "committee": 200},
    "/billing/payables": {"admin": 200, "committee": 200},
    "/billing/payables.csv": {"admin": 200},
    "/payments": {"provider_user_a": 200, "sbm_a": 404, "head_a": 403},
    "/payments.csv": {"provider_user_a": 200, "sbm_a": 404},
}


@pytest.mark.parametrize("path", sorted(ACCESS))
@pytest.mark.parametrize("role", ROLES)
def test_billing_pages_are_only_for_the_roles_they_serve(client, auth, world, path, role) -> None:
    if role != "anonymous":
        auth.as_user(getattr(world, role))

    response = client.get(path)

    expected = 302 if role == "anonymous" else ACCESS[path].get(role, 403)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]


@pytest.fixture
def billed(world):
    make_order(world.school_a, world.offer_a, 2, po_number="PO-SEEN")
    run = runs.start_run(None)
    runs.execute(run, None)
    return {
        i.school_id: i
        for i in db.session.scalars(sa.select(Invoice))
        if i.kind.value == "membership"
    }


def test_a_school_sees_its_own_invoices_only(client, auth, world, billed) -> None:
    auth.as_user(world.sbm_a)

    page = client.get("/invoices").get_data(as_text=True)

    assert billed[world.school_a.id].number in page
    assert "PO-SEEN" in page
    assert billed[world.school_b.id].number not in page
    assert "Stripe) is not configured" in page


def test_another_schools_invoice_is_not_found(client, auth, world, billed) -> None:
    auth.as_user(world.sbm_b)

    assert client.get(f"/invoices/{billed[world.school_a.id].id}").status_code == 404
    assert client.get(f"/invoices/{billed[world.school_b.id].id}").status_code == 200
    assert client.get("/invoices/999999").status_code == 404


def test_a_trust_sees_its_schools_invoices_and_not_others(client, auth, world, billed) -> None:
    auth.as_user(world.trust_user)  # the trust has school_a, not school_b

    page = client.get("/invoices").get_data(as_text=True)

    assert billed[world.school_a.id].number in page and world.school_a.name in page
    assert billed[world.school_b.id].number not in page
    assert client.get(f"/invoices/{billed[world.school_a.id].id}").status_code == 200
    assert client.get(f"/invoices/{billed[world.school_b.id].id}").status_code == 404


def test_the_invoice_shows_lines_vat_total_and_council_match(client, auth, world, billed):
    auth.as_user(world.head_a)

    page = client.get(f"/invoices/{billed[world.school_a.id].id}").get_data(as_text=True)

    assert "420 pupils at £14.00" in page
    assert 'id="invoice-total">£5,880.00' in page
    assert "Council match" in page
    assert "(exempt)" in page


def test_the_partnership_office_can_open_any_invoice(client, auth, world, billed) -> None:
    auth.as_user(world.committee)

    assert client.get(f"/invoices/{billed[world.school_b.id].id}").status_code == 200
    assert billed[world.school_b.id].number in client.get("/billing/invoices").get_data(
        as_text=True
    )


def test_the_admin_runs_billing_from_the_page(app, client, auth, world) -> None:
    # The run is a job; with JOBS_IMMEDIATE it runs as the request commits (a real consumer
    # runs it in tests/app/jobs).
    auth.as_user(world.admin)
    page = client.get("/billing").get_data(as_text=True)
    assert "Stripe is not configured" in page
    assert "Start a billing run" in page

    response = client.post("/billing", follow_redirects=True)

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 invoices created" in body
    assert count(Invoice) == 2
    assert 'http-equiv="refresh"' not in body


def test_a_running_run_shows_its_progress_and_the_page_refreshes_itself(client, auth, world):
    run = runs.start_run(world.admin)
    db.session.execute(
        sa.update(BillingRun)
        .where(BillingRun.id == run.id)
        .values(invoices_created=64, to_push=64, pushed=12)
    )
    db.session.commit()
    auth.as_user(world.admin)

    page = client.get("/billing").get_data(as_text=True)

    assert '<meta http-equiv="refresh" content="3">' in page
    assert "12 of 64 issued through Stripe" in page
    assert "Start a billing run" not in page
    assert client.post("/billing", follow_redirects=True).status_code == 200
    assert count(BillingRun) == 1  # refused: one is already running


def test_starting_a_run_needs_the_forms_csrf_token(app, client, auth, world) -> None:
    auth.as_user(world.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/billing")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False

    assert response.status_code in (302, 303, 400)
    assert count(BillingRun) == 0


@pytest.mark.parametrize(
    ("role", "item"),
    [("admin", "Billing"), ("sbm_a", "Invoices"), ("provider_user_a", "Payments")],
)
def test_the_navigation_shows_billing_to_whom_it_is_for(client, auth, world, role, item):
    auth.as_user(getattr(world, role))

    page = client.get("/home").get_data(as_text=True)

    nav = re.search(r'<ul class="govuk-service-navigation__list".*?</ul>', page, re.S)
    assert nav is not None
    assert item in html.text(nav.group(0)).split()
