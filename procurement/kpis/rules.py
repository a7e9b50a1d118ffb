"""Contract KPIs, pure: quarters, return deadlines, values in hundredths, and met or below.

Quarters are **UK financial-year quarters** (the year runs 1 April to 31 March, as maintained
schools' budgets and government contract reporting do), named by the calendar year the financial
year starts in: 2026-Q1 is April–June 2026, 2026-Q2 July–September, 2026-Q3 October–December,
2026-Q4 January–March 2027. Each autumn, spring and summer term ends in a quarter of its own
(31 December in Q3, 31 March in Q4, 31 August in Q2).

A provider's return for a quarter is due 20 England-and-Wales working days after the quarter's
last day; it can be made from the quarter's first day and changed until that deadline, then it
is locked.

Values and targets are kept as whole hundredths (95.5% is 9550; a score of 4.2 out of 5 is 420)
so that no float ever decides met or below.

Pure: the standard library and the school calendar only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.calendar import Term, TermName, add_working_days

RETURN_WORKING_DAYS = 20
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
# Financial quarter n (1–4): (first month, calendar-year offset from the financial year).
_STARTS = {1: (4, 0), 2: (7, 0), 3: (10, 0), 4: (1, 1)}


class KpiKind(StrEnum):
    ON_TIME_DELIVERY = "on_time_delivery"
    FILL_RATE = "fill_rate"
    SATISFACTION = "satisfaction"
    CUSTOM = "custom"


class KpiUnit(StrEnum):
    PERCENT = "percent"
    SCORE = "score"  # out of 5
    COUNT = "count"


class Direction(StrEnum):
    HIGHER = "higher"  # higher is better: met at or above the target
    LOWER = "lower"  # lower is better: met at or below the target


class KpiSource(StrEnum):
    COMPUTED = "computed"  # Pooled works it out from orders, supply requests or ratings
    PROVIDER_RETURN = "provider_return"  # the provider returns a figure each quarter


class KpiStatus(StrEnum):
    MET = "met"
    BELOW = "below"
    NO_DATA = "no data"


KIND_TEXT = {
    KpiKind.ON_TIME_DELIVERY: "On-time delivery",
    KpiKind.FILL_RATE: "Fill rate",
    KpiKind.SATISFACTION: "Satisfaction",
    KpiKind.CUSTOM: "Other (returned by the provider)",
}
UNIT_TEXT = {KpiUnit.PERCENT: "per cent", KpiUnit.SCORE: "score out of 5", KpiUnit.COUNT: "count"}
DIRECTION_TEXT = {Direction.HIGHER: "Higher is better", Direction.LOWER: "Lower is better"}
SOURCE_TEXT = {
    KpiSource.COMPUTED: "Worked out by Pooled",
    KpiSource.PROVIDER_RETURN: "Returned by the provider each quarter",
}
# The unit a computed KPI is measured in (a custom KPI is always returned by the provider).
COMPUTED_UNITS = {
    KpiKind.ON_TIME_DELIVERY: KpiUnit.PERCENT,
    KpiKind.FILL_RATE: KpiUnit.PERCENT,
    KpiKind.SATISFACTION: KpiUnit.SCORE,
}
# The largest value of each unit, in hundredths.
MAXIMUM = {KpiUnit.PERCENT: 100_00, KpiUnit.SCORE: 5_00, KpiUnit.COUNT: 1_000_000_00}


@dataclass(frozen=True, order=True)
class Quarter:
    """A UK financial-year quarter: `year` is the calendar year its financial year starts in."""

    year: int
    number: int

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def starts_on(self) -> date:
        month, offset = _STARTS[self.number]
        return date(self.year + offset, month, 1)

    @property
    def ends_on(self) -> date:
        return self.next().starts_on - timedelta(days=1)

    @property
    def label(self) -> str:
        """ "Q3 2026/27 (Oct–Dec 2026)"."""
        first, last = self.starts_on, self.ends_on
        return f"Q{self.number} {self.year}/{(self.year + 1) % 100:02d} ({first:%b}–{last:%b %Y})"

    @property
    def short_label(self) -> str:
        """ "Oct–Dec 2026"."""
        return f"{self.starts_on:%b}–{self.ends_on:%b %Y}"

    @property
    def return_deadline(self) -> date:
        """The last day a provider can make or change its return for this quarter."""
        return add_working_days(self.ends_on, RETURN_WORKING_DAYS)

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    @classmethod
    def containing(cls, day: date) -> Quarter:
        year = day.year if day.month >= 4 else day.year - 1
        number = {4: 1, 5: 1, 6: 1, 7: 2, 8: 2, 9: 2, 10: 3, 11: 3, 12: 3}.get(day.month, 4)
        return cls(year, number)

    @classmethod
    def parse(cls, key: str) -> Quarter:
        """ "2026-Q3"; ValueError (with a message for people) for anything else."""
        match = _QUARTER.match(key.strip()) if isinstance(key, str) else None
        if match is None or not 2000 <= int(match.group(1)) <= 2100:
            raise ValueError(f"“{str(key)[:20]}” is not a quarter like 2026-Q3")
        return cls(int(match.group(1)), int(match.group(2)))


def return_open(quarter: Quarter, today: date) -> bool:
    """A return can be made or changed from the quarter's first day until its deadline."""
    return quarter.starts_on <= today <= quarter.return_deadline


def latest_quarter_past_deadline(today: date) -> Quarter:
    """The most recent quarter whose return deadline has passed by `today`."""
    quarter = Quarter.containing(today).previous()
    while quarter.return_deadline >= today:
        quarter = quarter.previous()
    return quarter


def quarters_of(starts_on: date, ends_on: date, today: date, count: int = 4) -> list[Quarter]:
    """The last `count` quarters of a contract that have begun by `today`, oldest first."""
    last = Quarter.containing(min(today, ends_on))
    found: list[Quarter] = []
    quarter = last
    while len(found) < count and quarter.ends_on >= starts_on and quarter.starts_on <= today:
        found.append(quarter)
        quarter = quarter.previous()
    return list(reversed(found))


def term_ending_in(quarter: Quarter) -> Term | None:
    """The school term whose last day falls in the quarter (orders for it are due then)."""
    for name in TermName:
        for start_year in (quarter.year - 1, quarter.year, quarter.year + 1):
            term = Term(start_year, name)
            if quarter.starts_on <= term.ends_on <= quarter.ends_on:
                return term
    return None


def status(value: int | None, target: int, direction: Direction) -> KpiStatus:
    """Met or below the target (both in hundredths); no data is never a zero."""
    if value is None:
        return KpiStatus.NO_DATA
    met = value >= target if direction is Direction.HIGHER else value <= target
    return KpiStatus.MET if met else KpiStatus.BELOW


def overall(statuses: list[KpiStatus]) -> KpiStatus:
    """A contract's KPIs together: below if any is below, met if any is met, else no data."""
    if KpiStatus.BELOW in statuses:
        return KpiStatus.BELOW
    if KpiStatus.MET in statuses:
        return KpiStatus.MET
    return KpiStatus.NO_DATA


def rate(part: int, whole: int) -> int | None:
    """part ÷ whole as a percentage in hundredths, rounded half up; None when whole is 0."""
    if whole <= 0:
        return None
    return (part * 100_00 * 2 + whole) // (whole * 2)


def parse_value(text: str, unit: KpiUnit) -> int:
    """A figure typed by a person ("95", "95.5", "4.2", "12") as hundredths; ValueError with a
    message for people when it is not one of this unit's figures."""
    cleaned = str(text).strip().removesuffix("%").strip().replace(",", "")
    whole, _, fraction = cleaned.partition(".")
    decimals = 0 if unit is KpiUnit.COUNT else 2
    if not (
        whole.isascii()
        and whole.isdigit()
        and len(whole) <= 9
        and (fraction == "" or (fraction.isascii() and fraction.isdigit()))
        and len(fraction) <= decimals
    ):
        if unit is KpiUnit.COUNT:
            raise ValueError("Enter a whole number, like 3")
        raise ValueError("Enter a number with at most 2 decimal places, like 95 or 4.25")
    value = int(whole) * 100 + int(fraction.ljust(2, "0") or "0")
    if value > MAXIMUM[unit]:
        raise ValueError(f"Enter a figure from 0 to {format_value(MAXIMUM[unit], unit)}")
    return value


def plain(value: int) -> str:
    """Hundredths as a plain number for a form field: 9550 is "95.5", 400 is "4"."""
    return f"{value / 100:.2f}".rstrip("0").rstrip(".")


def format_value(value: int | None, unit: KpiUnit) -> str:
    """Hundredths as people read them: "95.5%", "4.2 / 5", "12"; no data as "No data"."""
    if value is None:
        return "No data"
    number = f"{value / 100:,.2f}".rstrip("0").rstrip(".")
    if unit is KpiUnit.PERCENT:
        return f"{number}%"
    if unit is KpiUnit.SCORE:
        return f"{number} / 5"
    return number


def format_target(target: int, unit: KpiUnit, direction: Direction) -> str:
    """ "≥ 95%" or "≤ 3"."""
    sign = "≥" if direction is Direction.HIGHER else "≤"
    return f"{sign} {format_value(target, unit)}"


def check_kpi(kind: KpiKind, unit: KpiUnit, source: KpiSource) -> tuple[str, str] | None:
    """(field, message) when a KPI's kind, unit and source do not go together, else None."""
    if source is KpiSource.COMPUTED:
        if kind is KpiKind.CUSTOM:
            return "source", "Pooled cannot work out a custom KPI: the provider returns it"
        if unit is not COMPUTED_UNITS[kind]:
            return "unit", f"{KIND_TEXT[kind]} is measured as a {UNIT_TEXT[COMPUTED_UNITS[kind]]}"
    return None


@dataclass(frozen=True)
class KpiSpec:
    """A KPI a contract gets when it is entered into."""

    kind: KpiKind
    name: str
    unit: KpiUnit
    target: int
    direction: Direction
    source: KpiSource


def default_kpis(supply_staff: bool) -> list[KpiSpec]:
    """The standard KPIs: on-time delivery ≥ 95% and satisfaction ≥ 4.0 / 5 (both worked out by
    Pooled), plus fill rate ≥ 90% for supply staff, else complaints resolved within 10 working
    days ≥ 90% (returned by the provider)."""
    specs = [
        KpiSpec(
            KpiKind.ON_TIME_DELIVERY,
            "Orders delivered by their due date",
            KpiUnit.PERCENT,
            95_00,
            Direction.HIGHER,
            KpiSource.COMPUTED,
        ),
        KpiSpec(
            KpiKind.SATISFACTION,
            "Schools’ satisfaction (average rating)",
            KpiUnit.SCORE,
            4_00,
            Direction.HIGHER,
            KpiSource.COMPUTED,
        ),
    ]
    if supply_staff:
        specs.append(
            KpiSpec(
                KpiKind.FILL_RATE,
                "Cover requests filled",
                KpiUnit.PERCENT,
                90_00,
                Direction.HIGHER,
                KpiSource.COMPUTED,
            )
        )
    else:
        specs.append(
            KpiSpec(
                KpiKind.CUSTOM,
                "Complaints resolved within 10 working days",
                KpiUnit.PERCENT,
                90_00,
                Direction.HIGHER,
                KpiSource.PROVIDER_RETURN,
            )
        )
    return specs


MINIMUM_KPIS = 3
# The catalogue category of supply-staff services (their contracts measure fill rate).
SUPPLY_CATEGORY = "supply"
