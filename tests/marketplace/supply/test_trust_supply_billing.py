"""Supply cover for a trust invoiced once: its schools' approved timesheets and cancellation
fees go on the trust's one invoice (several timesheets on one invoice), each billed once."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.extensions import db
from marketplace.billing import invoicing
from marketplace.billing.models import Invoice
from marketplace.supply import cover, timesheets
from marketplace.supply.rules import RateUnit
from tests.marketplace.supply.conftest import NOW, book, post
from tests.marketplace.supply.test_timesheets import submit

DAY = RateUnit.DAY


def test_a_trusts_timesheets_and_fees_are_billed_once_on_its_one_invoice(supply):
    world = supply.world
    world.trust.invoice_once = True
    db.session.commit()
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 25)))
    first = submit(supply, booking, date(2026, 9, 14), [DAY, DAY])
    second = submit(supply, booking, date(2026, 9, 21), [DAY])
    for sheet in (first, second):
        timesheets.approve(sheet.id, world.school_a.id, None)
    late = book(supply, post(supply, starts_on=date(2026, 9, 8)))
    cover.cancel_booking(late.id, world.school_a.id, None, now=NOW + timedelta(hours=20))

    invoicing.plan(date(2026, 9, 28), issue_here=True)
    invoicing.plan(date(2026, 9, 29), issue_here=True)

    [invoice] = db.session.scalars(sa.select(Invoice).where(Invoice.trust_id == world.trust.id))
    assert invoice.school_id is None
    assert invoice.billing_key == f"trust-{world.trust.id}-on-2026-09-28-1"
    assert all(line.school_id == world.school_a.id for line in invoice.lines)
    assert all(line.description.startswith("Alpha Primary School: ") for line in invoice.lines)
    assert invoice.net_pence == 3 * 23_812 + 23_812  # three days, and the late fee
    for row in (first, second, late):
        db.session.refresh(row)
    assert first.invoice_id == second.invoice_id == invoice.id
    assert late.cancellation_invoice_id == invoice.id
    # Nothing of the trust's school was billed on a school invoice of its own.
    assert not db.session.scalars(
        sa.select(Invoice).where(Invoice.billing_key.like("supply-%"))
    ).all()
