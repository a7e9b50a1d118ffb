"""Documents: invoice, credit-note and order-confirmation PDFs; the orders CSV with its codes."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.money import format_pence
from marketplace.billing import runs
from marketplace.billing.credits import credit_cancelled_order
from marketplace.billing.queries import invoice_for_order
from marketplace.documents import codes
from marketplace.documents.models import ServiceFinanceCode
from marketplace.orders.models import OrderStatus
from tests import factories
from tests.marketplace.billing.conftest import make_order, standard_rated_service
from tests.pdf_text import pdf_text, pdf_title


@pytest.fixture
def billed(world, no_stripe):
    """School A's delivered order for 10 hours of HR advice at £80 (£800 + £160 VAT), billed."""
    world.school_b.is_member = False
    offer = factories.make_offer(world.provider_a, standard_rated_service(), tiers=[(0, 8_000)])
    order = make_order(world.school_a, offer, quantity=10, po_number="PO-4411")
    runs.execute(runs.start_run(None), None)
    return order


@pytest.fixture
def partnership(app):
    saved = {k: app.config[k] for k in ("PARTNERSHIP_ADDRESS", "PARTNERSHIP_VAT_NUMBER")}
    app.config.update(
        PARTNERSHIP_ADDRESS="Perceval House|14-16 Uxbridge Road|London|W5 2HL",
        PARTNERSHIP_VAT_NUMBER="GB 987 6543 21",
    )
    yield
    app.config.update(saved)


def test_an_invoice_pdf_has_the_partnership_its_lines_vat_and_what_to_pay(
    client, login, world, billed, partnership
):
    invoice = invoice_for_order(billed.id)
    login(world.sbm_a)
    response = client.get(f"/invoices/{invoice.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in (
        "Ealing Learning Partnership",
        "Perceval House, 14-16 Uxbridge Road, London, W5 2HL",
        "GB 987 6543 21",
        f"Invoice {invoice.reference}",
        world.school_a.name,
        "PO-4411",
        f"(order {billed.id})",
        "£800.00",
        "£160.00 (20%)",
        "Total £960.00",
        "Still to pay £960.00",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert pdf_title(response.data) == f"Invoice {invoice.reference}"
    assert f'href="/invoices/{invoice.id}.pdf"' in client.get(f"/invoices/{invoice.id}").text


def test_a_school_cannot_print_another_schools_invoice(client, login, world, billed):
    invoice = invoice_for_order(billed.id)
    login(world.sbm_b)
    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 404
    login(world.provider_user_a)
    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 403
    login(world.admin)
    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 200


def test_a_credit_note_pdf_says_what_is_credited_against_which_invoice(
    client, login, world, billed, partnership
):
    billed.status = OrderStatus.CANCELLED
    note = credit_cancelled_order(billed, 30_000, world.sbm_a)
    db.session.commit()
    assert note is not None
    invoice = invoice_for_order(billed.id)
    login(world.head_a)
    response = client.get(f"/credit-notes/{note.id}.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for expected in (
        f"Credit note {note.number}",
        f"Against invoice {invoice.reference}",
        "Net £300.00",
        "VAT (20%) £60.00",
        "Total credited £360.00",
        "GB 987 6543 21",
    ):
        assert expected in text, expected
    assert f"/credit-notes/{note.id}.pdf" in client.get(f"/invoices/{invoice.id}").text
    login(world.sbm_b)
    assert client.get(f"/credit-notes/{note.id}.pdf").status_code == 404


def test_an_order_confirmation_pdf_for_the_school_and_the_provider_but_not_a_draft(
    client, login, world, partnership
):
    order = make_order(
        world.school_a, world.offer_a, quantity=5, status=OrderStatus.CONFIRMED, po_number="PO-1"
    )
    draft = make_order(world.school_a, world.offer_a, quantity=2, status=OrderStatus.DRAFT)
    db.session.commit()
    login(world.sbm_a)
    response = client.get(f"/orders/{order.id}/confirmation.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for expected in (
        f"Order {order.id} confirmation",
        world.school_a.name,
        world.provider_a.name,
        world.service.name,
        "Confirmed",
        "PO-1",
        "5 days",
        f"Total before VAT {format_pence(order.total_pence)}",
    ):
        assert expected in text, expected
    assert f"/orders/{order.id}/confirmation.pdf" in client.get(f"/orders/{order.id}").text
    assert client.get(f"/orders/{draft.id}/confirmation.pdf").status_code == 404
    login(world.provider_user_a)
    assert client.get(f"/orders/{order.id}/confirmation.pdf").status_code == 200
    login(world.sbm_b)
    assert client.get(f"/orders/{order.id}/confirmation.pdf").status_code == 404


def test_the_orders_csv_carries_the_finance_code_the_school_gives_each_service(
    client, login, world, billed
):
    other = make_order(world.school_a, world.offer_a, quantity=3, status=OrderStatus.APPROVED)
    make_order(world.school_b, world.offer_a, quantity=9, status=OrderStatus.APPROVED)
    make_order(world.school_a, world.offer_a, quantity=1, status=OrderStatus.DRAFT)
    db.session.commit()
    login(world.sbm_a)

    page = client.get(f"/finance-codes/{billed.service_id}")
    assert "Usually E28" in page.text  # HR: bought-in professional services, other
    response = client.post(f"/finance-codes/{billed.service_id}", data={"code": " e28 "})
    assert response.status_code == 302
    client.post(f"/finance-codes/{world.service.id}", data={"code": "CC-104/2"})

    response = client.get("/orders.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["Order"]) for r in rows] == [billed.id, other.id]  # no draft, no one else's
    hr, counselling = rows
    invoice = invoice_for_order(billed.id)
    assert (hr["Finance code"], hr["Net"], hr["VAT"], hr["Total"]) == (
        "E28",
        "800.00",
        "160.00",
        "960.00",
    )
    assert (hr["PO number"], hr["Invoice"]) == ("PO-4411", invoice.reference)
    assert hr["Status"] == "Invoiced"
    assert counselling["Finance code"] == "CC-104/2"
    assert counselling["Invoice"] == "" and counselling["Status"] == "Approved"

    page = client.get("/finance-codes").text
    assert "E28" in page and "CC-104/2" in page
    assert 'href="/orders.csv"' in client.get("/orders").text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("E27; DROP", "letters, numbers, dots, dashes and slashes"),
        ("x" * 21, "20 characters or fewer"),
    ],
)
def test_a_bad_finance_code_is_refused_with_a_message_and_nothing_written(
    client, login, world, typed, message
):
    login(world.sbm_a)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    response = client.post(f"/finance-codes/{world.service.id}", data={"code": typed})
    assert response.status_code == 400
    assert message in response.text
    assert "<title>Error: " in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceFinanceCode)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_an_empty_code_removes_it_and_other_roles_cannot_set_codes(client, login, world):
    login(world.sbm_a)
    client.post(f"/finance-codes/{world.service.id}", data={"code": "E27"})
    client.post(f"/finance-codes/{world.service.id}", data={"code": ""})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceFinanceCode)) == 0
    assert client.post("/finance-codes/999999", data={"code": "E27"}).status_code == 404
    login(world.provider_user_a)
    assert client.get("/finance-codes").status_code == 403
    assert client.get("/orders.csv").status_code == 403


def test_codes_are_kept_in_capitals_and_suggested_by_category():
    assert codes.normalise(" e26 ") == "E26"
    assert codes.suggestion("supply") == ("E26", "Agency supply teaching staff")
    assert codes.suggestion("counselling")[0] == "E27"
    with pytest.raises(ValueError, match="letters, numbers"):
        codes.normalise("E 27")
