"""The order rules that need no database: which orders wait for the head."""

from __future__ import annotations

import pytest

from marketplace.orders import rules


@pytest.mark.parametrize(
    ("total_pence", "needs"),
    [(0, False), (249_999, False), (250_000, False), (250_001, True), (1_000_000, True)],
)
def test_only_an_order_over_the_approval_threshold_waits_for_the_head(total_pence, needs):
    assert rules.needs_approval(total_pence, 250_000) is needs
