"""The demo's supply managed service: three agencies and a rate card, vetted workers (one
lapsed), a term of cover billed, AWR parity on a long assignment, five open vacancies."""

import sqlalchemy as sa

from app.demo.supply import LAPSED
from app.extensions import db
from app.time import london_today
from marketplace.billing.models import Invoice
from marketplace.supply import setup, vacancies
from marketplace.supply.models import (
    Booking,
    BookingStatus,
    CoverRequest,
    RequestStatus,
    SupplyAgency,
    SupplyRate,
    SupplyWorker,
    Timesheet,
    TimesheetLine,
    TimesheetStatus,
)
from tests.pdf_text import pdf_text


def test_the_demo_runs_the_managed_service(runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    today = london_today()
    assert db.session.scalar(sa.select(sa.func.count(SupplyAgency.id))) == 3
    rates = list(db.session.scalars(sa.select(SupplyRate)))
    assert len(rates) == 3 * 5 * 2
    assert all(r.charge_pence == r.parts.charge_pence for r in rates)
    workers = list(db.session.scalars(sa.select(SupplyWorker)))
    blocked = [w.name for w in workers if setup.vetting_problems(w, today)]
    assert blocked == [LAPSED]
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Booking.id)).where(Booking.status == BookingStatus.CONFIRMED)
        )
        >= 10
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Booking.id)).where(Booking.cancellation_fee_pence > 0)
        )
        >= 1
    )
    open_requests = db.session.scalars(
        sa.select(CoverRequest).where(CoverRequest.status == RequestStatus.OPEN)
    )
    assert any(r.starts_on < today for r in open_requests)  # one nobody filled in time
    approved = db.session.scalar(
        sa.select(sa.func.count(Timesheet.id)).where(Timesheet.status == TimesheetStatus.APPROVED)
    )
    billed = db.session.scalar(
        sa.select(sa.func.count(Timesheet.id)).where(Timesheet.invoice_id.is_not(None))
    )
    assert approved >= 20 and billed == approved
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Invoice.id)).where(Invoice.billing_key.like("supply-%"))
        )
        > approved
    )
    parity = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Timesheet.booking_id)))
        .join(TimesheetLine)
        .where(TimesheetLine.at_parity.is_(True))
    )
    assert parity == 1
    board = vacancies.open_vacancies(today)
    assert len(board) == 5
    [pack] = [f for v in board for f in v.files]  # one posted with its job description
    assert pack.filename == "Job description.pdf" and pack.content.startswith(b"%PDF-")
    assert board[0].title in pdf_text(pack.content)
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(SupplyAgency.id))) == 3
