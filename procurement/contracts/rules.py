"""Contracts' rules of the trade, as pure functions on plain values.

Pure: the standard library and the money module only (no Flask, no database). Each check
returns what is wrong in plain words, or None when the change may go ahead; the use cases
raise it as a domain error on the form field it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

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


def capacity_problem(current: int | None, proposed: int) -> str | None:
    """A new capacity: a positive number of units, different from now."""
    if proposed < 1:
        return "Enter a capacity of at least 1 unit"
    if proposed == current:
        return "The new capacity is the same as the current one"
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
