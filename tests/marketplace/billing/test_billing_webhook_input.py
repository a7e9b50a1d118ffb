"""Signed webhooks that billing cannot use: refused with 400, recorded as rejected, no change.

Signed with the test webhook secret as Stripe signs (HMAC-SHA256 of "<t>.<body>"): what is
tested is the app's reading of a genuine-looking delivery, not the signature check.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from marketplace.billing.models import Invoice, InvoiceStatus, StripeEvent
from marketplace.billing.stripe_objects import MalformedStripeObject, invoice_from_object
from tests.marketplace.billing.conftest import count
from tests.marketplace.billing.test_billing_events import (  # noqa: F401  (fixture)
    body_of,
    deliver,
    issued,
    paid_events,
    sign,
)

pytestmark = pytest.mark.usefixtures("stripe_config")


def paid_event(invoice: Invoice, event_id: str) -> dict[str, Any]:
    """A well-formed invoice.paid event about our invoice (what Stripe would send)."""
    return {
        "id": event_id,
        "object": "event",
        "type": "invoice.paid",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": invoice.stripe_invoice_id,
                "object": "invoice",
                "status": "paid",
                "total": invoice.total_pence,
                "amount_paid": invoice.total_pence,
                "amount_remaining": 0,
                "due_date": int(time.time()) + 30 * 86400,
                "metadata": {},
            }
        },
    }


def _data_a_string(e):
    e["data"] = "invoice.paid"


def _no_object_id(e):
    del e["data"]["object"]["id"]


def _created_not_a_number(e):
    e["created"] = "yesterday"


def _created_beyond_the_calendar(e):
    e["created"] = 10**20


def _total_not_a_number(e):
    e["data"]["object"]["total"] = "lots"


def _enormous_due_date(e):
    e["data"]["object"]["due_date"] = 10**20


def _amount_paid_beyond_64_bits(e):
    e["data"]["object"]["amount_paid"] = 2**63


def _object_a_list(e):
    e["data"]["object"] = [1, 2]


def _metadata_a_string(e):
    e["data"]["object"]["metadata"] = "pooled"


def _number_too_long(e):
    e["data"]["object"]["number"] = "N" * 100_000


def _type_not_text(e):
    e["type"] = {"invoice": "paid"}


def _nul_in_number(e):
    e["data"]["object"]["number"] = "INV\x00-1"  # PostgreSQL cannot store NUL in text


MALFORMED = [
    _data_a_string,
    _no_object_id,
    _created_not_a_number,
    _created_beyond_the_calendar,
    _total_not_a_number,
    _enormous_due_date,
    _amount_paid_beyond_64_bits,
    _object_a_list,
    _metadata_a_string,
    _number_too_long,
    _type_not_text,
    _nul_in_number,
]


def rejections(event_id: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == "stripe_event",
                AuditEvent.entity_id == event_id,
                AuditEvent.action == "rejected",
            )
        )
    )


def test_a_well_formed_event_of_the_same_shape_is_applied(client, issued) -> None:  # noqa: F811
    response = deliver(client, paid_event(issued, "evt_good_shape"))
    assert response.status_code == 200, response.json
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.PAID


@pytest.mark.parametrize("break_it", MALFORMED, ids=lambda f: f.__name__.strip("_"))
def test_a_malformed_signed_event_is_refused_recorded_and_changes_nothing(
    client,
    issued,  # noqa: F811
    break_it,
) -> None:
    event = paid_event(issued, f"evt_bad{break_it.__name__}")
    break_it(event)
    events_before = count(StripeEvent)

    response = deliver(client, event)

    assert response.status_code == 400
    assert "Rejected webhook" in response.json["error"]
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.OPEN and issued.amount_paid_pence == 0
    assert count(StripeEvent) == events_before
    [rejection] = rejections(event["id"])
    assert rejection.after["source"] == "webhook" and rejection.after["reason"]


def test_a_signed_body_that_is_not_json_is_refused_and_recorded(client, issued) -> None:  # noqa: F811
    body = b"{not json"
    response = client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": sign(body), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert rejections("unknown")[0].after["reason"] == "the body is not JSON"


@pytest.mark.parametrize(
    "offset", [86_400, 301, -301, -3600], ids=["a-day-ahead", "301s-ahead", "301s-old", "1h-old"]
)
def test_an_event_signed_outside_the_tolerance_either_way_is_refused_and_recorded(
    client,
    issued,  # noqa: F811
    client_stripe,
    offset: int,
) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]
    body = body_of(event)
    signature = sign(body, at=int(time.time()) + offset)

    response = client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert "allowed" in response.json["error"]
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.OPEN
    assert count(StripeEvent) == 0
    [rejection] = rejections(event["id"])
    assert ("in the future" in rejection.after["reason"]) is (offset > 0)


def test_an_event_signed_within_the_tolerance_either_way_is_accepted(
    client,
    issued,  # noqa: F811
    client_stripe,
) -> None:
    event = paid_events(client_stripe, issued)["invoice.paid"]
    body = body_of(event)
    for offset in (250, -250):
        response = client.post(
            "/stripe/webhook",
            data=body,
            headers={
                "Stripe-Signature": sign(body, at=int(time.time()) + offset),
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200
    db.session.refresh(issued)
    assert issued.status is InvoiceStatus.PAID


@pytest.mark.parametrize(
    "obj",
    [
        {"object": "invoice"},
        {"id": 7},
        {"id": "in_1", "total": 1.5},
        {"id": "in_1", "total": True},
        {"id": "in_1", "due_date": -5},
        {"id": "in_1", "status_transitions": "paid"},
        {"id": "in_1", "total_taxes": [{"amount": "x"}]},
    ],
)
def test_the_invoice_reader_names_what_is_wrong(obj) -> None:
    with pytest.raises(MalformedStripeObject):
        invoice_from_object(obj)
