"""Billing's pure rules: VAT to the penny, forward-only status, idempotency keys, the fee."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.billing import rules

STATUSES = list(rules.STATUS_RANK)


@pytest.mark.parametrize(
    ("net", "rate_bp", "vat"),
    [
        (10_000, 2000, 2_000),  # £100 at 20% = £20
        (1, 2000, 0),  # 0.2p rounds down
        (2, 2000, 0),  # 0.4p rounds down
        (3, 2000, 1),  # 0.6p rounds up
        (25, 2000, 5),  # exactly 5p
        (12_345, 2000, 2_469),  # 2,469.0p
        (12_346, 2000, 2_469),  # 2,469.2p
        (12_348, 2000, 2_470),  # 2,469.6p
        (7_777, 500, 389),  # 5% of 77.77 = 3.8885 -> 3.89
        (10, 250, 0),  # 2.5% of 10p = 0.25p
        (20, 250, 1),  # 0.5p rounds half up
        (99_999, 0, 0),  # exempt
    ],
)
def test_vat_is_worked_out_in_pence_rounded_half_up(net: int, rate_bp: int, vat: int) -> None:
    assert rules.vat_pence(net, rate_bp) == vat


@given(st.integers(0, 10**10), st.sampled_from([0, 500, 2000]))
def test_vat_matches_decimal_arithmetic_half_up(net: int, rate_bp: int) -> None:
    expected = (Decimal(net) * rate_bp / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert rules.vat_pence(net, rate_bp) == int(expected)


def test_vat_refuses_negative_amounts_and_impossible_rates() -> None:
    with pytest.raises(ValueError):
        rules.vat_pence(-1, 2000)
    with pytest.raises(ValueError):
        rules.vat_pence(100, 10_001)


def test_vat_is_rounded_per_line_then_summed() -> None:
    # Three lines of 0.6p VAT each: per line 1p each = 3p (one sum would give 2p).
    lines = [rules.line(1, 3, 2000) for _ in range(3)]
    total = rules.totals(lines)
    assert (total.net_pence, total.vat_pence, total.total_pence) == (9, 3, 12)


def test_a_line_is_quantity_times_unit_price() -> None:
    line = rules.line(12, 25_000, 2000)
    assert (line.amount_pence, line.vat_pence, line.total_pence) == (300_000, 60_000, 360_000)
    with pytest.raises(ValueError):
        rules.line(0, 100, 0)
    with pytest.raises(ValueError):
        rules.line(1, -1, 0)


@pytest.mark.parametrize(
    ("current", "proposed", "result"),
    [
        ("draft", "open", "open"),
        ("open", "paid", "paid"),
        ("open", "void", "void"),
        ("open", "uncollectible", "uncollectible"),
        ("uncollectible", "paid", "paid"),
        ("uncollectible", "void", "void"),
        ("paid", "open", "paid"),
        ("paid", "draft", "paid"),
        ("void", "open", "void"),
        ("paid", "void", "paid"),
        ("void", "paid", "void"),
        ("open", "draft", "open"),
        ("uncollectible", "open", "uncollectible"),
        ("open", "open", "open"),
    ],
)
def test_status_only_moves_forward(current: str, proposed: str, result: str) -> None:
    assert rules.advance(current, proposed) == result


@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=12))
def test_whatever_order_events_arrive_in_status_never_goes_back(events: list[str]) -> None:
    status = "draft"
    for proposed in events:
        after = rules.advance(status, proposed)
        assert rules.STATUS_RANK[after] >= rules.STATUS_RANK[status]
        if status in rules.FINAL_STATUSES:
            assert after == status
        status = after


def test_paid_wins_whatever_order_the_events_of_a_paid_invoice_arrive_in() -> None:
    for order in itertools.permutations(["draft", "open", "paid"]):
        status = "draft"
        for proposed in order:
            status = rules.advance(status, proposed)
        assert status == "paid"


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        rules.advance("open", "deleted")


def test_idempotency_keys_are_derived_from_our_ids_and_never_collide() -> None:
    ns = "pooled-1a2b3c4d"
    keys = {
        rules.customer_key(ns, 7),
        rules.invoice_create_key(ns, 7),
        rules.invoice_item_key(ns, 7, 12),
        rules.invoice_item_key(ns, 71, 2),
        rules.invoice_finalize_key(ns, 7),
        rules.invoice_send_key(ns, 7),
        rules.credit_note_key(ns, 7),
        rules.tax_rate_key(ns, 2000),
        rules.invoice_create_key("pooled-other", 7),
    }
    assert len(keys) == 9
    assert rules.invoice_create_key(ns, 7) == "pooled-1a2b3c4d-invoice-7-create"
    assert rules.invoice_item_key(ns, 7, 12) == "pooled-1a2b3c4d-invoice-7-item-12"
    assert rules.customer_key(ns, 3) == "pooled-1a2b3c4d-school-3-customer"
    # The same ids always give the same key: that is what makes a rerun replay, not repeat.
    assert rules.invoice_create_key(ns, 7) == rules.invoice_create_key(ns, 7)
    assert all(len(key) <= 255 for key in keys)


def test_a_credit_cannot_exceed_the_line_it_credits() -> None:
    credit = rules.credit_amounts(5_000, 10_000, 2000)
    assert (credit.amount_pence, credit.vat_pence, credit.total_pence) == (5_000, 1_000, 6_000)
    with pytest.raises(ValueError):
        rules.credit_amounts(10_001, 10_000, 2000)
    with pytest.raises(ValueError):
        rules.credit_amounts(0, 10_000, 2000)


@pytest.mark.parametrize(
    ("gross", "fee"), [(10_000, 500), (10, 1), (9, 0), (30, 2), (29, 1), (123_456, 6_173)]
)
def test_the_partnership_fee_is_five_percent_rounded_half_up(gross: int, fee: int) -> None:
    assert rules.fee_pence(gross, 500) == fee
