"""Supply pages: a booking, its timesheets and AWR weeks, cancelling it, the agency's workers,
and hiring a worker permanently (temp-to-perm)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, field_errors, filled, submit
from app.models import Role
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.blueprint import bp
from marketplace.ratings.services import rated_timesheet_ids
from marketplace.supply import access, cover, hires, setup, timesheets, vacancies
from marketplace.supply.forms import (
    WEEKDAYS,
    CheckForm,
    HireForm,
    QueryForm,
    TimesheetForm,
    WorkerForm,
)
from marketplace.supply.models import Booking, BookingStatus
from marketplace.supply.rules import CheckKind, RateUnit, SupplyRole
from marketplace.supply.views.common import SCHOOL, viewer


def _booking(booking_id: int) -> Booking:
    who = viewer()
    if who.school_id is not None:
        return access.get_booking_for_school(booking_id, who.school_id)
    if who.agency_id is not None:
        return access.get_booking_for_agency(booking_id, who.agency_id)
    abort(404)


def _booking_page(
    booking_id: int, *, timesheet_form: Any = None, status: int = 200
) -> tuple[str, int]:
    booking = _booking(booking_id)
    today = london_today()
    sheets = access.booking_timesheets(booking.id)
    return (
        render_template(
            "marketplace/supply/booking.html",
            booking=booking,
            who=viewer(),
            quote=cover.quote(booking.proposal),
            awr=timesheets.awr_status(booking, today),
            sheets=sheets,
            overdue={s.id: timesheets.overdue(s, today) for s in sheets},
            rated=rated_timesheet_ids(s.id for s in sheets),
            fee_now=cover.cancellation_fee_for(booking, utcnow())
            if booking.status is BookingStatus.CONFIRMED
            else 0,
            timesheet_form=timesheet_form or TimesheetForm(),
            weekdays=WEEKDAYS,
            action_form=ActionForm(),
            query_form=QueryForm(),
            preferred=booking.worker_id in access.preferred_worker_ids(booking.school_id),
        ),
        status,
    )


@bp.route("/supply/bookings/<int:booking_id>", endpoint="supply_booking")
@roles_required(*SCHOOL, Role.PROVIDER)
def supply_booking(booking_id: int):
    """A booking: the worker, the rate in parts, AWR weeks and the weekly timesheets."""
    return _booking_page(booking_id)


@bp.route(
    "/supply/bookings/<int:booking_id>/cancel", methods=["POST"], endpoint="supply_booking_cancel"
)
@roles_required(Role.SBM)
def supply_booking_cancel(booking_id: int):
    """Cancel a booking under the contract's rule (the fee was shown on the page)."""
    form = ActionForm()
    done = submit(
        form, lambda: cover.cancel_booking(booking_id, current_user.school_id, current_user)
    )
    if done.done:
        fee = done.value.cancellation_fee_pence
        flash(
            "Booking cancelled"
            + (f": a fee of £{fee / 100:,.2f} is due." if fee else ", free of charge."),
            "success",
        )
    else:
        flash("This booking could not be cancelled.", "error")
    return redirect(url_for("marketplace.supply_booking", booking_id=booking_id))


@bp.route(
    "/supply/bookings/<int:booking_id>/timesheets",
    methods=["POST"],
    endpoint="supply_timesheet_submit",
)
@roles_required(Role.PROVIDER)
def supply_timesheet_submit(booking_id: int):
    """The agency submits a week's days and half days."""
    form = TimesheetForm()
    if form.validate_on_submit():
        monday = filled(form.week_starting.data)
        days = {
            monday + timedelta(days=n): RateUnit(getattr(form, name).data)
            for n, name in enumerate(WEEKDAYS)
            if getattr(form, name).data
        }
        try:
            timesheets.submit(booking_id, current_user.provider_id, monday, days, current_user)
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field if exc.field != "days" else None, exc.message)
            return _booking_page(booking_id, timesheet_form=form, status=status)
        flash("Timesheet submitted to the school.", "success")
        return redirect(url_for("marketplace.supply_booking", booking_id=booking_id))
    return _booking_page(booking_id, timesheet_form=form, status=400)


@bp.route(
    "/supply/timesheets/<int:timesheet_id>/approve",
    methods=["POST"],
    endpoint="supply_timesheet_approve",
)
@roles_required(*SCHOOL)
def supply_timesheet_approve(timesheet_id: int):
    """The school approves a week: it is billed by the next billing run."""
    sheet = access.get_timesheet_for_school(timesheet_id, current_user.school_id)
    done = submit(
        ActionForm(), lambda: timesheets.approve(sheet.id, current_user.school_id, current_user)
    )
    flash(
        "Timesheet approved." if done.done else "This timesheet was already decided.",
        "success" if done.done else "error",
    )
    return redirect(url_for("marketplace.supply_booking", booking_id=sheet.booking_id))


@bp.route(
    "/supply/timesheets/<int:timesheet_id>/query",
    methods=["POST"],
    endpoint="supply_timesheet_query",
)
@roles_required(*SCHOOL)
def supply_timesheet_query(timesheet_id: int):
    """The school queries a week, saying what is wrong."""
    sheet = access.get_timesheet_for_school(timesheet_id, current_user.school_id)
    form = QueryForm()
    done = submit(
        form,
        lambda: timesheets.query(
            sheet.id, current_user.school_id, form.note.data or "", current_user
        ),
    )
    if done.done:
        flash("Timesheet queried: the agency will correct it.", "success")
    else:
        flash("Say what is wrong with the timesheet (up to 500 characters).", "error")
    return redirect(url_for("marketplace.supply_booking", booking_id=sheet.booking_id))


@bp.route("/supply/workers", methods=["GET", "POST"], endpoint="supply_workers")
@roles_required(Role.PROVIDER)
def supply_workers():
    """The agency's own workers and their vetting; add a worker to the books."""
    form = WorkerForm()
    done = submit(
        form,
        lambda: setup.add_worker(
            current_user.provider_id,
            form.name.data or "",
            SupplyRole(form.role.data),
            current_user,
            trn=form.trn.data or "",
        ),
    )
    if done.done:
        flash(f"{done.value.name} added: record their checks before proposing them.", "success")
        return redirect(url_for("marketplace.supply_workers"))
    today = london_today()
    workers = access.agency_workers(current_user.provider_id)
    return render_template(
        "marketplace/supply/workers.html",
        workers=workers,
        problems={w.id: setup.vetting_problems(w, today) for w in workers},
        form=form,
        check_forms={w.id: CheckForm(prefix=f"worker-{w.id}") for w in workers},
    ), done.status


@bp.route("/supply/workers/<int:worker_id>/checks", methods=["POST"], endpoint="supply_check")
@roles_required(Role.PROVIDER)
def supply_check(worker_id: int):
    """Record a vetting check (with its date and expiry) for one of the agency's workers."""
    worker = access.get_worker_for_agency(worker_id, current_user.provider_id)
    form = CheckForm(prefix=f"worker-{worker.id}")
    done = submit(
        form,
        lambda: setup.record_check(
            worker.id,
            current_user.provider_id,
            CheckKind(form.kind.data),
            filled(form.checked_on.data),
            filled(form.expires_on.data),
            current_user,
            reference=form.reference.data or "",
        ),
    )
    if done.done:
        flash(f"Check recorded for {worker.name}.", "success")
    else:
        messages = [m for errors in form.errors.values() for m in errors] or ["Check not recorded"]
        flash(f"{worker.name}: " + "; ".join(str(m) for m in messages), "error")
    return redirect(url_for("marketplace.supply_workers") + f"#worker-{worker.id}")


@bp.route("/supply/workers/<int:worker_id>/prefer", methods=["POST"], endpoint="supply_prefer")
@roles_required(Role.SBM)
def supply_prefer(worker_id: int):
    """The school names a worker it has had as preferred."""
    done = submit(
        ActionForm(), lambda: setup.nominate(current_user.school_id, worker_id, current_user)
    )
    if done.done:
        flash("Named as a preferred worker: proposals of them are flagged for you.", "success")
    return redirect(request.referrer or url_for("marketplace.supply_home"))


@bp.route("/supply/hire/<int:worker_id>", methods=["GET", "POST"], endpoint="supply_hire")
@roles_required(Role.SBM)
def supply_hire(worker_id: int):
    """Temp-to-perm: the introduction fee is worked out and shown before the school confirms."""
    school_id = current_user.school_id
    hires.quote(school_id, worker_id, 1)  # 404 unless the school has had this worker
    form = HireForm()
    form.vacancy_id.choices = [(0, "None")] + [
        (v.id, v.title) for v in vacancies.school_vacancies(school_id)
    ]
    quote = None
    status = 200
    if form.validate_on_submit():
        salary = filled(form.salary.data)
        quote = hires.quote(school_id, worker_id, salary)
        if form.confirm.data == str(quote.fee_pence):
            done = submit(
                form,
                lambda: hires.hire(
                    school_id,
                    worker_id,
                    salary,
                    filled(form.starts_on.data),
                    int(form.confirm.data),
                    current_user,
                    vacancy_id=form.vacancy_id.data or None,
                ),
            )
            if done.done:
                flash(
                    f"{quote.worker_name} hired. Introduction fee: £{quote.fee_pence / 100:,.2f}.",
                    "success",
                )
                return redirect(url_for("marketplace.supply_home"))
            status = done.status
    elif form.errors:
        status = 400
    return render_template(
        "marketplace/supply/hire.html", form=form, quote=quote, worker_id=worker_id
    ), status
