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
    value = Decimal(pence) * Decimal(basis_points) / Decimal(10_000)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def multiply(unit_pence: int, quantity: int | Decimal) -> int:
    """unit × quantity rounded half up to the penny."""
    value = Decimal(unit_pence) * Decimal(quantity)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split_by_weights(total_pence: int, weights: Sequence[int]) -> list[int]:
    """Split a total in proportion to integer weights so the shares add up to the penny.

    Largest-remainder method: each share is floored, then the pennies left over go to the
    largest fractional remainders (ties to the earlier position). All-zero weights split equally.
    """
    if total_pence < 0:
        raise MoneyError("cannot split a negative total")
    if any(w < 0 for w in weights):
        raise MoneyError("weights cannot be negative")
    n = len(weights)
    if n == 0:
        if total_pence:
            raise MoneyError("cannot split a total among nobody")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * n
        weight_sum = n
    shares = [total_pence * w // weight_sum for w in weights]
    remainders = [total_pence * w % weight_sum for w in weights]
    left = total_pence - sum(shares)
    order = sorted(range(n), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares
