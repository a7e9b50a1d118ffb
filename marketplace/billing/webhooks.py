"""Stripe events, from webhooks or reconciliation: each processed once, status only forward.

An event is recorded in `stripe_events` (unique event id) in the same transaction as its
effects, so a replayed event, or the same event from a webhook and from reconciliation at
once, changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.time import utcnow
from marketplace.billing.models import CreditNote, CreditNoteStatus, Invoice, StripeEvent
from marketplace.billing.state import get_state, set_state, sqlite_writer
from marketplace.billing.stripe_gateway import GatewayError, StripeGateway
from marketplace.billing.stripe_objects import (
    MalformedStripeObject,
    StripeCreditNote,
    StripeInvoice,
    credit_note_from_object,
    invoice_from_object,
    timestamp,
)
from marketplace.billing.stripe_sync import apply_remote

# The events reconciliation asks Stripe for (webhooks should be registered for the same).
EVENT_TYPES = [
    "invoice.created",
    "invoice.finalized",
    "invoice.sent",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.updated",
    "invoice.overdue",
    "credit_note.created",
    "credit_note.voided",
]
EVENTS_CURSOR = "reconcile:events_since"
INVOICES_CURSOR = "reconcile:invoices_since"


@dataclass(frozen=True)
class EventResult:
    event_id: str
    duplicate: bool
    outcome: str
    rejected: bool = False


@dataclass(frozen=True)
class ReadEvent:
    """What billing reads of a Stripe event, checked: nothing later parses the raw dict."""

    id: str
    type: str
    object_id: str
    created_at: datetime | None
    invoice: StripeInvoice | None = None
    credit_note: StripeCreditNote | None = None


def read_event(event: Any) -> ReadEvent:
    """The event's parts billing uses; MalformedStripeObject when it is not a Stripe event
    (`data` not an object, no object id, a `created` or an amount that is not a number, a date
    beyond the calendar, …)."""
    if not isinstance(event, Mapping):
        raise MalformedStripeObject("the event is not an object")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or "\x00" in event_id or len(event_id) > 255:
        raise MalformedStripeObject("the event has no id")
    kind = event.get("type")
    if not isinstance(kind, str) or not kind or "\x00" in kind or len(kind) > 100:
        raise MalformedStripeObject("the event has no type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise MalformedStripeObject("data.object is not an object")
    object_id = obj.get("id")
    if (
        not isinstance(object_id, str)
        or not object_id
        or "\x00" in object_id
        or len(object_id) > 255
    ):
        raise MalformedStripeObject("data.object has no id")
    seconds = timestamp(event.get("created"), "created")
    read = ReadEvent(
        id=event_id,
        type=kind,
        object_id=object_id,
        created_at=datetime.fromtimestamp(seconds, UTC) if seconds is not None else None,
    )
    if kind.startswith("invoice.") and obj.get("object") == "invoice":
        return replace(read, invoice=invoice_from_object(obj))
    if kind.startswith("credit_note.") and obj.get("object") == "credit_note":
        return replace(read, credit_note=credit_note_from_object(obj))
    return read


def _own_id(metadata: dict[str, str], key: str) -> int | None:
    """Our row id from Stripe metadata like {"pooled_invoice": "<namespace>:<id>"}."""
    value = metadata.get(key, "")
    prefix, _, row_id = value.rpartition(":")
    ours = get_state("namespace")
    if not ours or prefix != ours or not row_id.isdigit():
        return None
    return int(row_id)


def _find_invoice(stripe_id: str, metadata: dict[str, str]) -> Invoice | None:
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.stripe_invoice_id == stripe_id))
    if invoice is not None:
        return invoice
    own = _own_id(metadata, "pooled_invoice")
    if own is None:
        return None
    invoice = db.session.get(Invoice, own)
    if invoice is not None and invoice.stripe_invoice_id not in (None, stripe_id):
        return None  # metadata copied onto some other invoice: not ours to change
    return invoice


def _apply(event: ReadEvent) -> str:
    """The event's effects on our rows (the caller records the event and commits)."""
    if event.invoice is not None:
        remote = event.invoice
        invoice = _find_invoice(remote.id, remote.metadata)
        if invoice is None:
            return "ignored: not a Pooled invoice"
        outcome = apply_remote(invoice.id, remote, source=f"stripe event {event.id}")
        if event.type == "invoice.payment_failed":
            invoice = db.session.get(Invoice, invoice.id)
            assert invoice is not None
            invoice.payment_failed_at = event.created_at or utcnow()
            audit.record(
                None,
                "invoice",
                invoice.id,
                "payment-failed",
                after={"stripe_event": event.id},
                scope=invoice.scope,
            )
            outcome = "payment failed recorded" + ("" if outcome == "no change" else f"; {outcome}")
        return f"invoice {invoice.id}: {outcome}"
    if event.credit_note is not None:
        remote_note = event.credit_note
        note = db.session.scalar(
            sa.select(CreditNote).where(CreditNote.stripe_credit_note_id == remote_note.id)
        )
        if note is None:
            own = _own_id(remote_note.metadata, "pooled_credit_note")
            note = db.session.get(CreditNote, own) if own is not None else None
        if note is None:
            return "ignored: not a Pooled credit note"
        if note.stripe_credit_note_id is None:
            note.stripe_credit_note_id = remote_note.id
        note.number = note.number or remote_note.number
        if remote_note.status == "void" and note.status is not CreditNoteStatus.VOID:
            note.status = CreditNoteStatus.VOID
            invoice = note.invoice
            invoice.credited_pence = max(0, invoice.credited_pence - note.total_pence)
            return f"credit note {note.id}: void"
        if note.status is CreditNoteStatus.PENDING:
            note.status = CreditNoteStatus.ISSUED
            note.issued_at = note.issued_at or utcnow()
            return f"credit note {note.id}: issued"
        return f"credit note {note.id}: no change"
    return "ignored: not an event billing uses"


def handle_event(event: dict[str, Any], *, source: str = "webhook") -> EventResult:
    """Process one verified Stripe event once; a second delivery changes nothing.

    An event billing cannot read is recorded as rejected (in the audit trail) and changes
    nothing else; the result says `rejected` (the webhook answers 400).
    """
    with sqlite_writer():
        try:
            read = read_event(event)
        except MalformedStripeObject as exc:
            event_id = event.get("id") if isinstance(event, Mapping) else None
            return _reject(event_id if isinstance(event_id, str) else "", str(exc), source)
        return _handle_event(read, source)


def record_rejection(event_id: str, reason: str, *, source: str = "webhook") -> EventResult:
    """Record a webhook signed with our secret but refused (see verify_webhook)."""
    with sqlite_writer():
        return _reject(event_id, reason, source)


def _reject(event_id: str, reason: str, source: str) -> EventResult:
    shown_id = event_id.replace("\x00", "")[:255] or "unknown"
    audit.record(
        None,
        "stripe_event",
        shown_id,
        "rejected",
        after={"reason": reason[:300], "source": source},
        scope="billing",
    )
    db.session.commit()
    return EventResult(shown_id, False, f"rejected: {reason}", rejected=True)


def _handle_event(event: ReadEvent, source: str) -> EventResult:
    event_id = event.id
    if db.session.scalar(sa.select(StripeEvent.id).where(StripeEvent.event_id == event_id)):
        return EventResult(event_id, True, "already processed")
    try:
        outcome = _apply(event)
        db.session.add(
            StripeEvent(
                event_id=event_id,
                type=event.type,
                object_id=event.object_id,
                stripe_created_at=event.created_at,
                source=source,
                outcome=outcome[:300],
            )
        )
        db.session.commit()
    except IntegrityError:
        # The same event is being processed elsewhere right now and got there first.
        db.session.rollback()
        return EventResult(event_id, True, "already processed")
    except Exception:
        db.session.rollback()
        raise
    return EventResult(event_id, False, outcome)


@dataclass
class ReconcileReport:
    events_seen: int = 0
    events_applied: int = 0
    invoices_seen: int = 0
    invoices_changed: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.events_seen} events listed, {self.events_applied} applied that webhooks had "
            f"missed; {self.invoices_seen} invoices listed, {self.invoices_changed} brought up "
            "to date."
        )


def reconcile(gateway: StripeGateway) -> ReconcileReport:
    """Apply what webhooks missed: Stripe's events and invoices since the stored cursors."""
    report = ReconcileReport()
    since = int(get_state(EVENTS_CURSOR, "0") or 0)
    newest = since
    for event in gateway.list_events(created_gte=since, types=EVENT_TYPES):
        report.events_seen += 1
        result = handle_event(event, source="reconcile")
        if not result.duplicate:
            report.events_applied += 1
            report.lines.append(f"{event.get('type')} {result.event_id}: {result.outcome}")
        created = event.get("created")
        if isinstance(created, int) and not result.rejected:
            newest = max(newest, created)
    invoices_since = int(get_state(INVOICES_CURSOR, "0") or 0)
    newest_invoice = invoices_since
    for remote in gateway.list_invoices(created_gte=invoices_since):
        report.invoices_seen += 1
        newest_invoice = max(newest_invoice, remote.created)
        invoice = _find_invoice(remote.id, remote.metadata)
        if invoice is None:
            continue
        outcome = apply_remote(invoice.id, remote, source="reconciliation")
        db.session.commit()
        if outcome != "no change" and not outcome.startswith("no change"):
            report.invoices_changed += 1
            report.lines.append(f"invoice {invoice.id} ({remote.id}): {outcome}")
    # The cursors stay on the newest second seen: listing is "at or after", and events of
    # that same second already applied are skipped by their ids.
    set_state(EVENTS_CURSOR, str(newest))
    set_state(INVOICES_CURSOR, str(newest_invoice))
    db.session.commit()
    return report


__all__ = [
    "EVENT_TYPES",
    "EventResult",
    "GatewayError",
    "handle_event",
    "reconcile",
    "record_rejection",
]
