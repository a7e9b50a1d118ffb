"""A table's CSV holds the same figures as the table."""

from __future__ import annotations

import csv
import io

from app.dashboards.spend import income_by_stream
from tests.app.dashboards.support import booked


def test_the_csv_holds_the_same_figures_as_the_table(market, year):
    booked(market, quantity=5)
    table = income_by_stream([year])
    rows = list(csv.reader(io.StringIO(table.csv_text())))
    assert rows[0] == [
        "Academic year", "Subscriptions (£)", "Traded-service fees (£)", "Council match (£)",
        "Grants (£)", "Total (£)", "Gross traded value (£)",
    ]  # fmt: skip
    assert rows[1] == [
        year.label, "16700.00", "62.50", "8350.00", "0.00", "25112.50", "1250.00"
    ]  # fmt: skip
