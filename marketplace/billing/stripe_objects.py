"""Stripe's invoices and credit notes as billing reads them, checked field by field.

Pure: standard library only. Whatever Stripe (or someone holding the webhook secret) sends,
a reader returns a small dataclass of plain values or raises MalformedStripeObject saying
which field is wrong, so nothing downstream meets a string where an object should be, an
amount that overflows a column, or a date beyond the calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True)
class StripeInvoice:
    """The parts of a Stripe invoice that billing reads."""

    id: str
    status: str
    customer: str
    number: str | None
    total: int
    tax: int
    amount_paid: int
    amount_remaining: int
    due_on: date | None
    hosted_invoice_url: str | None
    created: int
    paid_at: datetime | None
    voided_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StripeCreditNote:
    id: str
    number: str | None
    status: str
    total: int
    invoice: str
    metadata: dict[str, str] = field(default_factory=dict)


class MalformedStripeObject(ValueError):
    """Something Stripe sent that billing cannot read (a string for an object, no id, a total
    that is not a whole number, a date beyond the calendar); the message says what."""


# Unix time of 9999-12-31 23:59:59 UTC: the last instant a datetime holds.
LAST_TIMESTAMP = 253_402_300_799
# Amounts in pence go into 32-bit integer columns.
AMOUNT_MAX = 2_147_483_647


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedStripeObject(f"{what} is not an object")
    return value


def _text(obj: Mapping[str, Any], key: str, max_length: int, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise MalformedStripeObject(f"{key} is missing")
        return None
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise MalformedStripeObject(f"{key} is not text of up to {max_length} characters")
    return value


def _pence(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > AMOUNT_MAX:
        raise MalformedStripeObject(f"{key} is not a whole number of pence")
    return value


def timestamp(value: Any, what: str = "timestamp") -> int | None:
    """A Unix time Stripe sent (None when absent), or MalformedStripeObject."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= LAST_TIMESTAMP:
        raise MalformedStripeObject(f"{what} is not a Unix time")
    return value


def _instant(value: Any, what: str = "timestamp") -> datetime | None:
    seconds = timestamp(value, what)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _date(value: Any, what: str) -> date | None:
    instant = _instant(value, what)
    return instant.date() if instant is not None else None


def _metadata_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _mapping(obj.get("metadata"), "metadata").items()}


def invoice_from_object(obj: Mapping[str, Any]) -> StripeInvoice:
    """A StripeInvoice from an invoice as Stripe sends it (API response or event payload);
    MalformedStripeObject when a field is not what Stripe sends."""
    obj = _mapping(obj, "the invoice")
    transitions = _mapping(obj.get("status_transitions"), "status_transitions")
    taxes = obj.get("total_taxes") or []
    if not isinstance(taxes, list):
        raise MalformedStripeObject("total_taxes is not a list")
    return StripeInvoice(
        id=_text(obj, "id", 255, required=True),
        status=_text(obj, "status", 40) or "draft",
        customer=_text(obj, "customer", 255) or "",
        number=_text(obj, "number", 60),
        total=_pence(obj, "total"),
        tax=sum(_pence(_mapping(t, "a tax"), "amount") for t in taxes),
        amount_paid=_pence(obj, "amount_paid"),
        amount_remaining=_pence(obj, "amount_remaining"),
        due_on=_date(obj.get("due_date"), "due_date"),
        hosted_invoice_url=_text(obj, "hosted_invoice_url", 500),
        created=timestamp(obj.get("created"), "created") or 0,
        paid_at=_instant(transitions.get("paid_at"), "paid_at"),
        voided_at=_instant(transitions.get("voided_at"), "voided_at"),
        metadata=_metadata_of(obj),
    )


def credit_note_from_object(obj: Mapping[str, Any]) -> StripeCreditNote:
    """A StripeCreditNote as Stripe sends it; MalformedStripeObject when it is not one."""
    obj = _mapping(obj, "the credit note")
    return StripeCreditNote(
        id=_text(obj, "id", 255, required=True),
        number=_text(obj, "number", 60),
        status=_text(obj, "status", 40) or "issued",
        total=_pence(obj, "total"),
        invoice=_text(obj, "invoice", 255) or "",
        metadata=_metadata_of(obj),
    )
