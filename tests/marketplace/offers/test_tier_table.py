"""The one tier-price table (macros/components.html `tier_table`): offers, service pages,
orders, tender bids, contracts and buying rounds word volume tiers the same way."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.marketplace.html import row_cells, text


def tiers(*bands: tuple[int, int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(min_quantity=q, unit_price_pence=p) for q, p in bands]


@pytest.fixture
def render(app):
    def render(source: str, **context: object) -> str:
        template = app.jinja_env.from_string(
            '{% from "macros/components.html" import tier_table %}' + source
        )
        with app.test_request_context():
            return template.render(**context)

    return render


def test_each_band_reads_as_a_range_of_quantities_and_its_price(render):
    page = render("{{ tier_table(tiers, 'day') }}", tiers=tiers((1, 25_000), (20, 23_000)))
    assert row_cells(page, "Quantity") == ["Quantity", "Price per day"]
    assert row_cells(page, "1 to 19 days") == ["1 to 19 days", "£250.00"]
    assert row_cells(page, "20 or more days") == ["20 or more days", "£230.00"]


def test_a_first_band_from_0_starts_at_1_and_bands_are_put_in_order(render):
    page = render(
        "{{ tier_table(tiers, 'session') }}",
        tiers=tiers((300, 21_983), (0, 24_000), (2, 23_000)),
    )
    assert row_cells(page, "1 session")[1] == "£240.00"
    assert row_cells(page, "2 to 299 sessions")[1] == "£230.00"
    assert row_cells(page, "300 or more sessions")[1] == "£219.83"


def test_inline_the_same_bands_fit_one_table_cell(render):
    line = render(
        "{{ tier_table(tiers, 'day', inline=True) }}", tiers=tiers((1, 25_000), (20, 23_000))
    )
    assert "<table" not in line
    assert text(line) == "1 to 19 days: £250.00 per day · 20 or more days: £230.00 per day"
