"""Invoices on the dashboards: the year's by kind and a school's still to pay."""

from __future__ import annotations

from datetime import timedelta

from app.dashboards.billing import billing_summary, invoices_due
from app.extensions import db
from app.time import london_today
from marketplace.billing.models import Invoice, InvoiceKind, InvoiceStatus


def test_invoices_due_overdue_first_and_paid_ones_left_out(market):
    today = london_today()
    common = {
        "school_id": market.school_a.id,
        "kind": InvoiceKind.MEMBERSHIP,
        "title": "Membership",
    }
    db.session.add_all(
        [
            Invoice(**common, period="a", billing_key="k1", status=InvoiceStatus.OPEN,
                    net_pence=10_000, total_pence=10_000, credited_pence=2_000,
                    due_on=today - timedelta(1), number="INV-1"),
            Invoice(**common, period="b", billing_key="k2", status=InvoiceStatus.OPEN,
                    net_pence=5_000, total_pence=5_000, due_on=today + timedelta(9),
                    number="INV-2"),
            Invoice(**common, period="c", billing_key="k3", status=InvoiceStatus.PAID,
                    net_pence=7_000, total_pence=7_000, amount_paid_pence=7_000,
                    due_on=today),
        ]
    )  # fmt: skip
    db.session.commit()
    table = invoices_due(market.school_a.id, today)
    assert [(r[0], r[3], r[4]) for r in table.rows] == [
        ("INV-1", 8_000, "Overdue"),
        ("INV-2", 5_000, "To pay"),
    ]
    assert invoices_due(market.school_b.id, today).rows == ()


def test_the_years_invoices_billed_paid_still_to_pay_and_overdue(market, year):
    today = london_today()
    y = year.start_year
    common = {"school_id": market.school_a.id, "title": "Fees"}
    db.session.add_all(
        [
            Invoice(**common, kind=InvoiceKind.MEMBERSHIP, period=year.label, billing_key="m1",
                    status=InvoiceStatus.OPEN, net_pence=10_000, total_pence=10_000,
                    credited_pence=2_000, amount_paid_pence=1_000,
                    due_on=today - timedelta(1)),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-autumn", billing_key="o1",
                    status=InvoiceStatus.PAID, net_pence=5_000, vat_pence=1_000, total_pence=6_000,
                    amount_paid_pence=6_000, due_on=today),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-spring", billing_key="o2",
                    status=InvoiceStatus.OPEN, net_pence=3_000, total_pence=3_000,
                    due_on=today + timedelta(30)),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-summer", billing_key="o3",
                    status=InvoiceStatus.DRAFT, net_pence=9_000, total_pence=9_000),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y}-summer", billing_key="o4",
                    status=InvoiceStatus.VOID, net_pence=9_000, total_pence=9_000),
            Invoice(**common, kind=InvoiceKind.ORDER, period=f"{y + 1}-autumn", billing_key="o5",
                    status=InvoiceStatus.OPEN, net_pence=7_000, total_pence=7_000),
        ]
    )  # fmt: skip
    db.session.commit()
    assert billing_summary(year, today).rows == (
        ("Membership", 1, 8_000, 1_000, 7_000, 7_000),
        ("Traded service", 2, 9_000, 6_000, 3_000, 0),
    )
