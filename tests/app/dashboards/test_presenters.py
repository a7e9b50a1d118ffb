"""Headline figures and charts come from the tables by their column headings."""

from __future__ import annotations

from datetime import date

from app.calendar import AcademicYear
from app.dashboards import presenters
from app.dashboards.table import COUNT, DATE, MONEY, PERCENT, Column, Table

YEAR = AcademicYear(2026)


def table(name: str, columns: list[tuple[str, str]], *rows: tuple, **extra) -> Table:
    return Table(name, name, tuple(Column(h, k) for h, k in columns), tuple(rows), extra=extra)


def savings(name: str, *saved: int) -> Table:
    columns = [("Buying round", "text"), ("Saved", MONEY)]
    return table(name, columns, *((f"Round {n}", s) for n, s in enumerate(saved)))


def test_a_schools_headline_adds_up_what_is_left_to_pay_and_what_is_overdue():
    invoices = table(
        "invoices-due",
        [("Invoice", "text"), ("For", "text"), ("Due by", DATE), ("Left to pay", MONEY),
         ("Status", "text")],
        ("INV-1", "Membership", date(2026, 9, 1), 8_000, "Overdue"),
        ("INV-2", "Counselling", date(2026, 12, 1), 5_000, "To pay"),
        ("INV-3", "Payroll", date(2026, 8, 1), 1_500, "Overdue"),
    )  # fmt: skip
    tables = {
        "spend-by-service": table("s", [("Service", "text"), ("Spend", MONEY)], ("A", 700)),
        "round-savings": savings("round-savings", 20, 30),
        "invoices-due": invoices,
        "deadlines": table("d", [("Date", DATE)], (date(2026, 10, 1),), (date(2026, 11, 1),)),
    }
    assert presenters.school_headline(tables) == presenters.SchoolHeadline(
        spent_pence=700, saved_pence=50, due_pence=14_500, overdue_pence=9_500, deadlines=2
    )


def test_a_providers_headline_shares_the_units_ordered_of_those_offered_over_the_year():
    columns = [("Provider", "text")]
    for term in ("Autumn", "Spring", "Summer"):
        columns += [(f"{term} ordered", COUNT), (f"{term} offered", COUNT)]
    capacity = table("capacity-use", [*columns, ("Used in the year", PERCENT)],
                     ("A", 20, 100, 0, 100, 10, 100, 10.0))  # fmt: skip
    tables = {
        "capacity-use": capacity,
        "orders-by-status": table("o", [("Status", "text"), ("Orders", COUNT)], ("x", 3), ("y", 4)),
        "owed": table("w", [("Term", "text"), ("Owed to you", MONEY)], ("Autumn", 9_500)),
        "contracts": table("c", [("Reference", "text")], ("C-1",)),
    }
    assert presenters.provider_headline(tables, YEAR) == presenters.ProviderHeadline(
        orders=7, capacity_used_percent=10.0, owed_pence=9_500, contracts=1
    )
    chart = presenters.capacity_by_term(capacity, YEAR)
    assert [(bar.label, bar.value, bar.display) for bar in chart.bars] == [
        (term.label, used, f"{used:.1f}%")
        for term, used in zip(YEAR.terms(), (20.0, 0.0, 10.0), strict=True)
    ]
    assert presenters.capacity_by_term(table("capacity-use", columns), YEAR).bars == ()


def test_the_partnerships_headline_takes_this_years_income_and_the_engaged_schools():
    income = table(
        "income-by-stream",
        [("Academic year", "text"), *((s, MONEY) for s in presenters.INCOME_STREAMS),
         ("Total", MONEY), ("Gross traded value", MONEY)],
        ("2025/26", 1, 2, 3, 4, 10, 40),
        (YEAR.label, 10, 20, 30, 40, 100, 400),
    )  # fmt: skip
    engagement = table(
        "engagement",
        [("Member schools who", "text"), ("Schools", COUNT), ("Share", PERCENT)],
        ("Ordered a service", 3, 30.0),
        ("Pledged into a buying round", 2, 20.0),
        ("Ordered or pledged", 4, 40.0),
        members=10,
    )
    tender_columns = [("Tender lot", "text"), ("At the awarded price", MONEY), ("Saved", MONEY)]
    tables = {
        "income-by-stream": income,
        "round-savings": savings("round-savings", 100, 50),
        "tender-savings": table("tender-savings", tender_columns, ("Lot 1", 900, 70)),
        "engagement": engagement,
        "expiring-contracts": table("e", [("Reference", "text")], ("C-1",), ("C-2",)),
    }
    assert presenters.partnership_headline(tables, YEAR) == presenters.PartnershipHeadline(
        income_pence=100,
        traded_gross_pence=400,  # beside the income, never in it
        saved_pence=150 + 70,  # what rounds and tenders saved, never an awarded price
        engaged_schools=4,
        engaged_percent=40.0,
        members=10,
        contracts_ending=2,
    )
    tables["income-by-stream"] = table("income-by-stream", [("Academic year", "text")])
    assert presenters.partnership_headline(tables, YEAR).income_pence == 0


def test_a_tables_chart_draws_the_named_column_against_the_first():
    chart = presenters.table_chart(savings("round-savings", 300, 0), "Saved")
    assert chart.id == "round-savings-chart"
    assert (chart.label_heading, chart.value_heading) == ("Buying round", "Saved")
    assert [(bar.label, bar.display) for bar in chart.bars] == [
        ("Round 0", "£3"),
        ("Round 1", "£0"),
    ]
