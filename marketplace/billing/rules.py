"""Billing rules as pure functions: VAT, invoice totals, forward-only status, idempotency keys.

Pure: imports the standard library and app.money only (no Flask, SQLAlchemy or Stripe).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.money import percent_of

DAYS_TO_PAY = 30

# Invoice statuses in the order they can happen. An invoice only ever moves to a higher rank:
# draft → open → uncollectible (written off, still payable) → paid or void (final).
STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
FINAL_STATUSES = frozenset({"paid", "void"})


def vat_pence(net_pence: int, rate_bp: int) -> int:
    """VAT on a net amount at a rate in basis points (2,000 = 20%), rounded half up."""
    if net_pence < 0:
        raise ValueError("VAT is worked out on a net amount that is not negative")
    if not 0 <= rate_bp <= 10_000:
        raise ValueError("a VAT rate is between 0% and 100%")
    return percent_of(net_pence, rate_bp)


@dataclass(frozen=True)
class LineAmounts:
    """One line: `amount_pence` = quantity × unit price; VAT on it rounded half up per line."""

    quantity: int
    unit_pence: int
    amount_pence: int
    vat_rate_bp: int
    vat_pence: int

    @property
    def total_pence(self) -> int:
        return self.amount_pence + self.vat_pence


def line(quantity: int, unit_pence: int, vat_rate_bp: int) -> LineAmounts:
    """A line of `quantity` units at `unit_pence`, with VAT at `vat_rate_bp`."""
    if quantity <= 0:
        raise ValueError("a line bills at least one unit")
    if unit_pence < 0:
        raise ValueError("a unit price cannot be negative")
    amount = quantity * unit_pence
    return LineAmounts(quantity, unit_pence, amount, vat_rate_bp, vat_pence(amount, vat_rate_bp))


def fixed_line(amount_pence: int, vat_rate_bp: int) -> LineAmounts:
    """A line for one fixed amount (e.g. an order with a set-up charge)."""
    return line(1, amount_pence, vat_rate_bp)


@dataclass(frozen=True)
class Totals:
    """An invoice's totals: the sum of its lines' net amounts and of their (rounded) VAT."""

    net_pence: int
    vat_pence: int

    @property
    def total_pence(self) -> int:
        return self.net_pence + self.vat_pence


def totals(lines: Iterable[LineAmounts]) -> Totals:
    """VAT is rounded per line (as Stripe does with tax rates), then summed."""
    items = list(lines)
    return Totals(sum(i.amount_pence for i in items), sum(i.vat_pence for i in items))


def advance(current: str, proposed: str) -> str:
    """The status after an event proposing `proposed`: it never moves backwards or sideways."""
    if current not in STATUS_RANK or proposed not in STATUS_RANK:
        raise ValueError(f"unknown invoice status: {current!r} or {proposed!r}")
    if STATUS_RANK[proposed] > STATUS_RANK[current]:
        return proposed
    return current


def credit_amounts(refund_net_pence: int, line_net_pence: int, vat_rate_bp: int) -> LineAmounts:
    """A credit of `refund_net_pence` (net) on a line, never more than the line's net amount."""
    if refund_net_pence <= 0:
        raise ValueError("a credit is for more than £0")
    if refund_net_pence > line_net_pence:
        raise ValueError("a credit cannot be more than the line it credits")
    return fixed_line(refund_net_pence, vat_rate_bp)


# Idempotency keys: derived from our own ids (and this database's billing namespace, so two
# databases sharing one Stripe account can never replay each other's requests).


def customer_key(namespace: str, school_id: int) -> str:
    return f"{namespace}-school-{school_id}-customer"


def trust_customer_key(namespace: str, trust_id: int) -> str:
    return f"{namespace}-trust-{trust_id}-customer"


def invoice_create_key(namespace: str, invoice_id: int) -> str:
    return f"{namespace}-invoice-{invoice_id}-create"


def invoice_item_key(namespace: str, invoice_id: int, line_id: int) -> str:
    return f"{namespace}-invoice-{invoice_id}-item-{line_id}"


def invoice_finalize_key(namespace: str, invoice_id: int) -> str:
    return f"{namespace}-invoice-{invoice_id}-finalize"


def invoice_send_key(namespace: str, invoice_id: int) -> str:
    return f"{namespace}-invoice-{invoice_id}-send"


def credit_note_key(namespace: str, credit_note_id: int) -> str:
    return f"{namespace}-credit-note-{credit_note_id}-create"


def tax_rate_key(namespace: str, rate_bp: int) -> str:
    return f"{namespace}-tax-rate-vat-{rate_bp}"


def fee_pence(gross_pence: int, fee_bp: int) -> int:
    """The partnership's fee on work worth `gross_pence`, rounded half up (as the SQL does)."""
    return percent_of(gross_pence, fee_bp)
