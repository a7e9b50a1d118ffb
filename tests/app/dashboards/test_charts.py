"""Chart geometry, worked out in Python; the macros draw exactly what it says."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.dashboards.charts import (
    BAR,
    GAP,
    LINE,
    Datum,
    bar_chart,
    chart_id,
    format_value,
    stacked_bar_chart,
)
from app.money import format_pence

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


@pytest.mark.parametrize(
    ("value", "value_format", "shown"),
    [
        (123_456, None, "123,456"),
        (123_456, "pence", "£1,234.56"),
        (-5_025, "pence", "-£50.25"),
        (123_456, "pounds", "£1,235"),
        (-123_456, "pounds", "-£1,235"),
        (12.25, "percent", "12.2%"),
        (40, "{:,} pupils", "40 pupils"),
    ],
)
def test_a_figure_is_written_in_its_format(value, value_format, shown):
    assert format_value(value, value_format) == shown


def test_a_chart_without_an_id_takes_one_from_its_title():
    assert chart_id("Spend by category, 2025/26") == "chart-spend-by-category-2025-26"
    assert chart_id("Anything", id=" spend ") == "spend"
    long = "A title far too long to make an element id out of in full"
    assert chart_id(long) == "chart-" + "a-title-far-too-long-to-make-an-element-"


def test_bars_are_scaled_to_the_largest_value_and_a_negative_one_draws_no_bar():
    chart = bar_chart(
        "Saved",
        [Datum("Round A", 200), Datum("Round B", 50), Datum("Round C", -10)],
        value_format="pence",
    )
    assert [bar.width for bar in chart.bars] == [100.0, 25.0, 0]
    assert [bar.display for bar in chart.bars] == ["£2.00", "£0.50", "-£0.10"]
    assert [bar.value_inside for bar in chart.bars] == [True, False, False]
    assert (chart.highest.label, chart.lowest.label) == ("Round A", "Round C")


def test_a_long_label_wraps_and_makes_its_row_taller():
    chart = bar_chart(
        "Spend",
        [Datum("Catering equipment maintenance and deep cleaning", 1), Datum("Payroll", 2)],
        label_wrap=20,
    )
    first, second = (bar.row for bar in chart.bars)
    assert [line.text for line in first.lines] == [
        "Catering equipment",
        "maintenance and deep",
        "cleaning",
    ]
    assert [line.dy for line in first.lines] == [0, LINE, LINE]
    assert (first.label_y, first.bar_y, first.value_y) == (16, 3 * LINE + 4, 3 * LINE + 21)
    assert second.label_y == first.bar_y + BAR + GAP + 16
    assert chart.height == second.bar_y + BAR + GAP


def test_an_empty_chart_has_no_bars_and_no_height():
    chart = bar_chart("Nothing yet", [])
    assert (chart.bars, chart.height, chart.highest, chart.lowest) == ((), 0, None, None)


def test_a_stacked_bar_splits_its_total_and_negative_parts_count_as_nothing():
    chart = stacked_bar_chart(
        "Income",
        ["Subscriptions", "Traded", "Match"],
        [("2025/26", [300, 100, 0]), ("2026/27", [100, -50, 100])],
    )
    first, second = chart.bars
    assert [(s.series.name, s.x, s.width) for s in first.segments] == [
        ("Subscriptions", 0, 75.0),
        ("Traded", 75.0, 25.0),
    ]
    assert [(s.series.name, s.x, s.width) for s in second.segments] == [
        ("Subscriptions", 0, 25.0),
        ("Match", 25.0, 25.0),
    ]
    assert second.displays == ("100", "-50", "100") and second.total_display == "200"


def test_series_colours_go_round_after_eight():
    chart = stacked_bar_chart("Many", [f"S{n}" for n in range(10)], [("Row", [1] * 10)])
    assert [s.colour for s in chart.series] == [1, 2, 3, 4, 5, 6, 7, 8, 1, 2]


def macro(name: str):
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    env.undefined = StrictUndefined
    env.filters["money"] = format_pence  # other macros in the file use the app's filters
    env.filters["money0"] = lambda pence: format_pence(pence, show_pence=False)
    return getattr(env.get_template("macros/components.html").module, name)


def test_the_bar_chart_macro_draws_the_laid_out_bars():
    chart = bar_chart("Spend", [Datum("A & B", 300), Datum("C", 100)], "pounds", id="spend")
    html = str(macro("bar_chart")(chart))
    assert 'id="spend"' in html and f'height="{chart.height}"' in html
    assert '<rect class="app-chart__bar" x="0" y="24" width="100.0%" height="24"/>' in html
    assert 'x="33.33%" dx="8" y="103">£1</text>' in html
    assert "Highest: A &amp; B, £3. Lowest: C, £1." in html


def test_the_stacked_bar_chart_macro_draws_the_laid_out_segments():
    chart = stacked_bar_chart("Income", ["Subs", "Grants"], [("2025/26", [300, 100])], "pounds")
    html = str(macro("stacked_bar_chart")(chart))
    assert 'x="75.0%" y="24" width="25.0%" height="24"><title>Grants: £1</title>' in html
    assert "each split into Subs, Grants" in html and 'id="chart-income"' in html
