"""Contracts' rules of the trade, as pure functions on plain values: changes and termination,
and call-offs (what is left to draw down, and whether a school may call off).

Pure: the standard library and other pure modules (money, the calendar) only (no Flask, no
database). Each check returns what is wrong in plain words, or None when the answer is yes; the
use cases raise it as a domain error on the form field it belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.calendar import Term
from app.money import format_pence, half_up

# --- Amendments and termination (issue 16: UK10 contract change, UK11 termination) ----------

# An indexation is a percentage of at most ±50% (in basis points: 320 is +3.2%).
MAX_INDEXATION_BP = 5_000


def indexed_price(pence: int, basis_points: int) -> int:
    """A price moved by `basis_points` (signed), rounded half up to the penny:
    £234.57 + 3.2% = £242.0762… → £242.08."""
    return half_up(pence * (10_000 + basis_points), 10_000)


def indexed_prices(prices: Sequence[int], basis_points: int) -> list[int]:
    return [indexed_price(pence, basis_points) for pence in prices]


def indexation_problem(basis_points: int, prices: Sequence[int]) -> str | None:
    """A percentage other than zero, within ±50%, leaving every price at a penny or more."""
    if basis_points == 0:
        return "Enter a percentage other than 0"
    if abs(basis_points) > MAX_INDEXATION_BP:
        most = MAX_INDEXATION_BP // 100
        return f"Enter a percentage between −{most}% and {most}%"
    if any(price < 1 for price in indexed_prices(prices, basis_points)):
        return "Every price must stay at £0.01 or more"
    return None


def new_prices_problem(current: Sequence[int], proposed: Sequence[int | None]) -> str | None:
    """A new price for each of the contract's tiers, each over £0, not all the same as now."""
    if len(proposed) != len(current):
        return f"Enter a new price for each of the {len(current)} price tiers"
    for number, price in enumerate(proposed, start=1):
        if price is None or price < 1:
            return f"Enter a new price for tier {number}, more than £0"
    if list(proposed) == list(current):
        return "The new prices are the same as the current ones"
    return None


def extension_problem(ends_on: date, new_ends_on: date, allowed_until: date | None) -> str | None:
    """A later end date, within what the contract allows."""
    if allowed_until is None:
        return "This contract does not allow an extension"
    if new_ends_on <= ends_on:
        return f"The new end date must be after the current one, {ends_on:%-d %B %Y}"
    if new_ends_on > allowed_until:
        return f"The contract can be extended to {allowed_until:%-d %B %Y} at most"
    return None


def extension_limit_problem(
    starts_on: date, ends_on: date, allowed_until: date | None
) -> str | None:
    """How far a contract may be extended: none, or a date after its current end."""
    if allowed_until is not None and allowed_until <= ends_on:
        return f"The date must be after the contract’s current end, {ends_on:%-d %B %Y}"
    if allowed_until is not None and (allowed_until - starts_on).days > 366 * 10:
        return "A contract cannot run for more than ten years"
    return None


def capacity_problem(current: int | None, proposed: int, called_off: int = 0) -> str | None:
    """A new capacity: a positive number of units, different from now, and no less than what
    schools have already called off under the contract."""
    if proposed < 1:
        return "Enter a capacity of at least 1 unit"
    if proposed == current:
        return "The new capacity is the same as the current one"
    if proposed < called_off:
        return (
            f"The new capacity cannot be below the {called_off:,} units already called off under"
            " this contract"
        )
    return None


def effective_date_problem(starts_on: date, ends_on: date, effective_on: date) -> str | None:
    """A change takes effect within the contract's period."""
    if not starts_on <= effective_on <= ends_on:
        return (
            f"The change must take effect during the contract, between {starts_on:%-d %B %Y} "
            f"and {ends_on:%-d %B %Y}"
        )
    return None


def second_approver_problem(proposed_by_id: int, approver_id: int) -> str | None:
    """Two people for every change: whoever proposed it cannot approve it."""
    if proposed_by_id == approver_id:
        return "You proposed this change: another committee member or admin must approve it"
    return None


def termination_problem(starts_on: date, ends_on: date, terminated_on: date) -> str | None:
    """A termination takes effect during the contract: from its first day to its last."""
    if terminated_on < starts_on:
        return f"The termination date cannot be before the contract starts, {starts_on:%-d %B %Y}"
    if terminated_on > ends_on:
        return (
            f"The contract ends on {ends_on:%-d %B %Y} anyway: a termination takes effect on "
            "or before that day"
        )
    return None


def describe_prices(prices: Sequence[int]) -> str:
    return ", ".join(format_pence(price) for price in prices)


@dataclass(frozen=True)
class TermDrawdown:
    """What call-offs drew down in one term, and what the contract had left after it."""

    term_key: str
    term_label: str
    units: int
    value_pence: int
    # Left of the contract's whole capacity / value once this and every earlier term is counted
    # (None: not limited).
    units_left_after: int | None
    value_left_after_pence: int | None


@dataclass(frozen=True)
class Drawdown:
    """A contract's capacity and maximum value against what its call-offs hold.

    `used_units` and `used_pence` count every order under the contract in a reserving status
    (submitted, approved, confirmed, delivered or invoiced): quantity, and total excluding VAT.
    A cap of None is not limited.
    """

    capacity: int | None
    value_cap_pence: int | None
    used_units: int
    used_pence: int
    by_term: tuple[TermDrawdown, ...] = ()

    @property
    def units_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.used_units)

    @property
    def value_left_pence(self) -> int | None:
        if self.value_cap_pence is None:
            return None
        return max(0, self.value_cap_pence - self.used_pence)


def _left(cap: int | None, used: int) -> int | None:
    return None if cap is None else max(0, cap - used)


def drawdown(
    capacity: int | None, value_cap_pence: int | None, used: Iterable[tuple[str, int, int]]
) -> Drawdown:
    """Sum (term_key, units, pence) rows into the contract's drawdown, term by term in order."""
    per_term: dict[str, tuple[int, int]] = {}
    for term_key, units, pence in used:
        before = per_term.get(term_key, (0, 0))
        per_term[term_key] = (before[0] + units, before[1] + pence)

    def order(key: str) -> tuple[int, Term | None, str]:
        try:
            return (0, Term.parse(key), key)
        except ValueError:
            return (1, None, key)

    rows = []
    units_so_far = pence_so_far = 0
    for term_key in sorted(per_term, key=order):
        units, pence = per_term[term_key]
        units_so_far += units
        pence_so_far += pence
        try:
            label = Term.parse(term_key).label
        except ValueError:
            label = term_key
        rows.append(
            TermDrawdown(
                term_key=term_key,
                term_label=label,
                units=units,
                value_pence=pence,
                units_left_after=_left(capacity, units_so_far),
                value_left_after_pence=_left(value_cap_pence, pence_so_far),
            )
        )
    return Drawdown(
        capacity=capacity,
        value_cap_pence=value_cap_pence,
        used_units=units_so_far,
        used_pence=pence_so_far,
        by_term=tuple(rows),
    )


def drawdown_problem(
    current: Drawdown,
    *,
    quantity: int,
    total_pence: int,
    unit: str,
    reference: str,
    units: str | None = None,
) -> str | None:
    """A call-off must fit in what the contract has left, in units and in value. `unit` and
    `units` name one and several of the service's units ("day", "days"; `units` is `unit` + "s"
    unless given)."""
    units = units or unit + "s"
    units_left = current.units_left
    if units_left is not None and quantity > units_left:
        if units_left == 0:
            return f"Contract {reference} has no {units} left to call off"
        left_word = unit if units_left == 1 else units
        return (
            f"Contract {reference} has only {units_left:,} {left_word} left to call off, and "
            f"this call-off needs {quantity:,}"
        )
    value_left = current.value_left_pence
    if value_left is not None and total_pence > value_left:
        if value_left == 0:
            return (
                f"Contract {reference} has reached its maximum value: nothing is left to call off"
            )
        return (
            f"Contract {reference} has only {format_pence(value_left)} of its maximum value left, "
            f"and this call-off costs {format_pence(total_pence)}"
        )
    return None


def period_problem(
    *, status: str, starts_on: date, ends_on: date, term: Term, today: date
) -> str | None:
    """Call-offs are for an active contract, in a term that is not over and overlaps its
    period, before the contract has ended."""
    if status != "active":
        if status == "pending":
            return "This contract has not been entered into yet, so nothing can be called off"
        return f"This contract is {status}, so nothing can be called off under it"
    if ends_on < today:
        return f"This contract ended on {ends_on:%-d %B %Y}, so nothing can be called off"
    if term < Term.containing(today):
        return f"{term.label} is over: choose a later term"
    if term.starts_on > ends_on or term.ends_on < starts_on:
        return (
            f"This contract runs from {starts_on:%-d %B %Y} to {ends_on:%-d %B %Y}, "
            f"which does not include {term.label}"
        )
    return None


def participation_problem(*, takes_part: bool, open_to_new_schools: bool) -> str | None:
    """A school calls off when it takes part, or when the contract is open to schools that join
    later (the call-off then adds it)."""
    if takes_part or open_to_new_schools:
        return None
    return (
        "Your school does not take part in this contract, and the contract is not open to "
        "schools joining later"
    )


def call_off_terms(starts_on: date, ends_on: date, today: date) -> list[Term]:
    """The terms a call-off can be for: overlapping the contract's period, from today's term."""
    first = max(Term.containing(today), Term.containing(starts_on))
    last = Term.containing(ends_on)
    terms = []
    year = first.academic_year
    while year.start_year <= last.start_year:
        terms += [t for t in year.terms() if first <= t <= last]
        year = type(year)(year.start_year + 1)
    return terms
