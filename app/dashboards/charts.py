"""Chart geometry for the charts drawn on the server as SVG: pure Python, no Flask.

`bar_chart` and `stacked_bar_chart` lay each row out (its label wrapped into lines, as SVG
text does not wrap by itself, then its bar), scale the bars to the largest value and write
every figure out; the macros `bar_chart` and `stacked_bar_chart` in
templates/macros/components.html only draw what they are given. Heights and positions are
CSS pixels; a bar's width and offset are percentages of the chart's width.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

LINE = 20  # one line of a label
BAR = 24  # a bar's height
GAP = 14  # between one row's bar and the next row's label
SERIES_COLOURS = 8  # series colours in the stylesheet (app-chart__series-1 … -8)
VALUE_INSIDE_FROM = 60  # a bar at least this wide (%) shows its figure inside it


def format_value(value: int | float, value_format: str | None = None) -> str:
    """A chart's figure. value_format: None (1,234), "pence" (pence shown as £1,234.56),
    "pounds" (pence shown as whole pounds, £1,235), "percent" (12.5%), or a str.format
    pattern such as "{:,} pupils"."""
    sign = "-" if value < 0 else ""
    if value_format == "pence":
        return f"{sign}£{abs(value) / 100:,.2f}"
    if value_format == "pounds":
        return f"{sign}£{abs(value) / 100:,.0f}"
    if value_format == "percent":
        return f"{value:,.1f}%"
    if value_format:
        return value_format.format(value)
    return f"{value:,}"


def chart_id(title: str, id: str | None = None) -> str:
    """The figure's id: the one given, or one made from the title ("chart-spend-by-…")."""
    if id:
        return id.strip()
    slug = title.lower()
    for old, new in ((" ", "-"), ("/", "-"), ("£", ""), (",", ""), ("(", ""), (")", ""), ("'", "")):
        slug = slug.replace(old, new)
    if len(slug) > 45:  # 40 characters, with a leeway of 5 before cutting
        slug = slug[:40]
    return ("chart-" + slug).strip()


@dataclass(frozen=True)
class Datum:
    """One bar's input: its label, its value, and the text to show for it if not the value."""

    label: str
    value: int | float
    display: str | None = None


@dataclass(frozen=True)
class LabelLine:
    text: str
    dy: int  # down from the line before


@dataclass(frozen=True)
class Row:
    """Where one row of a chart goes: its label's lines from label_y, then its bar at bar_y."""

    lines: tuple[LabelLine, ...]
    label_y: int
    bar_y: int
    value_y: int  # the baseline of a figure written on or beside the bar


def _layout(labels: Sequence[str], label_wrap: int) -> tuple[list[Row], int]:
    """Each row as tall as its label's lines plus its bar; and the chart's height."""
    rows = []
    height = 0
    for label in labels:
        # Jinja's wordwrap: each paragraph wrapped by itself, long words kept whole.
        wrapped = "\n".join(
            "\n".join(
                textwrap.wrap(
                    paragraph,
                    width=label_wrap,
                    expand_tabs=False,
                    replace_whitespace=False,
                    break_long_words=False,
                )
            )
            for paragraph in str(label).splitlines()
        ).split("\n")
        lines = tuple(LabelLine(text, 0 if n == 0 else LINE) for n, text in enumerate(wrapped))
        bar_y = height + len(lines) * LINE + 4
        rows.append(Row(lines, label_y=height + 16, bar_y=bar_y, value_y=bar_y + 17))
        height = bar_y + BAR + GAP
    return rows, height


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | float
    display: str
    row: Row
    width: float  # % of the chart; 0 draws no bar
    value_inside: bool  # the figure is written inside the bar's end, not after it


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: one bar a row, scaled to the largest value; a negative value
    draws no bar but keeps its figure."""

    title: str
    id: str
    bars: tuple[Bar, ...]
    height: int
    label_heading: str = "Item"
    value_heading: str = "Value"
    bar_height: int = BAR

    @property
    def highest(self) -> Bar | None:
        """The first of the largest (what the chart's description names)."""
        return max(self.bars, key=lambda bar: bar.value, default=None)

    @property
    def lowest(self) -> Bar | None:
        return min(self.bars, key=lambda bar: bar.value, default=None)


def bar_chart(
    title: str,
    data: Sequence[Datum],
    value_format: str | None = None,
    id: str | None = None,
    label_heading: str = "Item",
    value_heading: str = "Value",
    label_wrap: int = 36,
) -> BarChart:
    """Lay out a bar chart of `data`, in the order given; value_format as in format_value."""
    top: int | float = 0
    for datum in data:
        top = max(top, datum.value)
    rows, height = _layout([datum.label for datum in data], label_wrap)
    bars = []
    for datum, row in zip(data, rows, strict=True):
        width = round(datum.value / top * 100 if top > 0 and datum.value > 0 else 0, 2)
        display = datum.display
        if display is None:
            display = format_value(datum.value, value_format)
        bars.append(
            Bar(
                datum.label,
                datum.value,
                display,
                row,
                width=width,
                value_inside=width >= VALUE_INSIDE_FROM,
            )
        )
    return BarChart(title, chart_id(title, id), tuple(bars), height, label_heading, value_heading)


@dataclass(frozen=True)
class Series:
    name: str
    colour: int  # 1 … SERIES_COLOURS: the stylesheet's app-chart__series-N


@dataclass(frozen=True)
class Segment:
    series: Series
    display: str
    x: float  # % of the chart from its left
    width: float  # % of the chart


@dataclass(frozen=True)
class StackedBar:
    label: str
    row: Row
    displays: tuple[str, ...]  # one a series, in the series' order
    total_display: str
    segments: tuple[Segment, ...]  # the parts drawn: those above zero


@dataclass(frozen=True)
class StackedBarChart:
    """Several series a row (e.g. income by stream a year): each row's bar is its total, split
    into coloured parts and scaled to the largest total; negative parts count as zero."""

    title: str
    id: str
    series: tuple[Series, ...]
    bars: tuple[StackedBar, ...]
    height: int
    label_heading: str = "Year"
    bar_height: int = BAR


def stacked_bar_chart(
    title: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[int | float]]],
    value_format: str | None = None,
    id: str | None = None,
    label_heading: str = "Year",
    label_wrap: int = 36,
) -> StackedBarChart:
    """Lay out (label, one value a series) rows; value_format as in format_value."""
    keys = tuple(Series(name, n % SERIES_COLOURS + 1) for n, name in enumerate(series))
    parts = [[value if value > 0 else 0 for value in values] for _, values in rows]
    top: int | float = 0
    for positive in parts:
        top = max(top, sum(positive))
    placed, height = _layout([label for label, _ in rows], label_wrap)
    bars = []
    for (label, values), positive, row in zip(rows, parts, placed, strict=True):
        offset: int | float = 0
        segments = []
        for n, value in enumerate(positive):
            part = value / top * 100 if top > 0 else 0
            if part > 0:
                segments.append(
                    Segment(
                        keys[n],
                        format_value(values[n], value_format),
                        x=round(offset, 2),
                        width=round(part, 2),
                    )
                )
            offset = offset + part
        bars.append(
            StackedBar(
                label,
                row,
                tuple(format_value(value, value_format) for value in values),
                format_value(sum(positive), value_format),
                tuple(segments),
            )
        )
    return StackedBarChart(title, chart_id(title, id), keys, tuple(bars), height, label_heading)
