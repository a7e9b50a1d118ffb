"""The pipeline's rules, pure: the 18-month window and its months, which reminder is due, which
decisions a contract allows, default dates of the next tender, and which schools' outside
contracts line up for a joint tender.

Pure: the standard library and `app.calendar` only.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from app.calendar import Term

T = TypeVar("T")

# The pipeline looks this many months ahead.
WINDOW_MONTHS = 18
# Committee members are reminded this many days before a contract ends.
REMINDER_DAYS = (120, 90, 30)
# Outside contracts for the same service ending within this many months of each other, at
# this many schools or more, are a candidate for a joint tender.
JOINT_WITHIN_MONTHS = 3
JOINT_MIN_SCHOOLS = 2
# The volumes a prefilled tender or round starts from: call-offs over this many months.
VOLUME_MONTHS = 12


class RenewalChoice(StrEnum):
    """What the committee decides for a contract ending."""

    EXTEND = "extend"
    RETENDER = "retender"
    ROUND = "round"
    LAPSE = "lapse"

    @property
    def label(self) -> str:
        return CHOICE_TEXT[self]


CHOICE_TEXT = {
    RenewalChoice.EXTEND: "Extend",
    RenewalChoice.RETENDER: "Re-tender",
    RenewalChoice.ROUND: "Run a buying round",
    RenewalChoice.LAPSE: "Let it lapse",
}


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def window_end(today: date) -> date:
    """The last day the pipeline covers: 18 months from today."""
    return add_months(today, WINDOW_MONTHS)


def in_window(ends_on: date, today: date) -> bool:
    """A contract ending today or within the next 18 months is in the pipeline."""
    return today <= ends_on <= window_end(today)


def month_label(month: tuple[int, int]) -> str:
    """(2027, 3) → "March 2027"."""
    return f"{calendar.month_name[month[1]]} {month[0]}"


def window_months(today: date) -> list[tuple[int, int]]:
    """Every (year, month) the window touches, in order: this month to 18 months on."""
    first = today.year * 12 + today.month - 1
    last_day = window_end(today)
    last = last_day.year * 12 + last_day.month - 1
    return [(index // 12, index % 12 + 1) for index in range(first, last + 1)]


def group_by_month(items: Iterable[T], ends_on: Callable[[T], date]) -> list[tuple[str, list[T]]]:
    """Items grouped by the month they end in, soonest month first (empty months left out);
    within a month, in the order given."""
    groups: dict[tuple[int, int], list[T]] = defaultdict(list)
    for item in items:
        day = ends_on(item)
        groups[(day.year, day.month)].append(item)
    return [(month_label(month), groups[month]) for month in sorted(groups)]


def reminder_due(ends_on: date, today: date, sent: Iterable[int]) -> int | None:
    """The reminder to send today, if any: the nearest of 120, 90 and 30 days that the contract
    is now within, unless it (or a nearer one) was already sent. A job that missed a morning
    catches up with the reminder that still makes sense, never with a stale one."""
    days_left = (ends_on - today).days
    if days_left < 0:
        return None
    crossed = [days for days in REMINDER_DAYS if days_left <= days]
    if not crossed:
        return None
    due = min(crossed)
    if any(days <= due for days in sent):
        return None
    return due


def allowed_choices(from_tender: bool) -> list[RenewalChoice]:
    """The decisions a contract allows. Extending needs the contract to provide for it; until
    contracts carry their extension terms, a tendered contract is taken to allow one (tender
    documents normally reserve an extension) and a round's call-off contract not."""
    choices = [RenewalChoice.RETENDER, RenewalChoice.ROUND, RenewalChoice.LAPSE]
    return [RenewalChoice.EXTEND, *choices] if from_tender else choices


@dataclass(frozen=True)
class NextPeriod:
    """Default dates for the tender that replaces a contract."""

    deadline_on: date
    starts_on: date
    ends_on: date


def next_period(old_starts_on: date, old_ends_on: date, today: date) -> NextPeriod:
    """Bids due six weeks from today (at least two weeks before the old contract ends when it
    can be, and never sooner than two weeks from today); the new contract starts the day after
    the old one ends (or after the deadline) and runs as long as the old one did, in whole
    months when the old one did, a year at least."""
    deadline = min(today + timedelta(weeks=6), old_ends_on - timedelta(weeks=2))
    deadline = max(deadline, today + timedelta(weeks=2))
    starts = max(old_ends_on + timedelta(days=1), deadline + timedelta(days=1))
    after = old_ends_on + timedelta(days=1)
    if after.day == old_starts_on.day:
        months = (after.year - old_starts_on.year) * 12 + after.month - old_starts_on.month
        ends = add_months(starts, max(months, 12)) - timedelta(days=1)
    else:
        length = max((old_ends_on - old_starts_on).days + 1, 365)
        ends = starts + timedelta(days=length - 1)
    return NextPeriod(deadline, starts, ends)


def next_terms(after: date, count: int = 3) -> list[Term]:
    """The `count` terms that start after `after` (a buying round to follow a contract)."""
    term = Term.containing(after + timedelta(days=1))
    if term.starts_on <= after:
        term = Term.containing(term.ends_on + timedelta(days=1))
    terms: list[Term] = []
    while len(terms) < count:
        terms.append(term)
        term = Term.containing(term.ends_on + timedelta(days=1))
    return terms


def term_in_last_year(term_starts_on: date, today: date) -> bool:
    """A call-off counts towards the volumes when its term started in the last 12 months."""
    return add_months(today, -VOLUME_MONTHS) < term_starts_on <= today


@dataclass(frozen=True)
class OutsideContract:
    """A school's contract outside the partnership, as the grouping rule needs it."""

    id: int
    school_id: int
    service_key: str  # the same key for the same service ("service:12", "category:hr")
    ends_on: date
    annual_value_pence: int


@dataclass(frozen=True)
class JointCandidate:
    service_key: str
    contracts: tuple[OutsideContract, ...]
    first_ends_on: date
    last_ends_on: date
    school_ids: tuple[int, ...]
    annual_value_pence: int


def service_key(service_id: int | None, category: str) -> str:
    """One key per service: the catalogue service, else the category in any case or spacing."""
    if service_id is not None:
        return f"service:{service_id}"
    return "category:" + " ".join(category.lower().split())


def joint_candidates(
    contracts: Sequence[OutsideContract],
    within_months: int = JOINT_WITHIN_MONTHS,
    min_schools: int = JOINT_MIN_SCHOOLS,
) -> list[JointCandidate]:
    """Groups of contracts for the same service, each ending within `within_months` of the
    group's first, held by at least `min_schools` different schools; soonest first.

    Per service, the contracts are taken in order of their end date: a group starts at the
    earliest one not yet grouped and takes every later one ending within the months; a group
    of too few schools gives up its first contract and the next one starts a group.
    """
    by_service: dict[str, list[OutsideContract]] = defaultdict(list)
    for contract in contracts:
        by_service[contract.service_key].append(contract)
    found = []
    for key, items in by_service.items():
        items.sort(key=lambda c: (c.ends_on, c.id))
        start = 0
        while start < len(items):
            limit = add_months(items[start].ends_on, within_months)
            end = start
            while end < len(items) and items[end].ends_on <= limit:
                end += 1
            group = items[start:end]
            schools = sorted({c.school_id for c in group})
            if len(schools) >= min_schools:
                found.append(
                    JointCandidate(
                        service_key=key,
                        contracts=tuple(group),
                        first_ends_on=group[0].ends_on,
                        last_ends_on=group[-1].ends_on,
                        school_ids=tuple(schools),
                        annual_value_pence=sum(c.annual_value_pence for c in group),
                    )
                )
                start = end
            else:
                start += 1
    found.sort(key=lambda g: (g.first_ends_on, g.service_key))
    return found
