"""Stripe's events at /stripe/webhook: verified on the raw body, once each, status forward only.

The events are real ones: made by the local Stripe server when billing issued the invoices
and a payment arrived, read back with the Stripe SDK, then delivered signed to the app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
import stripe

from app.extensions import db
from app.models import AuditEvent
from marketplace.billing import runs
from marketplace.billing import webhooks as billing_events
from marketplace.billing.models import Invoice, InvoiceStatus, StripeEvent
from marketplace.billing.state import get_state, set_state
from marketplace.billing.stripe_gateway import StripeGateway
from tests.marketplace.billing.conftest import count
from tests.support.stripe_fixtures import TEST_WEBHOOK_SECRET, fail_invoice_payment

pytestmark = pytest.mark.usefixtures("stripe_config")


def sign(body: bytes, secret: str = TEST_WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    timestamp = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, default=str).encode()  # *_decimal fields are strings in Stripe


def deliver(client: Any, event: dict[str, Any], *, signature: str | None = None) -> Any:
    body = body_of(event)
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = signature if signature is not None else sign(body)
    return client.post("/stripe/webhook", data=body, headers=headers)


def events_for(client_stripe: stripe.StripeClient, invoice_id: str) -> dict[str, dict[str, Any]]:
    """The local Stripe's real events about one invoice, by type (as plain dicts)."""
    found: dict[str, dict[str, Any]] = {}
    for event in client_stripe.v1.events.list({"type": "invoice.*", "limit": 100}).data:
        if event.data.object.id == invoice_id:
            found.setdefault(event.type, event.to_dict())
    return found


@pytest.fixture
def issued(world, gateway: StripeGateway) -> Invoice:
    """School A's membership invoice, issued through the local Stripe (open, sent)."""
    world.school_b.is_member = False
    world.school_a.finance_email = "finance@alpha.example"
    db.session.flush()
    run = runs.start_run(None)
    runs.execute(run, gateway)
    invoice = db.session.scalar(sa.select(Invoice))
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN
    return invoice


def paid_events(client_stripe: stripe.StripeClient, invoice: Invoice) -> dict[str, Any]:
    client_stripe.v1.invoices.pay(invoice.stripe_invoice_id, {"paid_out_of_band": True})
    events = events_for(client_stripe, invoice.stripe_invoice_id)
    assert {"invoice.created", "invoice.finalized", "invoice.paid"} <= set(events)
    return events


def test_a_signed_paid_event_marks_the_invoice_paid(client, issued, client_stripe) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]

    response = deliver(client, event)

    assert response.status_code == 200
    assert response.json["duplicate"] is False
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.PAID
    assert issued.paid_at is not None
    assert issued.amount_paid_pence == issued.total_pence
    assert issued.amount_due_pence == 0
    row = db.session.scalar(sa.select(StripeEvent).where(StripeEvent.event_id == event["id"]))
    assert (row.type, row.source, row.object_id) == (
        "invoice.paid",
        "webhook",
        issued.stripe_invoice_id,
    )
    assert "open → paid" in row.outcome


def test_a_replayed_event_changes_nothing(client, issued, client_stripe) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]
    deliver(client, event)
    audit_before = count(AuditEvent)
    events_before = count(StripeEvent)

    again = deliver(client, event, signature=sign(body_of(event)))

    assert again.status_code == 200
    assert again.json["duplicate"] is True
    assert (count(AuditEvent), count(StripeEvent)) == (audit_before, events_before)


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing
        "t=1,v1=deadbeef",  # wrong and stale
        "garbage",
        "WRONG-SECRET",
        "STALE",
    ],
)
def test_a_bad_signature_is_refused_with_400_and_changes_nothing(
    client, issued, client_stripe, signature: str
) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]
    body = body_of(event)
    if signature == "WRONG-SECRET":
        signature = sign(body, "whsec_not_ours")
    elif signature == "STALE":
        signature = sign(body, at=int(time.time()) - 3600)

    response = client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.OPEN
    assert count(StripeEvent) == 0


def test_the_signature_is_checked_on_the_raw_body(client, issued, client_stripe) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]
    body = body_of(event)
    signature = sign(body)
    reformatted = json.dumps(event, indent=2, default=str).encode()  # same JSON, other bytes

    response = client.post(
        "/stripe/webhook",
        data=reformatted,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert count(StripeEvent) == 0


def test_webhooks_are_refused_when_no_secret_is_configured(app, client, issued, client_stripe):
    event = paid_events(client_stripe, issued)["invoice.paid"]
    app.config["STRIPE_WEBHOOK_SECRET"] = ""

    assert deliver(client, event).status_code == 400


@pytest.mark.usefixtures("csrf_enabled")
def test_the_webhook_needs_no_csrf_token(client, issued, client_stripe) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]

    assert deliver(client, event).status_code == 200


@pytest.mark.parametrize(
    "order",
    [
        ("invoice.paid", "invoice.finalized", "invoice.created"),
        ("invoice.finalized", "invoice.paid", "invoice.created"),
        ("invoice.created", "invoice.paid", "invoice.finalized"),
        ("invoice.paid", "invoice.created", "invoice.finalized"),
    ],
)
def test_status_only_moves_forward_whatever_order_events_arrive_in(
    client, issued, client_stripe, order: tuple[str, ...]
) -> None:
    events = paid_events(client_stripe, issued)

    for name in order:
        assert deliver(client, events[name]).status_code == 200

    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.PAID
    number = client_stripe.v1.invoices.retrieve(issued.stripe_invoice_id).number
    assert issued.number == number


def test_a_paid_invoice_is_never_voided_by_a_late_event(client, issued, client_stripe) -> None:
    paid = paid_events(client_stripe, issued)["invoice.paid"]
    deliver(client, paid)
    voided = json.loads(body_of(paid))
    voided["id"] = paid["id"] + "_void"
    voided["type"] = "invoice.voided"
    voided["data"]["object"]["status"] = "void"

    deliver(client, voided)

    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.PAID
    outcome = db.session.scalar(
        sa.select(StripeEvent.outcome).where(StripeEvent.event_id == voided["id"])
    )
    assert "already paid" in outcome


def test_voided_and_failed_payments_show_on_the_schools_invoices_page(
    client, auth, world, issued, client_stripe, stripe_config: str
) -> None:
    fail_invoice_payment(stripe_config, issued.stripe_invoice_id)
    failed = events_for(client_stripe, issued.stripe_invoice_id)["invoice.payment_failed"]
    deliver(client, failed)
    auth.as_user(world.sbm_a)

    page = client.get("/invoices").get_data(as_text=True)
    assert "Payment failed" in page

    client_stripe.v1.invoices.void_invoice(issued.stripe_invoice_id)
    deliver(client, events_for(client_stripe, issued.stripe_invoice_id)["invoice.voided"])
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.VOID
    page = client.get("/invoices").get_data(as_text=True)
    assert "Cancelled (void)" in page
    detail = client.get(f"/invoices/{issued.id}").get_data(as_text=True)
    assert "not to be paid" in detail


def test_an_event_about_someone_elses_invoice_is_recorded_and_ignored(client, issued) -> None:
    event = {
        "id": "evt_not_ours_1",
        "object": "event",
        "type": "invoice.paid",
        "created": int(time.time()),
        "data": {"object": {"id": "in_elsewhere", "object": "invoice", "status": "paid"}},
    }

    response = deliver(client, event)

    assert response.status_code == 200
    assert "not a Pooled invoice" in response.json["outcome"]
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.OPEN


def test_reconciliation_applies_a_payment_whose_webhook_never_came(
    issued, gateway: StripeGateway, client_stripe
) -> None:
    since = issued.created_at.timestamp() - 5
    set_state(billing_events.EVENTS_CURSOR, str(int(since)))
    set_state(billing_events.INVOICES_CURSOR, str(int(since)))
    db.session.commit()
    paid_events(client_stripe, issued)  # paid in Stripe; no webhook reached us

    report = billing_events.reconcile(gateway)

    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.PAID
    assert report.events_applied >= 1
    assert any("open → paid" in line for line in report.lines)
    cursor = int(get_state(billing_events.EVENTS_CURSOR))
    assert cursor >= int(since)

    again = billing_events.reconcile(gateway)
    assert again.events_applied == 0
    assert again.invoices_changed == 0


def test_reconciliation_links_an_invoice_whose_stripe_id_was_never_stored(
    issued, gateway: StripeGateway
) -> None:
    stripe_id = issued.stripe_invoice_id
    since = int(issued.created_at.timestamp()) - 5
    set_state(billing_events.INVOICES_CURSOR, str(since))
    set_state(billing_events.EVENTS_CURSOR, str(int(time.time()) + 3600))
    db.session.execute(sa.update(Invoice).values(stripe_invoice_id=None))
    db.session.commit()

    billing_events.reconcile(gateway)

    db.session.refresh(issued)
    assert issued.stripe_invoice_id == stripe_id
