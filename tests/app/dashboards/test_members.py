"""Member schools' engagement."""

from __future__ import annotations

from app.dashboards.members import engagement
from tests.app.dashboards.support import booked
from tests.marketplace.conftest import draft


def test_engagement_counts_member_schools_that_sent_an_order_or_pledged(market, year):
    draft(market)  # a draft does not count
    assert engagement(year).rows[2][1:] == (0, 0.0)
    booked(market)
    table = engagement(year)
    assert table.extra["members"] == 2
    assert table.rows == (
        ("Ordered a service", 1, 50.0),
        ("Pledged into a buying round", 0, 0.0),
        ("Ordered or pledged", 1, 50.0),
    )
