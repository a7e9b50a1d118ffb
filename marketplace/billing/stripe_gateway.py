"""The billing adapter: the only module that imports `stripe`.

`StripeGateway` is handed a `stripe.StripeClient` (configured from STRIPE_API_KEY and, for a
local Stripe, STRIPE_API_BASE) and speaks in plain values: ids, pence and small dataclasses, so
nothing else in Pooled sees a Stripe object. Every call that creates something takes an
idempotency key derived from our own ids (see marketplace.billing_rules).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import stripe

from app.time import utcnow
from marketplace.billing.stripe_objects import (
    StripeCreditNote,
    StripeInvoice,
    credit_note_from_object,
    invoice_from_object,
)

CURRENCY = "gbp"
WEBHOOK_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """Stripe refused a request or could not be reached; `message` says why in plain words."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class WebhookRejected(Exception):
    """A webhook signed with our secret but refused (stale or future timestamp, not an event);
    recorded as rejected. `event_id` is the event's id when the body names one."""

    def __init__(self, reason: str, event_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


class IdempotencyConflict(GatewayError):
    """The same idempotency key was used before with other parameters."""


class WebhookSignatureInvalid(Exception):
    """A webhook whose Stripe-Signature does not match its raw body (or is missing)."""


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _metadata(obj: Any) -> dict[str, str]:
    """A Stripe object's metadata as a plain dict (StripeObjects are not mappings)."""
    value = getattr(obj, "metadata", None)
    if value is None:
        return {}
    return {str(k): str(v) for k, v in _plain(value).items()}


def verify_webhook(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event in a webhook, after checking its signature against the raw body.

    WebhookSignatureInvalid: not signed with our secret (nobody we know sent it).
    WebhookRejected: signed with our secret, but signed more than the tolerance before *or
    after* now (Stripe's SDK checks only the past), or its body is not a Stripe event.
    """
    if not secret:
        raise WebhookSignatureInvalid("STRIPE_WEBHOOK_SECRET is not set")
    if not signature:
        raise WebhookSignatureInvalid("no Stripe-Signature header")
    try:
        # The signature only: the SDK's tolerance would let a timestamp in the future through.
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret)
        signed_at = _signed_at(signature)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureInvalid(str(exc)) from None
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        raise WebhookRejected("the body is not JSON") from None
    event_id = event.get("id") if isinstance(event, dict) else None
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookRejected("the body is not a Stripe event (no event id)")
    if event.get("object") != "event":
        raise WebhookRejected("the body is not a Stripe event", event_id)
    skew = signed_at - utcnow().timestamp()
    if abs(skew) > WEBHOOK_TOLERANCE_SECONDS:
        when = "in the future" if skew > 0 else "ago"
        raise WebhookRejected(
            f"signed {abs(int(skew))} s {when}, outside the {WEBHOOK_TOLERANCE_SECONDS} s allowed",
            event_id,
        )
    return event


def _signed_at(signature: str) -> int:
    """The `t=` of a Stripe-Signature header (ValueError when there is none)."""
    for part in signature.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t":
            text = value.strip()
            if text.isascii() and text.isdigit() and len(text) <= 12:
                return int(text)
            break
    raise ValueError("the Stripe-Signature header has no timestamp")


class StripeGateway:
    """Stripe, behind the handful of operations billing needs."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    @classmethod
    def from_settings(
        cls, api_key: str, api_base: str = "", *, max_network_retries: int = 2
    ) -> StripeGateway:
        """A gateway for this API key; `api_base` points it at a local Stripe for testing."""
        options: dict[str, Any] = {"max_network_retries": max_network_retries}
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        return cls(stripe.StripeClient(api_key, **options))

    # -- calling Stripe ----------------------------------------------------------------

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except stripe.IdempotencyError as exc:
            raise IdempotencyConflict(f"{what}: {exc.user_message or exc}") from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayError(
                f"{what}: Stripe could not be reached ({exc})", retryable=True
            ) from None
        except stripe.APIError as exc:
            raise GatewayError(f"{what}: Stripe had a problem ({exc})", retryable=True) from None
        except stripe.StripeError as exc:
            raise GatewayError(f"{what}: {exc.user_message or exc}") from None

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"idempotency_key": key}

    # -- customers -----------------------------------------------------------------------

    def create_customer(
        self, *, name: str, email: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        """Create a customer; the same key returns the same customer."""
        params: dict[str, Any] = {
            "name": name,
            "metadata": metadata,
            "preferred_locales": ["en-GB"],
        }
        if email:
            params["email"] = email
        customer = self._call(
            "Creating the customer",
            self.client.v1.customers.create,
            params,
            self._key(idempotency_key),
        )
        return customer.id

    def find_customer(self, *, email: str, metadata: dict[str, str]) -> str | None:
        """A customer with this email whose metadata includes `metadata`, if there is one."""
        params: dict[str, Any] = {"limit": 100}
        if email:
            params["email"] = email
        page = self._call("Looking for the customer", self.client.v1.customers.list, params)
        for customer in page.auto_paging_iter():
            found = _metadata(customer)
            if all(found.get(k) == v for k, v in metadata.items()):
                return customer.id
        return None

    # -- tax rates -------------------------------------------------------------------------

    def find_or_create_vat_rate(self, rate_bp: int, *, idempotency_key: str) -> str:
        """An exclusive UK VAT tax rate of `rate_bp` basis points (found by its metadata)."""
        page = self._call("Listing tax rates", self.client.v1.tax_rates.list, {"limit": 100})
        for rate in page.auto_paging_iter():
            meta = _metadata(rate)
            if meta.get("pooled_vat_bp") == str(rate_bp) and rate.active and not rate.inclusive:
                return rate.id
        rate = self._call(
            "Creating the VAT rate",
            self.client.v1.tax_rates.create,
            {
                "display_name": "VAT",
                "percentage": rate_bp / 100,
                "inclusive": False,
                "country": "GB",
                "tax_type": "vat",
                "metadata": {"pooled_vat_bp": str(rate_bp)},
            },
            self._key(idempotency_key),
        )
        return rate.id

    # -- invoices --------------------------------------------------------------------------

    def create_invoice(
        self,
        *,
        customer_id: str,
        description: str,
        footer: str,
        po_number: str,
        days_until_due: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> StripeInvoice:
        """A draft `send_invoice` invoice with the PO number as a custom field."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "currency": CURRENCY,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": description,
            "metadata": metadata,
        }
        if footer:
            params["footer"] = footer
        if po_number:
            params["custom_fields"] = [{"name": "PO number", "value": po_number[:140]}]
        invoice = self._call(
            "Creating the invoice",
            self.client.v1.invoices.create,
            params,
            self._key(idempotency_key),
        )
        return invoice_from_object(_plain(invoice))

    def find_invoice(self, *, customer_id: str, metadata: dict[str, str]) -> StripeInvoice | None:
        """The customer's invoice whose metadata includes `metadata`, if there is one."""
        page = self._call(
            "Looking for the invoice",
            self.client.v1.invoices.list,
            {"customer": customer_id, "limit": 100},
        )
        for invoice in page.auto_paging_iter():
            found = _metadata(invoice)
            if all(found.get(k) == v for k, v in metadata.items()):
                return invoice_from_object(_plain(invoice))
        return None

    def retrieve_invoice(self, invoice_id: str) -> StripeInvoice:
        invoice = self._call("Reading the invoice", self.client.v1.invoices.retrieve, invoice_id)
        return invoice_from_object(_plain(invoice))

    def add_invoice_item(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        description: str,
        quantity: int,
        unit_pence: int,
        tax_rate_ids: list[str],
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        """Add a line of `quantity` × `unit_pence` (net) to a draft invoice."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "invoice": invoice_id,
            "currency": CURRENCY,
            "description": description[:500],
            "quantity": quantity,
            "unit_amount_decimal": str(unit_pence),
            "metadata": metadata,
        }
        if tax_rate_ids:
            params["tax_rates"] = tax_rate_ids
        item = self._call(
            "Adding a line to the invoice",
            self.client.v1.invoice_items.create,
            params,
            self._key(idempotency_key),
        )
        return item.id

    def invoice_item_ids(self, invoice_id: str, metadata_key: str) -> dict[str, str]:
        """The invoice's items by the value of one of their metadata keys (our line ids)."""
        page = self._call(
            "Reading the invoice's items",
            self.client.v1.invoice_items.list,
            {"invoice": invoice_id, "limit": 100},
        )
        found: dict[str, str] = {}
        for item in page.auto_paging_iter():
            value = _metadata(item).get(metadata_key)
            if value:
                found[value] = item.id
        return found

    def update_invoice_item(
        self, item_id: str, *, quantity: int, unit_pence: int, description: str
    ) -> None:
        """Change a draft invoice's line (used when a credit reduces a draft)."""
        self._call(
            "Changing a line of the draft invoice",
            self.client.v1.invoice_items.update,
            item_id,
            {
                "quantity": quantity,
                "unit_amount_decimal": str(unit_pence),
                "description": description[:500],
            },
        )

    def finalize_invoice(self, invoice_id: str, *, idempotency_key: str) -> StripeInvoice:
        """Draft → open: Stripe numbers it and sets the due date."""
        invoice = self._call(
            "Finalising the invoice",
            self.client.v1.invoices.finalize_invoice,
            invoice_id,
            {"auto_advance": False},
            self._key(idempotency_key),
        )
        return invoice_from_object(_plain(invoice))

    def send_invoice(self, invoice_id: str, *, idempotency_key: str) -> StripeInvoice:
        """Email the invoice to the customer's finance contact."""
        invoice = self._call(
            "Sending the invoice",
            self.client.v1.invoices.send_invoice,
            invoice_id,
            None,
            self._key(idempotency_key),
        )
        return invoice_from_object(_plain(invoice))

    def list_invoices(self, *, created_gte: int) -> Iterator[StripeInvoice]:
        """Invoices created at or after a Unix time, oldest first."""
        page = self._call(
            "Listing invoices",
            self.client.v1.invoices.list,
            {"created": {"gte": created_gte}, "limit": 100},
        )
        invoices = [invoice_from_object(_plain(i)) for i in page.auto_paging_iter()]
        return iter(sorted(invoices, key=lambda i: (i.created, i.id)))

    # -- credit notes ------------------------------------------------------------------------

    def create_credit_note(
        self,
        *,
        invoice_id: str,
        description: str,
        net_pence: int,
        tax_rate_ids: list[str],
        total_pence: int,
        memo: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> StripeCreditNote:
        """Credit `net_pence` (plus VAT) on an open or paid invoice.

        On an open invoice the credit comes off what is still due; any part beyond that (and
        all of it on a paid invoice) goes to the school's customer balance, to be used against
        its next invoice.
        """
        invoice = self.retrieve_invoice(invoice_id)
        before_payment = (
            min(total_pence, invoice.amount_remaining) if invoice.status == "open" else 0
        )
        line: dict[str, Any] = {
            "type": "custom_line_item",
            "description": description[:500],
            "quantity": 1,
            "unit_amount": net_pence,
        }
        if tax_rate_ids:
            line["tax_rates"] = tax_rate_ids
        params: dict[str, Any] = {
            "invoice": invoice_id,
            "lines": [line],
            "reason": "order_change",
            "memo": memo[:5000],
            "metadata": metadata,
        }
        if total_pence - before_payment:
            params["credit_amount"] = total_pence - before_payment
        note = self._call(
            "Issuing the credit note",
            self.client.v1.credit_notes.create,
            params,
            self._key(idempotency_key),
        )
        return credit_note_from_object(_plain(note))

    def find_credit_note(
        self, *, invoice_id: str, metadata: dict[str, str]
    ) -> StripeCreditNote | None:
        page = self._call(
            "Looking for the credit note",
            self.client.v1.credit_notes.list,
            {"invoice": invoice_id, "limit": 100},
        )
        for note in page.auto_paging_iter():
            found = _metadata(note)
            if all(found.get(k) == v for k, v in metadata.items()):
                return credit_note_from_object(_plain(note))
        return None

    # -- events ------------------------------------------------------------------------------

    def list_events(self, *, created_gte: int, types: list[str]) -> list[dict[str, Any]]:
        """Events of these types created at or after a Unix time, oldest first."""
        page = self._call(
            "Listing events",
            self.client.v1.events.list,
            {"created": {"gte": created_gte}, "types": types, "limit": 100},
        )
        events = [_plain(e) for e in page.auto_paging_iter()]
        return sorted(events, key=lambda e: (int(e.get("created") or 0), e["id"]))
