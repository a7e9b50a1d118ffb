"""Money in integer pence: parsing, formatting, percentages and fair splits.

Pure: imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_PENCE = 10**12  # £10 billion: anything larger is a typing mistake


class MoneyError(ValueError):
    """A money amount that cannot be accepted."""


def parse_pounds(text: str | int | Decimal, *, allow_zero: bool = True) -> int:
    """Pounds as typed ("1,250.50", "£12", "0.5") to integer pence; refuses fractions of a penny."""
    raw = str(text).strip().replace(",", "").replace("£", "").strip()
    if not raw:
        raise MoneyError("Enter an amount in pounds, like 250 or 250.50")
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise MoneyError(f"“{text}” is not an amount in pounds") from exc
    if not amount.is_finite():
        raise MoneyError(f"“{text}” is not an amount in pounds")
    if amount < 0:
        raise MoneyError("The amount cannot be negative")
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise MoneyError("Amounts can have at most two decimal places (whole pence)")
    result = int(pence)
    if result > MAX_PENCE:
        raise MoneyError("The amount is too large")
    if result == 0 and not allow_zero:
        raise MoneyError("The amount must be more than £0")
    return result


def format_pence(pence: int | None, *, show_pence: bool = True) -> str:
    """£1,234.50; negative amounts as −£12.00; None as an em dash."""
    if pence is None:
        return "—"
    sign = "−" if pence < 0 else ""
    pounds, rest = divmod(abs(int(pence)), 100)
    if not show_pence:
        rounded = (abs(int(pence)) + 50) // 100
        return f"{sign}£{rounded:,}"
    return f"{sign}£{pounds:,}.{rest:02d}"


def pence_to_pounds_text(pence: int) -> str:
    """Pence as a plain pounds string for form fields ("1250.50")."""
    pounds, rest = divmod(int(pence), 100)
    return f"{pounds}.{rest:02d}"


def percent_of(pence: int, basis_points: int) -> int:
    """basis_points/10,000 of an amount, rounded half up to the penny (2,000 bp = 20%)."""
    return half_up(pence * basis_points, 10_000)


def multiply(unit_pence: int, quantity: int | Decimal) -> int:
    """unit × quantity rounded half up to the penny."""
    value = Decimal(unit_pence) * Decimal(quantity)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to a whole number, halves rounded away from zero (ROUND_HALF_UP):
    the one integer rounding for pence."""
    if denominator <= 0:
        raise MoneyError("half_up needs a positive denominator")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def largest_remainder(total_pence: int, weights: Sequence[int]) -> list[int]:
    """Split a total in proportion to integer weights so the shares add up to the penny.

    Largest-remainder method: each share is floored, then the pennies left over go to the
    largest fractional remainders (ties to the earlier position). Nothing can be split over
    weights that are all zero (or over nobody), except nothing.
    """
    if total_pence < 0:
        raise MoneyError(f"cannot split a negative total ({total_pence})")
    if any(weight < 0 for weight in weights):
        raise MoneyError("weights cannot be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total_pence == 0:
            return [0] * len(weights)
        raise MoneyError("cannot split a positive total over weights that are all zero")
    shares = [total_pence * weight // weight_sum for weight in weights]
    remainders = [total_pence * weight % weight_sum for weight in weights]
    left = total_pence - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares
