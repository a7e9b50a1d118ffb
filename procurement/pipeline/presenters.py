"""The pipeline's chart, laid out here so the template only draws: one bar per month of the
18-month window, as tall as the value of the contracts ending that month.

Pure: the standard library and `app.money` only. (The dashboards' horizontal `bar_chart` lives
in the composition layer, which procurement may not import; a month axis reads better as
columns anyway.)
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass

from app.money import format_pence

WIDTH = 720
HEIGHT = 240
TOP = 24  # room for the figure above the tallest bar
BOTTOM = 44  # room for the month and year labels
LEFT = 8
GAP = 0.25  # of a slot left empty between bars


@dataclass(frozen=True)
class MonthBar:
    label: str  # "Mar"
    year: str  # "2027", written under January and the first month only
    full_label: str  # "March 2027"
    value_pence: int
    value_text: str
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    year_y: float


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    baseline_y: float
    bars: tuple[MonthBar, ...]
    total_pence: int

    @property
    def highest(self) -> MonthBar | None:
        return max(self.bars, key=lambda bar: bar.value_pence, default=None)


def month_chart(months: Sequence[tuple[int, int, int]]) -> MonthChart:
    """(year, month, pence) per month, in order → columns scaled to the largest month."""
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = HEIGHT - BOTTOM
    slot = (WIDTH - 2 * LEFT) / max(len(months), 1)
    largest = max((value for _, _, value in months), default=0)
    bars = []
    for index, (year, month, value) in enumerate(months):
        height = round(plot_height * value / largest, 1) if largest else 0.0
        if value and height < 1:
            height = 1.0  # a month with contracts ending is never invisible
        x = round(LEFT + index * slot + slot * GAP / 2, 1)
        width = round(slot * (1 - GAP), 1)
        bars.append(
            MonthBar(
                label=calendar.month_abbr[month],
                year=str(year) if index == 0 or month == 1 else "",
                full_label=f"{calendar.month_name[month]} {year}",
                value_pence=value,
                value_text=format_pence(value, show_pence=False),
                x=x,
                y=round(baseline - height, 1),
                width=width,
                height=height,
                label_x=round(x + width / 2, 1),
                label_y=baseline + 18,
                year_y=baseline + 36,
            )
        )
    return MonthChart(
        width=WIDTH,
        height=HEIGHT,
        baseline_y=baseline,
        bars=tuple(bars),
        total_pence=sum(value for _, _, value in months),
    )
