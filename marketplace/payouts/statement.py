"""Each provider's statement: what it is owed item by item (marketplace.billing.payables), when
each item falls due, what the partnership has paid it, and so what is outstanding and overdue.

Queries and arithmetic only (the rules are in marketplace.payouts.rules). Amounts owed are the
payables ledger's, to the penny: `owed` − `paid` = `outstanding`, and `overdue` + `due` = the
outstanding part of the items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import partnership
from app.extensions import db
from app.models import Provider
from app.time import london_date, london_today
from marketplace.billing import payables
from marketplace.payouts import rules
from marketplace.payouts.models import ProviderPayment


def payment_days() -> int:
    """The partnership's payment term for providers, in days after the month of delivery: its
    settings' (PROVIDER_PAYMENT_DAYS in the config until there are settings)."""
    days = partnership.details().provider_payment_days
    if not 0 <= days <= 365:
        raise ValueError("PROVIDER_PAYMENT_DAYS must be between 0 and 365")
    return days


@dataclass(frozen=True)
class StatementLine:
    """One owed item on a statement, with its due date and how much of it is paid."""

    key: str
    kind: str  # order, call-off or supply
    record_id: int
    period: str
    school_name: str
    description: str
    delivered_on: date
    due_on: date
    owed_pence: int
    paid_pence: int
    outstanding_pence: int
    state: rules.ItemState


@dataclass(frozen=True)
class Statement:
    """One provider's position on a day, its items oldest due first and its payments."""

    provider_id: int
    provider_name: str
    today: date
    position: rules.Position
    lines: list[StatementLine]
    payments: list[ProviderPayment]

    @property
    def last_paid_on(self) -> date | None:
        return max((p.paid_on for p in self.payments), default=None)


@dataclass(frozen=True)
class _Owed:
    provider_id: int
    provider_name: str
    item: rules.OwedItem
    kind: str
    record_id: int
    period: str
    school_name: str
    description: str


def _owed(provider_id: int | None, days: int, today: date) -> list[_Owed]:
    bp = payables.fee_bp()
    owed = []
    for item in payables.items(bp, provider_id=provider_id):
        delivered = london_date(item.delivered_at) if item.delivered_at else today
        owed.append(
            _Owed(
                item.provider_id,
                item.provider_name,
                rules.OwedItem(
                    f"order-{item.order_id}",
                    delivered,
                    rules.due_on(delivered, days),
                    item.owed_pence,
                ),
                item.kind.value,
                item.order_id,
                item.period,
                item.school_name,
                item.service_name,
            )
        )
    for week in payables.supply_items(bp, provider_id=provider_id):
        # A week's cover is delivered by its Friday.
        delivered = week.week_starting + timedelta(days=4)
        owed.append(
            _Owed(
                week.provider_id,
                week.provider_name,
                rules.OwedItem(
                    f"timesheet-{week.timesheet_id}",
                    delivered,
                    rules.due_on(delivered, days),
                    week.owed_pence,
                ),
                "supply",
                week.timesheet_id,
                week.period,
                week.school_name,
                f"Supply cover: {week.worker_name}",
            )
        )
    return owed


def payments(provider_id: int | None = None) -> list[ProviderPayment]:
    """Payments out, newest first (one provider's, or everyone's)."""
    stmt = (
        sa.select(ProviderPayment)
        .options(selectinload(ProviderPayment.provider))
        .order_by(ProviderPayment.paid_on.desc(), ProviderPayment.id.desc())
    )
    if provider_id is not None:
        stmt = stmt.where(ProviderPayment.provider_id == provider_id)
    return list(db.session.scalars(stmt))


def due_dates(provider_id: int | None = None, today: date | None = None) -> dict[str, date]:
    """Each owed item's due date by key ("order-40", "timesheet-7"), for the CSV."""
    today = today or london_today()
    return {o.item.key: o.item.due_on for o in _owed(provider_id, payment_days(), today)}


def _statement(
    provider_id: int, name: str, owed: Iterable[_Owed], paid: list[ProviderPayment], today: date
) -> Statement:
    by_key = {o.item.key: o for o in owed}
    paid_pence = sum(p.amount_pence for p in paid)
    settled = rules.settle([o.item for o in by_key.values()], paid_pence, today)
    lines = []
    for s in settled:
        o = by_key[s.item.key]
        lines.append(
            StatementLine(
                key=s.item.key,
                kind=o.kind,
                record_id=o.record_id,
                period=o.period,
                school_name=o.school_name,
                description=o.description,
                delivered_on=s.item.delivered_on,
                due_on=s.item.due_on,
                owed_pence=s.item.owed_pence,
                paid_pence=s.paid_pence,
                outstanding_pence=s.outstanding_pence,
                state=s.state,
            )
        )
    return Statement(provider_id, name, today, rules.position(settled, paid_pence), lines, paid)


def statement(provider: Provider, today: date | None = None) -> Statement:
    """One provider's statement on `today` (London's today by default)."""
    today = today or london_today()
    owed = _owed(provider.id, payment_days(), today)
    return _statement(provider.id, provider.name, owed, payments(provider.id), today)


def statements(today: date | None = None) -> list[Statement]:
    """Every provider that is owed something or has been paid something, by name."""
    today = today or london_today()
    owed_by: dict[int, list[_Owed]] = {}
    names: dict[int, str] = {}
    for o in _owed(None, payment_days(), today):
        owed_by.setdefault(o.provider_id, []).append(o)
        names[o.provider_id] = o.provider_name
    paid_by: dict[int, list[ProviderPayment]] = {}
    for payment in payments():
        paid_by.setdefault(payment.provider_id, []).append(payment)
        names.setdefault(payment.provider_id, payment.provider.name)
    return sorted(
        (
            _statement(pid, names[pid], owed_by.get(pid, []), paid_by.get(pid, []), today)
            for pid in names
        ),
        key=lambda s: (s.provider_name, s.provider_id),
    )


def totals(items: Iterable[Statement]) -> rules.Position:
    """The partnership's position: the sum of the providers'."""
    items = list(items)
    return rules.Position(
        owed_pence=sum(s.position.owed_pence for s in items),
        paid_pence=sum(s.position.paid_pence for s in items),
        overdue_pence=sum(s.position.overdue_pence for s in items),
        due_pence=sum(s.position.due_pence for s in items),
    )
