"""When the partnership must pay a provider, and which owed items a provider's payments settle.

Pure: the standard library only.

**Payment term.** Each owed item (a delivered order or call-off, an approved supply timesheet)
falls due `days` days (the partnership's PROVIDER_PAYMENT_DAYS, 30 by default) after the end of
the month of its delivery: an order delivered on 12 March is due on 30 April. It is overdue from
the day after its due date until it is paid.

**Allocation.** Payments are not earmarked for items: a provider's payments, summed, settle its
owed items oldest first (FIFO by due date, then delivery date, then the item's key). So an
item is paid, part paid (the oldest unpaid one) or unpaid; what is left unpaid is outstanding,
overdue when its due date has passed and due (not yet due) otherwise. Paying more than is owed
leaves the provider in credit, which settles the next items owed.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

DEFAULT_PAYMENT_DAYS = 30


def month_end(day: date) -> date:
    """The last day of the month `day` is in."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_on(delivered_on: date, days: int = DEFAULT_PAYMENT_DAYS) -> date:
    """When an item delivered on `delivered_on` must be paid: `days` after its month ends."""
    if days < 0:
        raise ValueError("a payment term cannot be negative")
    return month_end(delivered_on) + timedelta(days=days)


class ItemState(StrEnum):
    PAID = "paid"
    PART_PAID = "part-paid"
    DUE = "due"  # not yet due: owed, within the payment term
    OVERDUE = "overdue"


@dataclass(frozen=True)
class OwedItem:
    """Something the partnership owes a provider: `key` names it ("order-40", "timesheet-7")."""

    key: str
    delivered_on: date
    due_on: date
    owed_pence: int


@dataclass(frozen=True)
class SettledItem:
    """An owed item after the provider's payments were set against it."""

    item: OwedItem
    paid_pence: int
    outstanding_pence: int
    overdue: bool

    @property
    def state(self) -> ItemState:
        if self.outstanding_pence == 0:
            return ItemState.PAID
        if self.overdue:
            return ItemState.OVERDUE
        if self.paid_pence > 0:
            return ItemState.PART_PAID
        return ItemState.DUE


@dataclass(frozen=True)
class Position:
    """What one provider is owed, has been paid and is still owed, on a day.

    `outstanding_pence` = `owed_pence` − `paid_pence` (negative when the provider is in credit);
    `overdue_pence` + `due_pence` = the outstanding part of the items, so both are 0 in credit.
    """

    owed_pence: int
    paid_pence: int
    overdue_pence: int
    due_pence: int

    @property
    def outstanding_pence(self) -> int:
        return self.owed_pence - self.paid_pence

    @property
    def credit_pence(self) -> int:
        return max(0, self.paid_pence - self.owed_pence)


def _fifo(items: Iterable[OwedItem]) -> list[OwedItem]:
    return sorted(items, key=lambda i: (i.due_on, i.delivered_on, i.key))


def settle(items: Iterable[OwedItem], paid_pence: int, today: date) -> list[SettledItem]:
    """Set `paid_pence` (all of a provider's payments) against its items, oldest due first."""
    if paid_pence < 0:
        raise ValueError("payments cannot add up to less than nothing")
    left = paid_pence
    settled = []
    for item in _fifo(items):
        if item.owed_pence < 0:
            raise ValueError(f"{item.key}: an owed amount cannot be negative")
        paid = min(left, item.owed_pence)
        left -= paid
        outstanding = item.owed_pence - paid
        settled.append(
            SettledItem(item, paid, outstanding, outstanding > 0 and today > item.due_on)
        )
    return settled


def position(settled: Sequence[SettledItem], paid_pence: int) -> Position:
    """The totals of a provider's settled items and payments."""
    return Position(
        owed_pence=sum(s.item.owed_pence for s in settled),
        paid_pence=paid_pence,
        overdue_pence=sum(s.outstanding_pence for s in settled if s.overdue),
        due_pence=sum(s.outstanding_pence for s in settled if not s.overdue),
    )


def normalise_reference(text: str) -> str:
    """A bank reference as stored and compared: spaces collapsed, upper-case."""
    return " ".join(text.split()).upper()


def normalise_payee(text: str) -> str:
    """A payee or provider name as compared: letters and digits only, lower-case, and the
    company endings a bank may drop ("Ltd", "Limited", "LLP", "PLC", "CIC") left off."""
    words = "".join(c if c.isalnum() else " " for c in text.casefold()).split()
    while words and words[-1] in {"ltd", "limited", "llp", "plc", "cic"}:
        words.pop()
    return " ".join(words)
