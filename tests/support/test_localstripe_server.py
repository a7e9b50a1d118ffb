"""The local Stripe server, through the real stripe SDK over HTTP: what billing relies on."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from uuid import uuid4

import pytest
import stripe

from tests.support.stripe_fixtures import (
    TEST_WEBHOOK_SECRET,
    LocalStripeError,
    WebhookReceiver,
    call,
    fail_invoice_payment,
    mark_overdue,
    pay_by_bank_transfer,
    register_webhook,
    resend_event,
    stripe_client,
    unregister_webhook,
    webhook_deliveries,
)

DAY = 86_400
INVOICE_EVENTS = [
    "invoice.created",
    "invoice.finalized",
    "invoice.sent",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.overdue",
]


@pytest.fixture
def client(localstripe_url: str) -> stripe.StripeClient:
    return stripe_client(localstripe_url)


@pytest.fixture
def receiver(localstripe_url: str) -> Iterator[WebhookReceiver]:
    """A webhook endpoint in the test, registered for invoice events, stopped afterwards."""
    with WebhookReceiver() as endpoint:
        webhook_id = register_webhook(localstripe_url, endpoint.url, events=INVOICE_EVENTS)
        try:
            yield endpoint
        finally:
            unregister_webhook(localstripe_url, webhook_id)


def make_school(client: stripe.StripeClient, **extra: Any) -> stripe.Customer:
    urn = str(100000 + uuid4().int % 899999)
    params = {
        "name": f"School {urn}",
        "email": f"finance-{urn}-{uuid4().hex[:6]}@school.example",
        "metadata": {"urn": urn},
        **extra,
    }
    return client.v1.customers.create(params)


def vat_rate(client: stripe.StripeClient) -> stripe.TaxRate:
    return client.v1.tax_rates.create(
        {"display_name": "VAT", "percentage": 20, "inclusive": False, "country": "GB"}
    )


def draft_invoice(
    client: stripe.StripeClient, customer: stripe.Customer | None = None, **extra: Any
) -> stripe.Invoice:
    params = {
        "customer": (customer or make_school(client)).id,
        "collection_method": "send_invoice",
        "days_until_due": 30,
        "custom_fields": [{"name": "PO number", "value": "PO-4411"}],
        "description": "Partnership membership 2025/26",
        **extra,
    }
    return client.v1.invoices.create(params)


def add_line(
    client: stripe.StripeClient, invoice: stripe.Invoice, unit: int, quantity: int = 1, **extra: Any
) -> stripe.InvoiceItem:
    return client.v1.invoice_items.create(
        {
            "customer": invoice.customer,
            "invoice": invoice.id,
            "currency": "gbp",
            "unit_amount_decimal": str(unit),
            "quantity": quantity,
            **extra,
        }
    )


def invoice_with_line(client: stripe.StripeClient, pence: int = 12_000) -> stripe.Invoice:
    invoice = draft_invoice(client)
    add_line(client, invoice, pence)
    return client.v1.invoices.retrieve(invoice.id)


def open_invoice(client: stripe.StripeClient, pence: int = 12_000) -> stripe.Invoice:
    return client.v1.invoices.finalize_invoice(invoice_with_line(client, pence).id)


def events_about(client: stripe.StripeClient, object_id: str) -> list[str]:
    """Types of the events about one object, oldest first."""
    events = client.v1.events.list({"limit": 100}).auto_paging_iter()
    return [e.type for e in events if e.data.object.id == object_id][::-1]


# ---- customers, tax rates and lists ---------------------------------------------------------


def test_server_listens_on_loopback_only(localstripe_url: str) -> None:
    assert urlparse(localstripe_url).hostname == "127.0.0.1"


def test_a_customer_is_found_by_email_with_its_metadata(client: stripe.StripeClient) -> None:
    customer = make_school(client, preferred_locales=["en-GB"])

    [found] = client.v1.customers.list({"email": customer.email}).data
    assert found.id == customer.id
    assert found.metadata.to_dict() == customer.metadata.to_dict()
    assert client.v1.customers.retrieve(customer.id).balance == 0
    assert re.fullmatch(r"[A-Z]{8}", customer.invoice_prefix)


def test_lists_are_newest_first_and_page_through_starting_after(
    client: stripe.StripeClient,
) -> None:
    customer = make_school(client)
    invoices = [draft_invoice(client, customer) for _ in range(5)]

    page = client.v1.invoices.list({"customer": customer.id, "limit": 2})
    everything = client.v1.invoices.list({"customer": customer.id, "limit": 2}).auto_paging_iter()

    assert len(page.data) == 2 and page.has_more
    assert [i.id for i in everything] == [i.id for i in reversed(invoices)]
    with pytest.raises(stripe.InvalidRequestError, match="No such object"):
        client.v1.invoices.list({"starting_after": "in_nope"})


def test_a_vat_rate_is_created_and_listed_and_only_exclusive_rates_are_taken(
    client: stripe.StripeClient,
) -> None:
    rate = vat_rate(client)

    assert (rate.percentage, rate.inclusive, rate.active) == (20.0, False, True)
    assert rate.id in [r.id for r in client.v1.tax_rates.list({"limit": 100}).auto_paging_iter()]
    with pytest.raises(stripe.InvalidRequestError, match="exclusive"):
        client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": True})


def test_an_unknown_url_or_object_is_a_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="Unrecognized request URL") as err:
        client.v1.prices.list()
    assert err.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError, match="No such customer: 'cus_nope'") as err:
        client.v1.invoices.create(
            {"customer": "cus_nope", "collection_method": "send_invoice", "days_until_due": 30}
        )
    assert err.value.http_status == 404


# ---- invoices: drafts, totals, finalizing ---------------------------------------------------


def test_a_draft_carries_the_po_number_its_lines_and_vat_rounded_half_up_per_line(
    client: stripe.StripeClient,
) -> None:
    vat = vat_rate(client)
    invoice = draft_invoice(client, footer="Pay by BACS", metadata={"pooled_invoice": "ns:9"})
    add_line(client, invoice, 8_333, 3, tax_rates=[vat.id], description="HR advice")
    add_line(client, invoice, 1_999, metadata={"pooled_line": "ns:1"})

    invoice = client.v1.invoices.retrieve(invoice.id)

    assert (invoice.status, invoice.number, invoice.collection_method) == (
        "draft",
        None,
        "send_invoice",
    )
    assert [(f.name, f.value) for f in invoice.custom_fields] == [("PO number", "PO-4411")]
    assert (invoice.description, invoice.footer) == (
        "Partnership membership 2025/26",
        "Pay by BACS",
    )
    assert invoice.metadata.to_dict() == {"pooled_invoice": "ns:9"}
    assert [line.amount for line in invoice.lines.data] == [24_999, 1_999]
    assert invoice.lines.data[0].taxes[0].amount == 5_000  # 4,999.8
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (26_998, 31_998, 31_998)
    assert [t.amount for t in invoice.total_taxes] == [5_000]
    items = client.v1.invoice_items.list({"invoice": invoice.id}).data
    assert {i.metadata.to_dict().get("pooled_line") for i in items} == {None, "ns:1"}


def test_a_drafts_line_can_be_changed(client: stripe.StripeClient) -> None:
    invoice = draft_invoice(client)
    item = add_line(client, invoice, 8_000, 10)

    changed = client.v1.invoice_items.update(
        item.id, {"quantity": 5, "unit_amount_decimal": "7000", "description": "Credited"}
    )

    assert (changed.amount, changed.quantity, changed.description) == (35_000, 5, "Credited")
    assert client.v1.invoices.retrieve(invoice.id).total == 35_000


def test_finalizing_numbers_the_invoice_and_makes_it_due_30_days_on(
    client: stripe.StripeClient,
) -> None:
    customer = make_school(client)
    first, second = (draft_invoice(client, customer) for _ in range(2))
    for invoice in (first, second):
        add_line(client, invoice, 10_000)
    time.sleep(1.1)  # so that "30 days from finalizing" differs from "30 days from creating"

    first = client.v1.invoices.finalize_invoice(first.id, {"auto_advance": False})
    second = client.v1.invoices.finalize_invoice(second.id)

    assert first.status == "open"
    finalized_at = first.status_transitions.finalized_at
    assert finalized_at > first.created and abs(finalized_at - time.time()) < 60
    assert first.due_date == finalized_at + 30 * DAY
    assert (first.number, second.number) == (
        f"{customer.invoice_prefix}-0001",
        f"{customer.invoice_prefix}-0002",
    )
    assert first.amount_remaining == 10_000
    with urllib.request.urlopen(first.hosted_invoice_url, timeout=5) as page:  # noqa: S310
        text = page.read().decode()
    assert "PO number" in text and "PO-4411" in text and first.number in text
    assert "£100.00" in text
    assert events_about(client, first.id) == ["invoice.created", "invoice.finalized"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"days_until_due": None}, "need days_until_due"),
        ({"collection_method": "charge_automatically"}, "send_invoice is supported"),
        ({"custom_fields": [{"name": f"f{i}", "value": "x"} for i in range(5)]}, "at most 4"),
        ({"custom_fields": [{"name": "P" * 41, "value": "x"}]}, "at most 40"),
        ({"purchase_order": "PO-1"}, "unknown parameter: purchase_order"),
        ({"currency": "pounds"}, "Invalid currency"),
    ],
)
def test_a_bad_invoice_is_refused_and_nothing_is_written(
    client: stripe.StripeClient, params: dict[str, Any], message: str
) -> None:
    customer = make_school(client)

    with pytest.raises(stripe.InvalidRequestError, match=re.escape(message)) as err:
        draft_invoice(client, customer, **params)
    assert err.value.http_status == 400
    assert client.v1.invoices.list({"customer": customer.id}).data == []


def test_a_line_over_stripes_limit_is_refused_and_nothing_is_written(
    client: stripe.StripeClient,
) -> None:
    invoice = draft_invoice(client)

    with pytest.raises(stripe.InvalidRequestError, match="no more than 99999999"):
        add_line(client, invoice, 100_000_000)
    assert client.v1.invoice_items.list({"invoice": invoice.id}).data == []


# ---- sending, paying and the school's helpers -----------------------------------------------


def test_sending_a_draft_finalizes_it_and_emits_invoice_sent(client: stripe.StripeClient) -> None:
    invoice = invoice_with_line(client)

    sent = client.v1.invoices.send_invoice(invoice.id)

    assert sent.status == "open" and sent.number
    assert events_about(client, invoice.id)[-2:] == ["invoice.finalized", "invoice.sent"]


def test_an_invoice_to_a_customer_without_email_cannot_be_sent(
    client: stripe.StripeClient,
) -> None:
    customer = client.v1.customers.create({"name": "No email school"})
    invoice = client.v1.invoices.finalize_invoice(draft_invoice(client, customer).id)

    with pytest.raises(stripe.InvalidRequestError, match="no email"):
        client.v1.invoices.send_invoice(invoice.id)


def test_paying_out_of_band_marks_it_paid_with_invoice_paid_only(
    client: stripe.StripeClient,
) -> None:
    invoice = open_invoice(client, 12_000)

    paid = client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})

    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 12_000, 0)
    assert paid.status_transitions.paid_at is not None
    assert events_about(client, invoice.id)[-1] == "invoice.paid"
    assert "invoice.payment_succeeded" not in events_about(client, invoice.id)


def test_a_bank_transfer_pays_the_invoice_through_stripe(
    client: stripe.StripeClient, localstripe_url: str
) -> None:
    invoice = open_invoice(client, 45_600)

    paid = pay_by_bank_transfer(localstripe_url, invoice.id)

    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 45_600, 0)
    assert events_about(client, invoice.id)[-2:] == ["invoice.paid", "invoice.payment_succeeded"]


def test_a_failed_payment_keeps_it_open_and_counts_the_attempt(
    client: stripe.StripeClient, localstripe_url: str
) -> None:
    invoice = open_invoice(client)

    failed = fail_invoice_payment(localstripe_url, invoice.id)

    assert (failed["status"], failed["attempt_count"], failed["attempted"]) == ("open", 1, True)
    assert events_about(client, invoice.id)[-1] == "invoice.payment_failed"
    mark_overdue(localstripe_url, invoice.id)
    assert events_about(client, invoice.id)[-1] == "invoice.overdue"


def test_the_helpers_refuse_an_invoice_that_is_not_open(
    client: stripe.StripeClient, localstripe_url: str
) -> None:
    draft = invoice_with_line(client)

    for helper in (pay_by_bank_transfer, fail_invoice_payment, mark_overdue):
        with pytest.raises(LocalStripeError) as err:
            helper(localstripe_url, draft.id)
        assert err.value.status == 400
    assert client.v1.invoices.retrieve(draft.id).status == "draft"


def in_status(client: stripe.StripeClient, status: str) -> stripe.Invoice:
    invoice = invoice_with_line(client)
    if status != "draft":
        client.v1.invoices.finalize_invoice(invoice.id)
    if status == "paid":
        client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    if status == "void":
        client.v1.invoices.void_invoice(invoice.id)
    return invoice


def first_item(client: stripe.StripeClient, invoice: stripe.Invoice) -> str:
    return client.v1.invoice_items.list({"invoice": invoice.id}).data[0].id


REFUSED: list[tuple[str, str, Callable[[stripe.StripeClient, stripe.Invoice], Any]]] = [
    ("void", "pay a void one", lambda c, i: c.v1.invoices.pay(i.id, {"paid_out_of_band": True})),
    ("paid", "pay again", lambda c, i: c.v1.invoices.pay(i.id, {"paid_out_of_band": True})),
    ("paid", "void a paid one", lambda c, i: c.v1.invoices.void_invoice(i.id)),
    ("void", "void again", lambda c, i: c.v1.invoices.void_invoice(i.id)),
    ("draft", "void a draft", lambda c, i: c.v1.invoices.void_invoice(i.id)),
    ("open", "finalize again", lambda c, i: c.v1.invoices.finalize_invoice(i.id)),
    ("void", "send a void one", lambda c, i: c.v1.invoices.send_invoice(i.id)),
    ("open", "add a line", lambda c, i: add_line(c, i, 100)),
    (
        "open",
        "change a line",
        lambda c, i: c.v1.invoice_items.update(first_item(c, i), {"quantity": 2}),
    ),
]


@pytest.mark.parametrize(("status", "action", "attempt"), REFUSED, ids=[r[1] for r in REFUSED])
def test_stripe_refuses_the_transition_and_nothing_changes(
    client: stripe.StripeClient,
    status: str,
    action: str,
    attempt: Callable[[stripe.StripeClient, stripe.Invoice], Any],
) -> None:
    invoice = in_status(client, status)
    before = client.v1.invoices.retrieve(invoice.id)
    events_before = events_about(client, invoice.id)

    with pytest.raises(stripe.InvalidRequestError) as err:
        attempt(client, invoice)

    assert err.value.http_status == 400
    assert client.v1.invoices.retrieve(invoice.id).to_dict() == before.to_dict()
    assert events_about(client, invoice.id) == events_before


# ---- idempotency -----------------------------------------------------------------------------


def test_an_idempotency_key_replays_the_first_answer_and_creates_nothing(
    client: stripe.StripeClient,
) -> None:
    email = f"bursar-{uuid4().hex[:8]}@school.example"
    key = f"school-{uuid4().hex}-customer"
    params = {"email": email, "metadata": {"urn": "100200"}}

    first = client.v1.customers.create(params, {"idempotency_key": key})
    again = client.v1.customers.create(params, {"idempotency_key": key})

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert [c.id for c in client.v1.customers.list({"email": email}).data] == [first.id]


def test_a_key_with_other_parameters_or_on_another_endpoint_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    key = f"order-{uuid4().hex}-invoice"
    customer = make_school(client)
    client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30},
        {"idempotency_key": key},
    )

    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        client.v1.invoices.create(
            {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14},
            {"idempotency_key": key},
        )
    with pytest.raises(stripe.IdempotencyError, match="same endpoint"):
        client.v1.customers.create({"email": "x@school.example"}, {"idempotency_key": key})
    assert len(client.v1.invoices.list({"customer": customer.id}).data) == 1


def test_a_retried_line_lands_once_and_a_refused_request_is_not_kept(
    client: stripe.StripeClient,
) -> None:
    invoice = draft_invoice(client)
    key = f"calloff-{uuid4().hex}-line"
    options = {"idempotency_key": key}

    params = {"customer": invoice.customer, "invoice": invoice.id, "currency": "gbp"}

    with pytest.raises(stripe.InvalidRequestError, match="unit_amount_decimal"):
        client.v1.invoice_items.create(params, options)  # no amount: refused, not kept
    params["unit_amount_decimal"] = "2500"
    items = [client.v1.invoice_items.create(params, options) for _ in range(3)]

    assert len({item.id for item in items}) == 1
    assert client.v1.invoices.retrieve(invoice.id).total == 2_500


# ---- events -----------------------------------------------------------------------------------


def test_events_are_listed_newest_first_by_created_and_type_and_paginated(
    client: stripe.StripeClient,
) -> None:
    since = int(time.time())
    invoice_ids = [invoice_with_line(client).id for _ in range(3)]
    query = {"created": {"gte": since}, "types": ["invoice.created"], "limit": 2}

    page = client.v1.events.list(query)
    everything = list(client.v1.events.list(query).auto_paging_iter())

    assert len(page.data) == 2 and page.has_more
    ours = [e.data.object.id for e in everything if e.data.object.id in invoice_ids]
    assert ours == invoice_ids[::-1]
    assert all(e.created >= since and e.type == "invoice.created" for e in everything)
    assert client.v1.events.list({"created": {"gte": since + 3600}}).data == []
    wildcard = client.v1.events.list({"type": "invoice.*", "limit": 100}).data
    assert {e.type for e in wildcard} <= set(INVOICE_EVENTS) and wildcard


def test_an_event_carries_the_sdks_api_version_and_the_object_as_it_was(
    client: stripe.StripeClient,
) -> None:
    invoice = open_invoice(client)
    client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})

    finalized = next(
        e
        for e in client.v1.events.list({"type": "invoice.finalized", "limit": 100}).data
        if e.data.object.id == invoice.id
    )
    assert finalized.api_version == stripe.api_version
    assert (finalized.data.object.status, finalized.data.object.number) == (
        "open",
        invoice.number,
    )


# ---- webhooks ---------------------------------------------------------------------------------


def test_a_webhook_verifies_with_construct_event_and_tampering_fails(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    invoice = open_invoice(client)

    webhook = receiver.wait_for_event("invoice.finalized", invoice.id)

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", webhook.signature or "")
    assert abs(int(webhook.signature.split(",")[0][2:]) - time.time()) < 60
    event = stripe.Webhook.construct_event(webhook.body, webhook.signature, TEST_WEBHOOK_SECRET)
    assert (event.type, event.data.object.id) == ("invoice.finalized", invoice.id)
    tampered = webhook.body.replace(b'"open"', b'"paid"', 1)
    assert tampered != webhook.body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, webhook.signature, TEST_WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(webhook.body, webhook.signature, "whsec_someone_else")


def test_every_invoice_state_change_reaches_the_webhook_in_order(
    client: stripe.StripeClient, receiver: WebhookReceiver, localstripe_url: str
) -> None:
    paid = invoice_with_line(client)
    client.v1.invoices.send_invoice(paid.id)
    fail_invoice_payment(localstripe_url, paid.id)
    mark_overdue(localstripe_url, paid.id)
    pay_by_bank_transfer(localstripe_url, paid.id)
    voided = open_invoice(client)
    client.v1.invoices.void_invoice(voided.id)

    receiver.wait_for_event("invoice.voided", voided.id)

    arrived = [
        stripe.Webhook.construct_event(w.body, w.signature, TEST_WEBHOOK_SECRET).type
        for w in receiver.received
        if w.event["data"]["object"]["id"] == paid.id
    ]
    assert arrived == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
        "invoice.payment_failed",
        "invoice.overdue",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


def test_a_webhook_gets_only_the_events_it_was_registered_for(
    client: stripe.StripeClient, localstripe_url: str
) -> None:
    with WebhookReceiver() as endpoint:
        webhook_id = register_webhook(localstripe_url, endpoint.url, events=["invoice.voided"])
        try:
            invoice = open_invoice(client)
            client.v1.invoices.void_invoice(invoice.id)
            endpoint.wait_for_event("invoice.voided", invoice.id)
        finally:
            unregister_webhook(localstripe_url, webhook_id)

    assert {w.event["type"] for w in endpoint.received} == {"invoice.voided"}


def test_resending_an_event_delivers_the_same_id_with_a_fresh_signature(
    client: stripe.StripeClient, receiver: WebhookReceiver, localstripe_url: str
) -> None:
    invoice = open_invoice(client)
    original = receiver.wait_for_event("invoice.finalized", invoice.id)
    event_id = original.event["id"]

    [attempt] = resend_event(localstripe_url, event_id)

    assert (attempt["ok"], attempt["status"], attempt["resend"]) == (True, 200, True)
    copies = [w for w in receiver.received if w.event["id"] == event_id]
    assert len(copies) == 2
    replayed = stripe.Webhook.construct_event(
        copies[1].body, copies[1].signature, TEST_WEBHOOK_SECRET
    )
    assert replayed.id == event_id
    deliveries = webhook_deliveries(localstripe_url, event_id=event_id)
    assert [(d["status"], d["resend"]) for d in deliveries] == [(200, False), (200, True)]


def test_a_failing_endpoint_is_recorded(client: stripe.StripeClient, localstripe_url: str) -> None:
    with WebhookReceiver(status=500) as broken:
        webhook_id = register_webhook(localstripe_url, broken.url, events=["invoice.voided"])
        try:
            invoice = open_invoice(client)
            client.v1.invoices.void_invoice(invoice.id)
            broken.wait_for_event("invoice.voided", invoice.id)
            deadline = time.monotonic() + 5
            while not (attempts := webhook_deliveries(localstripe_url, webhook_id=webhook_id)):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            unregister_webhook(localstripe_url, webhook_id)

    assert [(a["status"], a["ok"], a["type"]) for a in attempts] == [(500, False, "invoice.voided")]


def test_webhook_registration_needs_an_http_url(localstripe_url: str) -> None:
    with pytest.raises(LocalStripeError) as err:
        call(localstripe_url, "POST", "/_config/webhooks/bad", {"url": "ftp://x", "secret": "s"})
    assert err.value.status == 400


# ---- credit notes -----------------------------------------------------------------------------


def vat_invoice(client: stripe.StripeClient, net: int = 10_000) -> stripe.Invoice:
    """An open invoice of one line of ``net`` plus 20% VAT."""
    invoice = draft_invoice(client)
    add_line(client, invoice, net, tax_rates=[vat_rate(client).id])
    return client.v1.invoices.finalize_invoice(invoice.id)


def credit(
    client: stripe.StripeClient, invoice: stripe.Invoice, net: int, **extra: Any
) -> stripe.CreditNote:
    """A credit note as billing makes it: one custom line of ``net`` at the invoice's VAT."""
    line = {
        "type": "custom_line_item",
        "description": "Order cancelled",
        "quantity": 1,
        "unit_amount": net,
        "tax_rates": [invoice.lines.data[0].taxes[0].tax_rate_details.tax_rate],
    }
    params = {"invoice": invoice.id, "lines": [line], "reason": "order_change", **extra}
    return client.v1.credit_notes.create(params)


def test_a_credit_note_on_an_open_invoice_comes_off_what_is_due(
    client: stripe.StripeClient,
) -> None:
    invoice = vat_invoice(client)

    note = credit(client, invoice, 2_500, memo="One session cancelled", metadata={"n": "1"})

    assert (note.subtotal, note.total, note.type) == (2_500, 3_000, "pre_payment")
    assert (note.pre_payment_amount, note.post_payment_amount) == (3_000, 0)
    assert note.total_taxes[0].amount == 500
    assert note.number == f"{invoice.number}-CN-01"
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.total, after.amount_remaining) == ("open", 12_000, 9_000)
    assert events_about(client, note.id) == ["credit_note.created"]
    assert client.v1.credit_notes.retrieve(note.id).metadata.to_dict() == {"n": "1"}
    listed = client.v1.credit_notes.list({"invoice": invoice.id}).data
    assert [n.id for n in listed] == [note.id]


def test_crediting_all_that_is_left_marks_the_invoice_paid(client: stripe.StripeClient) -> None:
    invoice = vat_invoice(client)

    credit(client, invoice, 10_000)

    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.amount_remaining, after.amount_paid) == ("paid", 0, 0)
    assert events_about(client, invoice.id)[-1] == "invoice.paid"


def test_over_crediting_is_refused_and_nothing_is_written(client: stripe.StripeClient) -> None:
    invoice = vat_invoice(client)
    credit(client, invoice, 6_000)

    with pytest.raises(stripe.InvalidRequestError, match="left to credit"):
        credit(client, invoice, 4_001)
    with pytest.raises(stripe.InvalidRequestError, match="Invalid reason"):
        credit(client, invoice, 100, reason="changed_mind")
    assert len(client.v1.credit_notes.list({"invoice": invoice.id}).data) == 1
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 4_800


def test_a_credit_on_a_paid_invoice_goes_to_the_balance_and_the_next_invoice(
    client: stripe.StripeClient,
) -> None:
    invoice = vat_invoice(client)
    client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})

    with pytest.raises(stripe.InvalidRequestError, match="post-payment part"):
        credit(client, invoice, 1_000)
    note = credit(client, invoice, 1_000, credit_amount=1_200)

    assert (note.total, note.type, note.post_payment_amount) == (1_200, "post_payment", 1_200)
    customer = client.v1.customers.retrieve(invoice.customer)
    assert customer.balance == -1_200
    following = draft_invoice(client, customer)
    add_line(client, following, 5_000)
    following = client.v1.invoices.finalize_invoice(following.id)
    assert (following.total, following.amount_due, following.starting_balance) == (
        5_000,
        3_800,
        -1_200,
    )
    assert client.v1.customers.retrieve(invoice.customer).balance == 0


def test_a_credit_note_needs_an_open_or_paid_invoice(client: stripe.StripeClient) -> None:
    invoice = vat_invoice(client)
    client.v1.invoices.void_invoice(invoice.id)

    with pytest.raises(stripe.InvalidRequestError, match="open or paid"):
        credit(client, invoice, 1_000)


# ---- the command line -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("given", [False, True], ids=["free port", "given port"])
def test_the_command_line_serves_on_127_0_0_1_until_sigterm(given: bool) -> None:
    port = free_port() if given else 0
    process = subprocess.Popen(  # noqa: S603 (the module under test)
        [sys.executable, "-m", "tests.support.localstripe_server", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        url = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert url is not None, line
        assert port in (0, int(url.group(1)))
        assert make_school(stripe_client(url.group())).id.startswith("cus_")
        with pytest.raises(stripe.AuthenticationError):
            stripe_client(url.group(), api_key="pk_test_public").v1.customers.list()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        process.stdout.close()
    assert process.returncode == 0
