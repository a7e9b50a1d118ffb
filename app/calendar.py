"""The school calendar: academic years, terms and England-and-Wales working days.

Pure: imports the standard library and `holidays` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import holidays


class TermName(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


@dataclass(frozen=True, order=True)
class AcademicYear:
    """1 September to 31 August, named by its first calendar year."""

    start_year: int

    @property
    def starts_on(self) -> date:
        return date(self.start_year, 9, 1)

    @property
    def ends_on(self) -> date:
        return date(self.start_year + 1, 8, 31)

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def terms(self) -> list[Term]:
        return [Term(self.start_year, name) for name in TermName]

    @classmethod
    def containing(cls, day: date) -> AcademicYear:
        return cls(day.year if day.month >= 9 else day.year - 1)

    @classmethod
    def parse(cls, label: str) -> AcademicYear:
        """Accepts "2026/27", "2026-27" or "2026"."""
        text = label.strip().replace("-", "/")
        try:
            first, _, second = text.partition("/")
            year = int(first)
            if second and (int(second) % 100) != (year + 1) % 100:
                raise ValueError
        except ValueError as exc:
            raise ValueError(f"“{label}” is not an academic year like 2026/27") from exc
        if not 2000 <= year <= 2100:
            raise ValueError(f"“{label}” is not an academic year like 2026/27")
        return cls(year)


_TERM_DATES = {
    # Nominal term boundaries used for capacity and billing periods.
    TermName.AUTUMN: ((9, 1), (12, 31), 0),
    TermName.SPRING: ((1, 1), (3, 31), 1),
    TermName.SUMMER: ((4, 1), (8, 31), 1),
}


@dataclass(frozen=True, order=True)
class Term:
    start_year: int
    name: TermName

    @property
    def academic_year(self) -> AcademicYear:
        return AcademicYear(self.start_year)

    @property
    def starts_on(self) -> date:
        (month, day), _, offset = _TERM_DATES[self.name]
        return date(self.start_year + offset, month, day)

    @property
    def ends_on(self) -> date:
        _, (month, day), offset = _TERM_DATES[self.name]
        return date(self.start_year + offset, month, day)

    @property
    def key(self) -> str:
        return f"{self.start_year}-{self.name.value}"

    @property
    def label(self) -> str:
        return f"{self.name.value.capitalize()} {self.academic_year.label}"

    @classmethod
    def containing(cls, day: date) -> Term:
        year = AcademicYear.containing(day)
        for term in year.terms():
            if term.starts_on <= day <= term.ends_on:
                return term
        raise AssertionError("terms cover the whole year")  # pragma: no cover

    @classmethod
    def parse(cls, key: str) -> Term:
        year, _, name = key.partition("-")
        try:
            return cls(int(year), TermName(name))
        except ValueError as exc:
            raise ValueError(f"“{key}” is not a term like 2026-autumn") from exc


def term_label(term_key: str) -> str:
    """A term key as people say it: 2026-autumn is Autumn 2026/27 (an unknown key as it is)."""
    try:
        return Term.parse(term_key).label
    except ValueError:
        return term_key


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # England's calendar (which Wales shares for bank holidays bar none that matter here).
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England and Wales bank holiday."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself is not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    left = days
    while left:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current
