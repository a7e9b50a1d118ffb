"""Supply pages: the service's home for each side, the rate card, cover requests and proposals."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, field_errors, filled, submit
from app.models import Role
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.blueprint import bp
from marketplace.supply import access, cover, setup, timesheets
from marketplace.supply.forms import AcceptForm, CoverRequestForm, ProposeForm
from marketplace.supply.models import Session
from marketplace.supply.rules import SupplyRole
from marketplace.supply.views.common import EVERYONE, SCHOOL, current_contract, viewer


@bp.route("/supply", endpoint="supply_home")
@roles_required(*EVERYONE)
def supply_home():
    """Cover: a school's requests and bookings, an agency's open requests and bookings."""
    who = viewer()
    now = utcnow()
    today = london_today()
    context: dict = {"contract": current_contract(), "now": now, "today": today}
    if who.school_id is not None:
        bookings = access.school_bookings(who.school_id)
        context.update(
            requests=access.school_requests(who.school_id),
            bookings=bookings,
            awr={b.id: timesheets.awr_status(b, today) for b in bookings},
        )
    elif who.agency_id is not None:
        context.update(
            requests=access.agency_requests(who.agency_id, now),
            bookings=access.agency_bookings(who.agency_id),
            workers=access.agency_workers(who.agency_id),
        )
    return render_template(
        "marketplace/supply/home.html", who=who, unfilled=cover.is_unfilled_late, **context
    )


@bp.route("/supply/rates", endpoint="supply_rates")
@roles_required(*EVERYONE)
def supply_rates():
    """The rate card in its parts: every rate for schools and the partnership, an agency's own."""
    who = viewer()
    contract = current_contract()
    if who.agency_id is not None:
        rates = access.agency_rates(who.agency_id)
    else:
        rates = access.contract_rates(contract.id) if contract else []
    return render_template("marketplace/supply/rates.html", contract=contract, rates=rates)


@bp.route("/supply/requests/new", methods=["GET", "POST"], endpoint="supply_request_new")
@roles_required(Role.SBM)
def supply_request_new():
    """Ask for cover: dates, full or half days, role, phase and subject."""
    contract = current_contract()
    if contract is None:
        abort(404)
    form = CoverRequestForm()
    done = submit(
        form,
        lambda: cover.post_request(
            contract_id=contract.id,
            school_id=current_user.school_id,
            role=SupplyRole(form.role.data),
            session=Session(form.session.data),
            starts_on=filled(form.starts_on.data),
            ends_on=filled(form.ends_on.data),
            actor=current_user,
            today=london_today(),
            phase=form.phase.data or "",
            subject=form.subject.data or "",
            notes=form.notes.data or "",
        ),
    )
    if done.done:
        flash("Your request has gone to the agencies.", "success")
        return redirect(url_for("marketplace.supply_request", request_id=done.value.id))
    return render_template("marketplace/supply/request_new.html", form=form), done.status


def _request_page(
    request_id: int, *, propose_form: Any = None, accept_form: Any = None, status: int = 200
) -> tuple[str, int]:
    who = viewer()
    now = utcnow()
    if who.school_id is not None:
        request = access.get_request_for_school(request_id, who.school_id)
        proposals = access.proposals_for_school(request)
    elif who.agency_id is not None:
        request = access.get_request_for_agency(request_id, who.agency_id, now)
        proposals = access.proposals_for_agency(request.id, who.agency_id)
    else:
        abort(404)
    workers = []
    if who.agency_id is not None:
        today = london_today()
        workers = [
            (w, setup.vetting_problems(w, max(today, request.starts_on), request.ends_on))
            for w in access.agency_workers(who.agency_id)
            if w.role is request.role
        ]
        propose_form = propose_form or ProposeForm()
        propose_form.worker_id.choices = [(w.id, w.name) for w, problems in workers]
    return (
        render_template(
            "marketplace/supply/request.html",
            request=request,
            proposals=proposals,
            quotes={p.id: cover.quote(p) for p in proposals},
            who=who,
            workers=workers,
            propose_form=propose_form,
            accept_form=accept_form or AcceptForm(),
            late=cover.is_unfilled_late(request, now),
            preferred=access.preferred_worker_ids(who.school_id) if who.school_id else set(),
            cancel_form=ActionForm(),
        ),
        status,
    )


@bp.route("/supply/requests/<int:request_id>", endpoint="supply_request")
@roles_required(*SCHOOL, Role.PROVIDER)
def supply_request(request_id: int):
    """One request: the school sees every proposal; an agency only its own."""
    return _request_page(request_id)


@bp.route("/supply/requests/<int:request_id>/propose", methods=["POST"], endpoint="supply_propose")
@roles_required(Role.PROVIDER)
def supply_propose(request_id: int):
    """An agency proposes one of its vetted workers."""
    form = ProposeForm()
    form.worker_id.choices = []
    if form.validate_on_submit():
        try:
            cover.propose(
                request_id,
                current_user.provider_id,
                filled(form.worker_id.data),
                current_user,
                today=london_today(),
                note=form.note.data or "",
            )
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field or "worker_id", exc.message)
            return _request_page(request_id, propose_form=form, status=status)
        flash("Your worker has been proposed to the school.", "success")
        return redirect(url_for("marketplace.supply_request", request_id=request_id))
    return _request_page(request_id, propose_form=form, status=400)


@bp.route("/supply/proposals/<int:proposal_id>/accept", methods=["POST"], endpoint="supply_accept")
@roles_required(Role.SBM)
def supply_accept(proposal_id: int):
    """The school accepts a proposal: the booking is confirmed to both."""
    proposal = access.get_proposal_for_school(proposal_id, current_user.school_id)
    form = AcceptForm()
    done = submit(
        form,
        lambda: cover.accept(
            proposal.id,
            current_user.school_id,
            current_user,
            today=london_today(),
            parity_day_pay_pence=form.parity_day_pay.data,
        ),
    )
    if done.done:
        flash(f"Booking confirmed: {proposal.worker.name}.", "success")
        return redirect(url_for("marketplace.supply_booking", booking_id=done.value.id))
    return _request_page(proposal.request_id, accept_form=form, status=done.status)


@bp.route(
    "/supply/requests/<int:request_id>/cancel", methods=["POST"], endpoint="supply_request_cancel"
)
@roles_required(Role.SBM)
def supply_request_cancel(request_id: int):
    """Withdraw a request nobody has filled."""
    form = ActionForm()
    done = submit(
        form, lambda: cover.cancel_request(request_id, current_user.school_id, current_user)
    )
    if done.done:
        flash("Request withdrawn.", "success")
    else:
        flash("This request could not be withdrawn: it is no longer open.", "error")
    return redirect(url_for("marketplace.supply_request", request_id=request_id))
