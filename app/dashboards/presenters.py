"""What each dashboard shows beside its tables: the headline figures and the charts.

Worked out here from the page's tables, by their column headings, so the templates only
write them out: a headline is a small dataclass of named figures, a chart is laid out by
app.dashboards.charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from app.calendar import AcademicYear
from app.dashboards import charts
from app.dashboards.billing import OVERDUE
from app.dashboards.members import ENGAGED
from app.dashboards.supply import term_headings
from app.dashboards.table import COUNT, DATE, MONEY, PERCENT, Table, share
from app.money import format_pence
from app.time import format_date

Tables = Mapping[str, Table]
Chart = charts.BarChart | charts.StackedBarChart


def table_chart(table: Table, heading: str, value_format: str | None = "pounds") -> charts.BarChart:
    """A bar chart of one column of a table against its first column."""
    label_heading = table.columns[0].heading
    return charts.bar_chart(
        table.title,
        [charts.Datum(r[label_heading], r[heading] or 0) for r in table.records()],
        value_format=value_format,
        id=f"{table.name}-chart",
        label_heading=label_heading,
        value_heading=heading,
    )


NUMERIC_KINDS = frozenset({MONEY, COUNT, PERCENT})


def cell_text(value: Any, kind: str) -> str:
    """A table's figure as the page shows it: money as £1,234.50, counts with commas,
    percentages to one decimal place, dates as "1 September 2026", a blank as an em dash."""
    if value is None:
        return "—"
    if kind == MONEY:
        return format_pence(value)
    if kind == COUNT:
        return f"{value:,}"
    if kind == PERCENT:
        return f"{value:,.1f}%"
    if kind == DATE:
        return format_date(value)
    return value if isinstance(value, str) else str(value)  # Markup stays Markup


def table_body(table: Table) -> Markup:
    """The rows of a dashboard table as HTML: the first cell of each row is its heading, figures
    are right-aligned. Python rather than a macro call per cell (issue 19)."""
    starts = []
    for index, column in enumerate(table.columns):
        if index == 0:
            starts.append('<th scope="row" class="govuk-table__header">')
        elif column.kind in NUMERIC_KINDS:
            starts.append('<td class="govuk-table__cell govuk-table__cell--numeric">')
        else:
            starts.append('<td class="govuk-table__cell">')
    ends = ["</th>"] + ["</td>"] * (len(table.columns) - 1)
    kinds = [column.kind for column in table.columns]
    parts = []
    for row in table.rows:
        parts.append('\n      <tr class="govuk-table__row">')
        for start, value, kind, end in zip(starts, row, kinds, ends, strict=False):
            parts.append(f"\n        {start}{escape(cell_text(value, kind))}{end}")
        parts.append("\n      </tr>")
    return Markup("".join(parts))  # noqa: S704 - every value in it went through escape()


# The partnership ---------------------------------------------------------------------------

INCOME_STREAMS = ("Subscriptions", "Traded-service fees", "Council match", "Grants")


@dataclass(frozen=True)
class PartnershipHeadline:
    income_pence: int  # the year's income from every stream (traded services: the fee only)
    traded_gross_pence: int  # what traded orders and call-offs are worth (not income)
    saved_pence: int  # by buying rounds and tenders, against buying alone
    engaged_schools: int  # member schools that ordered or pledged
    engaged_percent: float
    members: int  # member schools in the year
    contracts_ending: int  # in the next twelve months


def partnership_headline(tables: Tables, year: AcademicYear) -> PartnershipHeadline:
    income = tables["income-by-stream"].record(year.label)
    engaged = tables["engagement"].record(ENGAGED)
    assert engaged is not None  # the engagement table always has its three rows
    return PartnershipHeadline(
        income_pence=income["Total"] if income else 0,
        traded_gross_pence=income.get("Gross traded value", 0) if income else 0,
        saved_pence=tables["round-savings"].total("Saved")
        + tables["tender-savings"].total("Saved"),
        engaged_schools=engaged["Schools"],
        engaged_percent=engaged["Share"],
        members=tables["engagement"].extra["members"],
        contracts_ending=len(tables["expiring-contracts"].rows),
    )


def partnership_charts(tables: Tables) -> dict[str, Chart]:
    income = tables["income-by-stream"]
    return {
        "income-by-stream": charts.stacked_bar_chart(
            "Income by stream",
            INCOME_STREAMS,
            [(r["Academic year"], [r[s] for s in INCOME_STREAMS]) for r in income.records()],
            value_format="pounds",
            id="income-by-stream-chart",
        ),
        "billing": table_chart(tables["billing"], "Billed"),
        "spend-by-category": table_chart(tables["spend-by-category"], "Spend"),
        "round-savings": table_chart(tables["round-savings"], "Saved"),
        "tender-savings": table_chart(tables["tender-savings"], "Saved"),
        "engagement": table_chart(tables["engagement"], "Share", "percent"),
        "supply-spend-by-school": table_chart(tables["supply-spend-by-school"], "Spend"),
        "supply-spend-by-role": table_chart(tables["supply-spend-by-role"], "Spend"),
        "supply-spend-by-agency": table_chart(tables["supply-spend-by-agency"], "Spend"),
        "supply-fee-share": table_chart(tables["supply-spend-by-agency"], "Fee share", "percent"),
    }


# A school ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolHeadline:
    spent_pence: int  # booked orders and call-offs in the year
    saved_pence: int  # by buying rounds, against buying alone
    due_pence: int  # left to pay on issued invoices
    overdue_pence: int  # of which past its due date
    deadlines: int  # coming up


def school_headline(tables: Tables) -> SchoolHeadline:
    invoices = tables["invoices-due"]
    return SchoolHeadline(
        spent_pence=tables["spend-by-service"].total("Spend"),
        saved_pence=tables["round-savings"].total("Saved"),
        due_pence=invoices.total("Left to pay"),
        overdue_pence=sum(r["Left to pay"] for r in invoices.records() if r["Status"] == OVERDUE),
        deadlines=len(tables["deadlines"].rows),
    )


def school_charts(tables: Tables) -> dict[str, Chart]:
    return {
        "spend-by-service": table_chart(tables["spend-by-service"], "Spend"),
        "round-savings": table_chart(tables["round-savings"], "Saved"),
        "entitlements": table_chart(tables["entitlements"], "Left", None),
        "supply-spend-by-role": table_chart(tables["supply-spend-by-role"], "Spend"),
    }


# A provider --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderHeadline:
    orders: int  # sent by schools for the year's terms
    capacity_used_percent: float  # of the units the provider's offers put up in the year
    owed_pence: int  # delivered work less the partnership's fee
    contracts: int


def provider_headline(tables: Tables, year: AcademicYear) -> ProviderHeadline:
    capacity = tables["capacity-use"]
    ordered = offered = 0
    for term in year.terms():
        ordered_heading, offered_heading = term_headings(term)
        ordered += capacity.total(ordered_heading)
        offered += capacity.total(offered_heading)
    return ProviderHeadline(
        orders=tables["orders-by-status"].total("Orders"),
        capacity_used_percent=share(ordered, offered),
        owed_pence=tables["owed"].total("Owed to you"),
        contracts=len(tables["contracts"].rows),
    )


def capacity_by_term(capacity: Table, year: AcademicYear) -> charts.BarChart:
    """Units ordered as a share of the units offered, term by term (no bars without offers)."""
    data = []
    if capacity.rows:
        for term in year.terms():
            ordered_heading, offered_heading = term_headings(term)
            used = share(capacity.total(ordered_heading), capacity.total(offered_heading))
            data.append(charts.Datum(term.label, used))
    return charts.bar_chart(
        f"Capacity used per term, {year.label}",
        data,
        value_format="percent",
        id="capacity-use-chart",
        label_heading="Term",
        value_heading="Used",
    )


def provider_charts(tables: Tables, year: AcademicYear) -> dict[str, Chart]:
    return {
        "orders-by-status": table_chart(tables["orders-by-status"], "Orders", None),
        "capacity-use": capacity_by_term(tables["capacity-use"], year),
        "owed": table_chart(tables["owed"], "Owed to you"),
    }
