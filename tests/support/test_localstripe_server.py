"""The local Stripe server, exercised with the real stripe SDK (16.1.0) over HTTP."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse
from uuid import uuid4

import pytest
import stripe

from tests.support.localstripe_server import SDK_API_VERSION, free_port, start
from tests.support.stripe_fixtures import (
    TEST_WEBHOOK_SECRET,
    LocalStripeError,
    WebhookReceiver,
    call,
    fail_invoice_payment,
    localstripe_url,  # noqa: F401 (the fixture, until conftest registers the plugin)
    mark_overdue,
    pay_by_bank_transfer,
    register_webhook,
    resend_event,
    reset_localstripe,
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
    "invoice.marked_uncollectible",
    "invoice.overdue",
]


@pytest.fixture
def client(localstripe_url: str) -> stripe.StripeClient:  # noqa: F811
    return stripe_client(localstripe_url)


@pytest.fixture
def receiver(localstripe_url: str) -> Any:  # noqa: F811
    """A webhook endpoint in the test, registered for invoice events, stopped afterwards."""
    with WebhookReceiver() as endpoint:
        webhook_id = register_webhook(localstripe_url, endpoint.url, events=INVOICE_EVENTS)
        try:
            yield endpoint
        finally:
            unregister_webhook(localstripe_url, webhook_id)


def make_school(client: stripe.StripeClient, **extra: Any) -> stripe.Customer:
    urn = extra.pop("urn", str(100000 + int(uuid4().int % 899999)))
    params = {
        "name": f"School {urn}",
        "email": f"finance-{urn}-{uuid4().hex[:6]}@school.example",
        "metadata": {"urn": urn},
        **extra,
    }
    return client.v1.customers.create(params)


def draft_invoice(
    client: stripe.StripeClient, customer: stripe.Customer, po: str = "PO-4411", **extra: Any
) -> stripe.Invoice:
    params = {
        "customer": customer.id,
        "collection_method": "send_invoice",
        "days_until_due": 30,
        "custom_fields": [{"name": "PO number", "value": po}],
        "description": "Partnership membership 2025/26",
        **extra,
    }
    return client.v1.invoices.create(params)


def invoice_with_line(
    client: stripe.StripeClient, amount: int = 12_000, **extra: Any
) -> stripe.Invoice:
    customer = make_school(client)
    invoice = draft_invoice(client, customer, **extra)
    client.v1.invoice_items.create(
        {
            "customer": customer.id,
            "invoice": invoice.id,
            "amount": amount,
            "currency": "gbp",
            "description": "Traded service",
        }
    )
    return client.v1.invoices.retrieve(invoice.id)


def events_about(client: stripe.StripeClient, object_id: str) -> list[str]:
    """Types of the events about one object, oldest first."""
    events = client.v1.events.list({"limit": 100}).auto_paging_iter()
    return [e.type for e in events if getattr(e.data.object, "id", None) == object_id][::-1]


# ---- customers and prices -----------------------------------------------------------


def test_server_listens_on_loopback_only(localstripe_url: str) -> None:  # noqa: F811
    assert urlparse(localstripe_url).hostname == "127.0.0.1"


def test_customer_is_created_with_finance_email_and_urn_in_metadata(
    client: stripe.StripeClient,
) -> None:
    customer = make_school(client, urn="137425")

    found = client.v1.customers.list({"email": customer.email}).data
    assert [c.id for c in found] == [customer.id]
    fetched = client.v1.customers.retrieve(customer.id)
    assert fetched.metadata.to_dict() == {"urn": "137425"}
    assert re.fullmatch(r"[A-Z0-9]{8}", fetched.invoice_prefix)
    assert fetched.currency is None


def test_price_is_created_for_a_product_and_found_by_product(
    client: stripe.StripeClient,
) -> None:
    product = client.v1.products.create({"name": "Energy audit (half day)"})
    price = client.v1.prices.create(
        {"product": product.id, "currency": "gbp", "unit_amount": 35_000, "nickname": "audit"}
    )

    assert (price.type, price.unit_amount, price.currency, price.active) == (
        "one_time",
        35_000,
        "gbp",
        True,
    )
    listed = client.v1.prices.list({"product": product.id}).data
    assert [p.id for p in listed] == [price.id]
    archived = client.v1.prices.update(price.id, {"active": False})
    assert archived.active is False


def test_product_default_price_data_creates_its_price(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        {"name": "Membership", "default_price_data": {"currency": "gbp", "unit_amount": 250}}
    )

    price = client.v1.prices.retrieve(product.default_price)
    assert (price.product, price.unit_amount) == (product.id, 250)


def test_recurring_price_is_refused_on_an_invoice_item(client: stripe.StripeClient) -> None:
    customer = make_school(client)
    product = client.v1.products.create({"name": "Subscription"})
    price = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "gbp",
            "unit_amount": 100,
            "recurring": {"interval": "year"},
        }
    )

    with pytest.raises(stripe.InvalidRequestError, match="type=recurring"):
        client.v1.invoice_items.create({"customer": customer.id, "pricing": {"price": price.id}})
    assert client.v1.invoice_items.list({"customer": customer.id}).data == []


# ---- invoices: drafts, totals, finalizing ---------------------------------------------


def test_send_invoice_draft_shows_po_number_lines_and_vat(client: stripe.StripeClient) -> None:
    customer = make_school(client)
    product = client.v1.products.create({"name": "Membership 2025/26"})
    per_pupil = client.v1.prices.create(
        {"product": product.id, "currency": "gbp", "unit_amount": 250}
    )
    vat = client.v1.tax_rates.create(
        {"display_name": "VAT", "percentage": 20, "inclusive": False, "country": "GB"}
    )
    invoice = draft_invoice(client, customer, footer="Pay by BACS", metadata={"pooled": "inv-9"})
    for params in (
        {"pricing": {"price": per_pupil.id}, "quantity": 312, "tax_rates": [vat.id]},
        {"price_data": {"currency": "gbp", "product": product.id, "unit_amount": 1_999}},
        {"amount": -5_000, "currency": "gbp", "description": "Council match"},
    ):
        client.v1.invoice_items.create({"customer": customer.id, "invoice": invoice.id, **params})

    invoice = client.v1.invoices.retrieve(invoice.id)
    assert invoice.status == "draft"
    assert invoice.number is None
    assert invoice.collection_method == "send_invoice"
    assert [f.to_dict() for f in invoice.custom_fields] == [
        {"name": "PO number", "value": "PO-4411"}
    ]
    assert (invoice.description, invoice.footer) == (
        "Partnership membership 2025/26",
        "Pay by BACS",
    )
    assert invoice.metadata.to_dict() == {"pooled": "inv-9"}
    assert invoice.due_date == invoice.created + 30 * DAY
    assert [line.amount for line in invoice.lines.data] == [78_000, 1_999, -5_000]
    assert invoice.lines.data[0].taxes[0].amount == 15_600
    assert invoice.subtotal == 74_999
    assert [t.amount for t in invoice.total_taxes] == [15_600]
    assert invoice.total == invoice.amount_due == 90_599
    assert invoice.currency == "gbp"


def test_inclusive_vat_is_inside_the_line_amount(client: stripe.StripeClient) -> None:
    customer = make_school(client)
    vat = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": True})
    invoice = draft_invoice(client, customer)
    client.v1.invoice_items.create(
        {
            "invoice": invoice.id,
            "amount": 12_345,
            "currency": "gbp",
            "tax_rates": [vat.id],
        }
    )

    invoice = client.v1.invoices.retrieve(invoice.id)
    # 12,345 / 1.2 = 10,287.5 → 10,288 net; VAT is the rest.
    assert invoice.total == 12_345
    assert invoice.total_excluding_tax == 10_288
    assert invoice.total_taxes[0].amount == 2_057


def test_finalizing_opens_the_invoice_with_a_number_and_a_due_date_30_days_on(
    client: stripe.StripeClient,
) -> None:
    customer = make_school(client)
    first, second = (draft_invoice(client, customer) for _ in range(2))
    for invoice in (first, second):
        client.v1.invoice_items.create({"invoice": invoice.id, "amount": 10_000, "currency": "gbp"})
    time.sleep(1.1)  # so that "30 days from finalizing" differs from "30 days from creating"

    first = client.v1.invoices.finalize_invoice(first.id)
    second = client.v1.invoices.finalize_invoice(second.id)

    assert first.status == "open"
    finalized_at = first.status_transitions.finalized_at
    assert abs(finalized_at - time.time()) < 60
    assert finalized_at > first.created
    assert first.due_date == finalized_at + 30 * DAY
    assert first.number == f"{customer.invoice_prefix}-0001"
    assert second.number == f"{customer.invoice_prefix}-0002"
    assert first.amount_remaining == 10_000
    assert first.hosted_invoice_url
    with urllib.request.urlopen(first.hosted_invoice_url, timeout=5) as page:  # noqa: S310
        text = page.read().decode()
    assert "PO number" in text and "PO-4411" in text and first.number in text
    assert "invoice.finalized" in events_about(client, first.id)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"days_until_due": None}, "days_until_due or due_date"),
        ({"collection_method": "charge_automatically"}, "collection_method=send_invoice"),
        ({"custom_fields": [{"name": f"f{i}", "value": "x"} for i in range(5)]}, "at most 4"),
        ({"custom_fields": [{"name": "P" * 41, "value": "x"}]}, "at most 40"),
        ({"purchase_order": "PO-1"}, "unknown parameter: purchase_order"),
        ({"currency": "pounds"}, "Invalid currency"),
    ],
)
def test_bad_invoice_is_refused_and_nothing_is_written(
    client: stripe.StripeClient, params: dict[str, Any], message: str
) -> None:
    customer = make_school(client)

    with pytest.raises(stripe.InvalidRequestError, match=re.escape(message)):
        draft_invoice(client, customer, **params)
    assert client.v1.invoices.list({"customer": customer.id}).data == []


def test_missing_customer_is_a_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="No such customer: 'cus_nope'") as err:
        client.v1.invoices.create({"customer": "cus_nope", "collection_method": "send_invoice"})
    assert err.value.http_status == 404


def test_an_invoice_carries_ten_lines_and_pages_the_rest(client: stripe.StripeClient) -> None:
    customer = make_school(client)
    invoice = draft_invoice(client, customer)
    for pence in range(1, 13):
        client.v1.invoice_items.create({"invoice": invoice.id, "amount": pence, "currency": "gbp"})

    invoice = client.v1.invoices.retrieve(invoice.id)
    assert len(invoice.lines.data) == 10 and invoice.lines.has_more
    lines = client.v1.invoices.line_items.list(invoice.id, {"limit": 5}).auto_paging_iter()
    assert [line.amount for line in lines] == list(range(1, 13))
    assert invoice.total == sum(range(1, 13))


# ---- sending and paying ----------------------------------------------------------------


def test_sending_a_draft_finalizes_it_and_emits_invoice_sent(client: stripe.StripeClient) -> None:
    invoice = invoice_with_line(client)

    sent = client.v1.invoices.send_invoice(invoice.id)

    assert sent.status == "open"
    assert events_about(client, invoice.id)[-2:] == ["invoice.finalized", "invoice.sent"]


def test_paying_out_of_band_marks_it_paid_with_invoice_paid_only(
    client: stripe.StripeClient,
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client, 12_000).id)

    paid = client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})

    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 12_000, 0)
    assert paid.status_transitions.paid_at is not None
    assert paid.amount_paid_off_stripe == 12_000
    types = events_about(client, invoice.id)
    assert types[-1] == "invoice.paid"
    assert "invoice.payment_succeeded" not in types


def test_bank_transfer_referencing_the_number_pays_that_invoice(
    client: stripe.StripeClient,
) -> None:
    customer = make_school(client)
    older, newer = (draft_invoice(client, customer) for _ in range(2))
    for invoice in (older, newer):
        client.v1.invoice_items.create({"invoice": invoice.id, "amount": 45_600, "currency": "gbp"})
        client.v1.invoices.finalize_invoice(invoice.id)
    newer = client.v1.invoices.retrieve(newer.id)

    client.v1.test_helpers.customers.fund_cash_balance(
        customer.id, {"amount": 45_600, "currency": "gbp", "reference": newer.number}
    )

    paid = client.v1.invoices.retrieve(newer.id)
    assert (paid.status, paid.amount_paid, paid.amount_paid_off_stripe) == ("paid", 45_600, 0)
    assert client.v1.invoices.retrieve(older.id).status == "open"
    assert events_about(client, newer.id)[-2:] == ["invoice.paid", "invoice.payment_succeeded"]


def test_a_short_bank_transfer_waits_in_the_cash_balance(
    client: stripe.StripeClient,
    localstripe_url: str,  # noqa: F811
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client, 45_600).id)

    pay_by_bank_transfer(localstripe_url, invoice.id, amount=40_000)

    assert client.v1.invoices.retrieve(invoice.id).status == "open"
    balance = client.v1.customers.cash_balance.retrieve(invoice.customer)
    assert balance.available.to_dict() == {"gbp": 40_000}
    pay_by_bank_transfer(localstripe_url, invoice.id, amount=5_600)
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"


def test_a_card_payment_that_is_declined_fails_and_a_good_card_pays(
    client: stripe.StripeClient,
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)

    with pytest.raises(stripe.CardError) as err:
        client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_chargeCustomerFail"})
    assert err.value.http_status == 402
    assert client.v1.invoices.retrieve(invoice.id).status == "open"
    assert events_about(client, invoice.id)[-1] == "invoice.payment_failed"

    paid = client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "paid"


def test_failed_payment_helper_keeps_it_open_and_counts_the_attempt(
    client: stripe.StripeClient,
    localstripe_url: str,  # noqa: F811
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)

    failed = fail_invoice_payment(localstripe_url, invoice.id)

    assert (failed["status"], failed["attempt_count"], failed["attempted"]) == ("open", 1, True)
    assert events_about(client, invoice.id)[-1] == "invoice.payment_failed"


# ---- void, uncollectible and refused transitions ----------------------------------------


def test_open_invoice_can_be_marked_uncollectible_then_voided(
    client: stripe.StripeClient,
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)

    bad_debt = client.v1.invoices.mark_uncollectible(invoice.id)
    assert bad_debt.status == "uncollectible"
    assert bad_debt.status_transitions.marked_uncollectible_at is not None
    voided = client.v1.invoices.void_invoice(invoice.id)
    assert voided.status == "void"
    assert voided.status_transitions.voided_at is not None
    assert events_about(client, invoice.id)[-2:] == [
        "invoice.marked_uncollectible",
        "invoice.voided",
    ]


def test_an_uncollectible_invoice_can_still_be_paid(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)
    client.v1.invoices.mark_uncollectible(invoice.id)

    assert client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True}).status == "paid"


def _in_status(client: stripe.StripeClient, status: str) -> stripe.Invoice:
    invoice = invoice_with_line(client)
    if status != "draft":
        client.v1.invoices.finalize_invoice(invoice.id)
    if status == "paid":
        client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    if status == "void":
        client.v1.invoices.void_invoice(invoice.id)
    if status == "uncollectible":
        client.v1.invoices.mark_uncollectible(invoice.id)
    return invoice


REFUSED: list[tuple[str, str, Callable[[stripe.StripeClient, stripe.Invoice], Any]]] = [
    ("void", "pay", lambda c, i: c.v1.invoices.pay(i.id, {"paid_out_of_band": True})),
    ("paid", "pay again", lambda c, i: c.v1.invoices.pay(i.id, {"paid_out_of_band": True})),
    ("paid", "void", lambda c, i: c.v1.invoices.void_invoice(i.id)),
    ("void", "void again", lambda c, i: c.v1.invoices.void_invoice(i.id)),
    ("draft", "void", lambda c, i: c.v1.invoices.void_invoice(i.id)),
    ("draft", "mark uncollectible", lambda c, i: c.v1.invoices.mark_uncollectible(i.id)),
    ("paid", "mark uncollectible", lambda c, i: c.v1.invoices.mark_uncollectible(i.id)),
    ("open", "finalize again", lambda c, i: c.v1.invoices.finalize_invoice(i.id)),
    ("open", "delete", lambda c, i: c.v1.invoices.delete(i.id)),
    ("void", "send", lambda c, i: c.v1.invoices.send_invoice(i.id)),
    (
        "open",
        "add a line",
        lambda c, i: c.v1.invoice_items.create({"invoice": i.id, "amount": 1, "currency": "gbp"}),
    ),
    ("open", "change the due date", lambda c, i: c.v1.invoices.update(i.id, {"days_until_due": 7})),
    (
        "paid",
        "change the PO number",
        lambda c, i: c.v1.invoices.update(
            i.id, {"custom_fields": [{"name": "PO number", "value": "PO-2"}]}
        ),
    ),
]


@pytest.mark.parametrize(("status", "action", "attempt"), REFUSED, ids=[r[1] for r in REFUSED])
def test_stripe_refuses_the_transition_and_nothing_changes(
    client: stripe.StripeClient,
    status: str,
    action: str,
    attempt: Callable[[stripe.StripeClient, stripe.Invoice], Any],
) -> None:
    invoice = _in_status(client, status)
    before = client.v1.invoices.retrieve(invoice.id)
    events_before = events_about(client, invoice.id)

    with pytest.raises(stripe.InvalidRequestError) as err:
        attempt(client, invoice)

    assert err.value.http_status == 400
    after = client.v1.invoices.retrieve(invoice.id)
    assert after.to_dict() == before.to_dict()
    assert events_about(client, invoice.id) == events_before


def test_a_draft_can_be_deleted_and_an_open_one_reworded(client: stripe.StripeClient) -> None:
    draft = invoice_with_line(client)
    assert client.v1.invoices.delete(draft.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError, match="No such invoice"):
        client.v1.invoices.retrieve(draft.id)

    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)
    fixed = client.v1.invoices.update(
        invoice.id,
        {"custom_fields": [{"name": "PO number", "value": "PO-CORRECTED"}], "metadata": {"a": "b"}},
    )
    assert fixed.custom_fields[0].value == "PO-CORRECTED"
    assert events_about(client, invoice.id)[-1] == "invoice.updated"


# ---- idempotency --------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response_and_creates_nothing(
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
    created = [
        e
        for e in client.v1.events.list({"type": "customer.created", "limit": 100}).data
        if e.data.object.id == first.id
    ]
    assert len(created) == 1
    assert created[0].request.idempotency_key == key


def test_reusing_a_key_with_other_parameters_or_endpoint_is_an_idempotency_error(
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


def test_a_retried_invoice_item_lands_on_the_invoice_once(client: stripe.StripeClient) -> None:
    customer = make_school(client)
    invoice = draft_invoice(client, customer)
    params = {"invoice": invoice.id, "amount": 2_500, "currency": "gbp"}
    key = f"calloff-{uuid4().hex}-line"

    items = [client.v1.invoice_items.create(params, {"idempotency_key": key}) for _ in range(3)]

    assert len({item.id for item in items}) == 1
    assert client.v1.invoices.retrieve(invoice.id).total == 2_500


# ---- events -------------------------------------------------------------------------------


def test_events_list_newest_first_filtered_by_created_and_type_and_paginated(
    client: stripe.StripeClient,
) -> None:
    since = int(time.time())
    invoice_ids = [invoice_with_line(client).id for _ in range(5)]
    query = {"created": {"gte": since}, "types": ["invoice.created"], "limit": 2}

    page = client.v1.events.list(query)
    assert len(page.data) == 2 and page.has_more
    everything = list(client.v1.events.list(query).auto_paging_iter())
    ours = [e.data.object.id for e in everything if e.data.object.id in invoice_ids]
    assert ours == invoice_ids[::-1]
    assert all(e.created >= since and e.type == "invoice.created" for e in everything)
    assert [e.created for e in everything] == sorted((e.created for e in everything), reverse=True)
    second = client.v1.events.list({**query, "starting_after": page.data[-1].id})
    back = client.v1.events.list({**query, "ending_before": second.data[0].id})
    assert [e.id for e in back.data] == [e.id for e in page.data]
    assert client.v1.events.list({"created": {"gte": since + 3600}}).data == []


def test_events_carry_the_sdk_api_version_and_the_object_snapshot(
    client: stripe.StripeClient,
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)

    finalized = next(
        e
        for e in client.v1.events.list({"type": "invoice.finalized", "limit": 100}).data
        if e.data.object.id == invoice.id
    )
    assert finalized.api_version == SDK_API_VERSION
    assert finalized.data.object.status == "open"
    assert finalized.data.object.number == invoice.number
    assert client.v1.events.retrieve(finalized.id).id == finalized.id


# ---- webhooks -----------------------------------------------------------------------------


def test_webhook_verifies_with_construct_event_and_tampering_fails(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)

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


def test_every_invoice_state_change_reaches_the_webhook(
    client: stripe.StripeClient,
    receiver: WebhookReceiver,
    localstripe_url: str,  # noqa: F811
) -> None:
    paid = invoice_with_line(client)
    client.v1.invoices.send_invoice(paid.id)
    fail_invoice_payment(localstripe_url, paid.id)
    mark_overdue(localstripe_url, paid.id)
    pay_by_bank_transfer(localstripe_url, paid.id)
    voided = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)
    client.v1.invoices.void_invoice(voided.id)
    written_off = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)
    client.v1.invoices.mark_uncollectible(written_off.id)

    expected = [
        (paid.id, "invoice.created"),
        (paid.id, "invoice.finalized"),
        (paid.id, "invoice.sent"),
        (paid.id, "invoice.payment_failed"),
        (paid.id, "invoice.overdue"),
        (paid.id, "invoice.paid"),
        (paid.id, "invoice.payment_succeeded"),
        (voided.id, "invoice.voided"),
        (written_off.id, "invoice.marked_uncollectible"),
    ]
    for invoice_id, event_type in expected:
        webhook = receiver.wait_for_event(event_type, invoice_id)
        event = stripe.Webhook.construct_event(webhook.body, webhook.signature, TEST_WEBHOOK_SECRET)
        assert client.v1.events.retrieve(event.id).type == event_type
    arrived = [
        w.event["type"] for w in receiver.received if w.event["data"]["object"]["id"] == paid.id
    ]
    assert arrived == [t for i, t in expected if i == paid.id]


def test_resending_an_event_delivers_the_same_id_with_a_fresh_signature(
    client: stripe.StripeClient,
    receiver: WebhookReceiver,
    localstripe_url: str,  # noqa: F811
) -> None:
    invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)
    original = receiver.wait_for_event("invoice.finalized", invoice.id)
    event_id = original.event["id"]

    attempts = resend_event(localstripe_url, event_id)

    assert [a["ok"] for a in attempts] == [True]
    copies = [w for w in receiver.received if w.event["id"] == event_id]
    assert len(copies) == 2
    replayed = stripe.Webhook.construct_event(
        copies[1].body, copies[1].signature, TEST_WEBHOOK_SECRET
    )
    assert replayed.id == event_id


def test_a_failing_endpoint_is_recorded_and_the_event_stays_pending(
    client: stripe.StripeClient,
    localstripe_url: str,  # noqa: F811
) -> None:
    with WebhookReceiver(status=500) as broken:
        webhook_id = register_webhook(localstripe_url, broken.url, events=["invoice.voided"])
        try:
            invoice = client.v1.invoices.finalize_invoice(invoice_with_line(client).id)
            client.v1.invoices.void_invoice(invoice.id)
            broken.wait_for_event("invoice.voided", invoice.id)
            deadline = time.monotonic() + 5
            while not (attempts := webhook_deliveries(localstripe_url, webhook_id=webhook_id)):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            unregister_webhook(localstripe_url, webhook_id)

    assert [(a["status"], a["ok"]) for a in attempts] == [(500, False)]
    event = client.v1.events.retrieve(attempts[0]["event"])
    assert event.pending_webhooks == 1
    undelivered = client.v1.events.list({"delivery_success": False, "limit": 100}).data
    assert event.id in [e.id for e in undelivered]


def test_webhook_registration_needs_an_http_url(localstripe_url: str) -> None:  # noqa: F811
    with pytest.raises(LocalStripeError) as err:
        call(localstripe_url, "POST", "/_config/webhooks/bad", {"url": "ftp://x", "secret": "s"})
    assert err.value.status == 400


# ---- the command line ---------------------------------------------------------------------


def test_command_line_server_starts_forgets_on_reset_and_stops(tmp_path: Any) -> None:
    port = free_port()
    server = start(port, log_path=tmp_path / "server.log")
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        own = stripe_client(server.url)
        customer = own.v1.customers.create({"email": "a@school.example"})
        reset_localstripe(server.url)
        with pytest.raises(stripe.InvalidRequestError):
            own.v1.customers.retrieve(customer.id)
        with pytest.raises(stripe.AuthenticationError):
            stripe.StripeClient(
                "pk_test_public", base_addresses={"api": server.url}, max_network_retries=0
            ).v1.customers.list()
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert "listening on" in (tmp_path / "server.log").read_text()


# ---- credit notes -------------------------------------------------------------------------


def _vat_invoice(client: stripe.StripeClient, net: int = 10_000) -> stripe.Invoice:
    customer = make_school(client)
    vat = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": False})
    invoice = draft_invoice(client, customer)
    client.v1.invoice_items.create(
        {"invoice": invoice.id, "amount": net, "currency": "gbp", "tax_rates": [vat.id]}
    )
    return client.v1.invoices.finalize_invoice(invoice.id)


def test_a_credit_note_on_an_open_invoice_reduces_what_is_due(
    client: stripe.StripeClient,
) -> None:
    invoice = _vat_invoice(client)
    line = invoice.lines.data[0]

    note = client.v1.credit_notes.create(
        {
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 2_500}],
            "reason": "order_change",
            "memo": "One session cancelled",
        }
    )

    assert (note.total, note.pre_payment_amount, note.post_payment_amount) == (3_000, 3_000, 0)
    assert note.total_taxes[0].amount == 500
    assert note.number == f"{invoice.number}-CN-01"
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.amount_due, after.amount_remaining) == ("open", 9_000, 9_000)
    assert after.pre_payment_credit_notes_amount == 3_000
    assert events_about(client, note.id) == ["credit_note.created"]


def test_crediting_all_that_is_left_marks_the_invoice_paid(client: stripe.StripeClient) -> None:
    invoice = _vat_invoice(client)
    line = invoice.lines.data[0]

    client.v1.credit_notes.create(
        {
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "quantity": 1}],
        }
    )

    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.amount_remaining, after.amount_paid) == ("paid", 0, 0)
    assert events_about(client, invoice.id)[-1] == "invoice.paid"


def test_over_crediting_is_refused_and_nothing_is_written(client: stripe.StripeClient) -> None:
    invoice = _vat_invoice(client)
    line = invoice.lines.data[0]

    with pytest.raises(stripe.InvalidRequestError, match="left to credit"):
        client.v1.credit_notes.create(
            {
                "invoice": invoice.id,
                "lines": [
                    {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 10_001}
                ],
            }
        )
    assert client.v1.credit_notes.list({"invoice": invoice.id}).data == []
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 12_000


def test_a_credit_on_a_paid_invoice_goes_to_the_balance_and_the_next_invoice(
    client: stripe.StripeClient,
) -> None:
    invoice = _vat_invoice(client)
    client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    credit = {"invoice": invoice.id, "amount": 1_200}

    with pytest.raises(stripe.InvalidRequestError, match="post-payment part"):
        client.v1.credit_notes.create(credit)
    preview = client.v1.credit_notes.preview(credit | {"credit_amount": 1_200})
    note = client.v1.credit_notes.create(credit | {"credit_amount": 1_200})

    assert preview.total == note.total == note.post_payment_amount == 1_200
    assert client.v1.customers.retrieve(invoice.customer).balance == -1_200
    customer = client.v1.customers.retrieve(invoice.customer)
    nxt = draft_invoice(client, customer)
    client.v1.invoice_items.create({"invoice": nxt.id, "amount": 5_000, "currency": "gbp"})
    nxt = client.v1.invoices.finalize_invoice(nxt.id)
    assert (nxt.total, nxt.amount_due, nxt.starting_balance, nxt.ending_balance) == (
        5_000,
        3_800,
        -1_200,
        0,
    )
    assert client.v1.customers.retrieve(invoice.customer).balance == 0


def test_voiding_a_credit_note_restores_what_is_due(client: stripe.StripeClient) -> None:
    invoice = _vat_invoice(client)
    note = client.v1.credit_notes.create({"invoice": invoice.id, "amount": 6_000})

    voided = client.v1.credit_notes.void_credit_note(note.id)

    assert voided.status == "void"
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 12_000


def test_an_invoice_takes_the_schools_standing_po_and_footer_unless_given(
    client: stripe.StripeClient,
) -> None:
    customer = make_school(
        client,
        invoice_settings={
            "custom_fields": [{"name": "PO number", "value": "PO-ANNUAL-26"}],
            "footer": "Remit to Lloyds 30-00-00 12345678",
        },
    )

    inherited = client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30}
    )
    own = draft_invoice(client, customer, po="PO-777")

    assert inherited.custom_fields[0].value == "PO-ANNUAL-26"
    assert inherited.footer == "Remit to Lloyds 30-00-00 12345678"
    assert [f.value for f in own.custom_fields] == ["PO-777"]
    with pytest.raises(stripe.InvalidRequestError, match="at most 40"):
        make_school(client, invoice_settings={"custom_fields": [{"name": "P" * 41, "value": "x"}]})
