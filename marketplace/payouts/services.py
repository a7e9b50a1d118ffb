"""Use cases of payments out: record one, delete one (audited), check and import a bank file.

Each use case commits once, at its end, and writes nothing when it refuses. Every payment
recorded tells the provider's people (notification kind `payment_sent`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.models import Provider, Role, User
from app.money import MAX_PENCE, format_pence
from app.notifications.rendering import link
from app.notifications.services import notify
from app.providers import all_providers, get_provider
from app.time import format_date, london_today
from app.use_case import use_case
from marketplace.payouts import bankfile
from marketplace.payouts.errors import (
    BankFileRefused,
    DuplicatePaymentReference,
    PaymentInvalid,
    PaymentNotFound,
)
from marketplace.payouts.models import PaymentSource, ProviderPayment, ProviderPaymentImport
from marketplace.payouts.rules import normalise_reference

NOTE_MAX = 500


@dataclass(frozen=True)
class PaymentInput:
    """What the record-a-payment page (or an import line) gives."""

    provider_id: int
    paid_on: date
    amount_pence: int
    reference: str
    note: str = ""


def _snapshot(payment: ProviderPayment) -> dict[str, Any]:
    return {
        "provider_id": payment.provider_id,
        "paid_on": payment.paid_on.isoformat(),
        "amount_pence": payment.amount_pence,
        "reference": payment.reference,
        "payee": payment.payee,
        "note": payment.note,
        "source": payment.source.value,
        "import_id": payment.import_id,
    }


def _recipients(provider: Provider) -> list[User]:
    """The provider's active users; for a school-led hub, also its school's SBMs."""
    condition = sa.and_(User.provider_id == provider.id, User.role == Role.PROVIDER)
    if provider.school_id is not None:
        condition = sa.or_(
            condition, sa.and_(User.school_id == provider.school_id, User.role == Role.SBM)
        )
    return list(
        db.session.scalars(
            sa.select(User).where(condition, User.active.is_(True)).order_by(User.id)
        )
    )


def _tell(payment: ProviderPayment, provider: Provider) -> None:
    amount = format_pence(payment.amount_pence)
    notify(
        "payment_sent",
        _recipients(provider),
        event=f"provider-payment-{payment.id}",
        template="payment_sent",
        subject=f"Payment sent: {amount} (reference {payment.reference})",
        link=link("marketplace.provider_payables"),
        about=("provider", provider.id),
        summary=f"{amount} paid on {format_date(payment.paid_on)}",
        payment=payment,
        provider=provider,
        amount=amount,
        paid_on=format_date(payment.paid_on),
    )


def _checked(values: PaymentInput, today: date) -> tuple[date, int, str, str]:
    if values.paid_on > today:
        raise PaymentInvalid("The payment date cannot be after today.", field="paid_on")
    if not 0 < values.amount_pence <= MAX_PENCE:
        raise PaymentInvalid("The amount must be more than £0.", field="amount")
    reference = normalise_reference(values.reference)
    if not reference:
        raise PaymentInvalid("Enter the bank reference of the payment.", field="reference")
    if len(reference) > bankfile.REFERENCE_MAX:
        raise PaymentInvalid(
            f"The reference must be {bankfile.REFERENCE_MAX} characters or fewer.",
            field="reference",
        )
    note = values.note.strip()
    if len(note) > NOTE_MAX:
        raise PaymentInvalid(f"The note must be {NOTE_MAX} characters or fewer.", field="note")
    return values.paid_on, values.amount_pence, reference, note


def _existing(provider_id: int, reference: str) -> ProviderPayment | None:
    return db.session.scalar(
        sa.select(ProviderPayment).where(
            ProviderPayment.provider_id == provider_id, ProviderPayment.reference == reference
        )
    )


def _duplicate(provider: Provider, earlier: ProviderPayment) -> DuplicatePaymentReference:
    return DuplicatePaymentReference(
        f"The reference {earlier.reference} is already recorded for {provider.name}: "
        f"{format_pence(earlier.amount_pence)} paid on {format_date(earlier.paid_on)}.",
        field="reference",
    )


def _flush_once(message: str, field: str) -> None:
    """Flush new payments; a concurrent recording of the same reference is refused with
    `message`, not a 500."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise DuplicatePaymentReference(message, field=field) from exc


@use_case
def record_payment(
    values: PaymentInput, actor: User | None, *, today: date | None = None
) -> ProviderPayment:
    """Record a payment sent to a provider, by hand; the provider's people are told."""
    provider = get_provider(values.provider_id)
    paid_on, amount, reference, note = _checked(values, today or london_today())
    earlier = _existing(provider.id, reference)
    if earlier is not None:
        raise _duplicate(provider, earlier)
    payment = ProviderPayment(
        provider_id=provider.id,
        paid_on=paid_on,
        amount_pence=amount,
        reference=reference,
        note=note,
        source=PaymentSource.MANUAL,
        recorded_by_id=actor.id if actor is not None else None,
    )
    db.session.add(payment)
    _flush_once(
        f"The reference {reference} was just recorded for {provider.name} by someone else.",
        "reference",
    )
    audit.record(
        actor,
        "provider_payment",
        payment.id,
        "recorded",
        after=_snapshot(payment),
        scope=f"provider:{provider.id}",
    )
    _tell(payment, provider)
    db.session.commit()
    return payment


def get_payment(payment_id: int) -> ProviderPayment:
    payment = db.session.get(ProviderPayment, payment_id)
    if payment is None:
        raise PaymentNotFound("There is no such payment.")
    return payment


def get_payment_for_provider(payment_id: int, provider_id: int) -> ProviderPayment:
    """A payment, only if it is to this provider (404 otherwise)."""
    payment = db.session.scalar(
        sa.select(ProviderPayment).where(
            ProviderPayment.id == payment_id, ProviderPayment.provider_id == provider_id
        )
    )
    if payment is None:
        raise PaymentNotFound("There is no such payment.")
    return payment


@use_case
def delete_payment(payment_id: int, actor: User, reason: str = "") -> ProviderPayment:
    """Delete a payment recorded by mistake; the audit trail keeps what it was and why."""
    payment = get_payment(payment_id)
    before = _snapshot(payment)
    reason = " ".join(reason.split())
    if len(reason) > NOTE_MAX:
        raise PaymentInvalid(f"The reason must be {NOTE_MAX} characters or fewer.", field="reason")
    audit.record(
        actor,
        "provider_payment",
        payment.id,
        "deleted",
        before=before,
        after={"reason": reason},
        scope=f"provider:{payment.provider_id}",
    )
    db.session.delete(payment)
    db.session.commit()
    return payment


# Bank files --------------------------------------------------------------------------------


def check_bank_file(data: bytes, *, today: date | None = None) -> bankfile.BankFile:
    """Every row of a bank file matched and checked against Pooled as it is now (reads only)."""
    providers = [bankfile.Payee(p.id, p.name) for p in all_providers()]
    recorded = {
        (p.provider_id, p.reference): bankfile.Recorded(p.paid_on, p.amount_pence)
        for p in db.session.scalars(sa.select(ProviderPayment))
    }
    return bankfile.check(
        data, providers=providers, recorded=recorded, today=today or london_today()
    )


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ImportResult:
    batch: ProviderPaymentImport | None  # None when every payment was already recorded
    recorded: int
    already_recorded: int
    total_pence: int


@use_case
def import_bank_file(
    data: bytes,
    *,
    filename: str,
    actor: User | None,
    sha256: str | None = None,
    today: date | None = None,
) -> ImportResult:
    """Record every new payment of a bank file, all or nothing: any problem refuses the whole
    file (BankFileRefused names each). Lines already recorded are skipped, so importing the
    same file again records nothing. `sha256`, when given, must be the previewed file's."""
    if sha256 is not None and sha256 != fingerprint(data):
        raise PaymentInvalid(
            "The file is not the one previewed. Nothing was imported: upload it again.",
            field="file",
        )
    checked = check_bank_file(data, today=today)
    if not checked.ok:
        raise BankFileRefused(checked.problems)
    rows = checked.to_record
    skipped = len(checked.already_recorded)
    if not rows:
        return ImportResult(None, 0, skipped, 0)
    batch = ProviderPaymentImport(
        filename=filename[:200],
        sha256=fingerprint(data),
        payments=len(rows),
        total_pence=checked.total_pence,
        imported_by_id=actor.id if actor is not None else None,
    )
    # Loaded before any payment is added: a query would flush them before _flush_once can
    # turn a concurrent import's duplicate into a refusal.
    paid = {row.provider.id for row in rows if row.provider is not None}
    providers = {
        p.id: p for p in db.session.scalars(sa.select(Provider).where(Provider.id.in_(paid)))
    }
    db.session.add(batch)
    db.session.flush()
    made: list[tuple[ProviderPayment, Provider]] = []
    for row in rows:
        assert row.provider is not None and row.paid_on is not None  # a good row has them
        assert row.amount_pence is not None
        payment = ProviderPayment(
            provider_id=row.provider.id,
            paid_on=row.paid_on,
            amount_pence=row.amount_pence,
            reference=row.reference,
            payee=row.payee[:200],
            source=PaymentSource.IMPORT,
            import_id=batch.id,
            recorded_by_id=actor.id if actor is not None else None,
        )
        db.session.add(payment)
        made.append((payment, providers[row.provider.id]))
    _flush_once(
        "A payment in this file was just recorded by someone else: nothing was imported. "
        "Check the file again.",
        "file",
    )
    audit.record(
        actor,
        "provider_payment_import",
        batch.id,
        "imported",
        after={
            "filename": batch.filename,
            "sha256": batch.sha256,
            "payments": [p.id for p, _ in made],
            "total_pence": batch.total_pence,
            "already_recorded": skipped,
        },
        scope="provider-payments",
    )
    for payment, provider in made:
        audit.record(
            actor,
            "provider_payment",
            payment.id,
            "recorded",
            after=_snapshot(payment),
            scope=f"provider:{provider.id}",
        )
        _tell(payment, provider)
    db.session.commit()
    return ImportResult(batch, len(made), skipped, batch.total_pence)
