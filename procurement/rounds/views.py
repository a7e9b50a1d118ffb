"""Buying-round pages: the list, opening a round, pledging, runs, the allocation and the award."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm

from app.errors import DomainError, refusal_status
from app.forms import ActionForm
from app.models import PARTNERSHIP_ROLES, Role, School
from app.money import format_pence
from app.security import roles_required
from app.time import london_today, utcnow
from procurement.blueprint import bp
from procurement.rounds import services as rounds
from procurement.rounds.forms import RoundForm, RulesForm, RunForm, lot_field_name, pledge_form
from procurement.rounds.models import BuyingRound, RoundRun, RoundStatus, RunStatus

PARTNERSHIP = (Role.COMMITTEE, Role.ADMIN)
SCHOOL = (Role.SBM, Role.HEAD)
EVERYONE_BUT_PROVIDERS = (*PARTNERSHIP, *SCHOOL)


def _form_error(form: FlaskForm, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form field it names, or at the top of the form."""
    name = error.field
    name = (fields or {}).get(name, name) if name else None
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


# Announcing rounds on the school home page ---------------------------------------------------


@bp.app_context_processor
def school_rounds_context() -> dict[str, Any]:
    """`school_rounds(school)` for templates/main/_school_rounds.html (the school home page)."""

    def school_rounds(school: School) -> rounds.HomePanel:
        return rounds.home_panel(school.id, utcnow())

    return {"school_rounds": school_rounds}


# The list and opening a round ---------------------------------------------------------------


@bp.route("/rounds", endpoint="rounds")
@roles_required(*EVERYONE_BUT_PROVIDERS)
def rounds_list():  # type: ignore[no-untyped-def]
    """Buying rounds: open ones to pledge into, and past ones with their results."""
    return render_template(
        "procurement/rounds/rounds.html",
        rounds_=rounds.rounds_for_user(current_user),
        now=utcnow(),
        status_text=rounds.STATUS_TEXT,
        term_label=rounds.term_label,
    )


def _round_form_choices(form: RoundForm) -> None:
    today = london_today()
    form.service_ids.choices = [(s.id, s.name) for s in rounds.services_to_choose()]
    form.term_keys.choices = [(t.key, t.label) for t in rounds.terms_to_choose(today)]
    form.offer_ids.choices = [
        (o.id, f"{o.service.name}: {o.provider.name}, “{o.title}”")
        for o in rounds.offers_to_choose()
    ]


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required(*PARTNERSHIP)
def round_new():  # type: ignore[no-untyped-def]
    """Open a buying round: services, terms, the offers taking part, deadline and rules."""
    form = RoundForm()
    _round_form_choices(form)
    status = 200
    if form.validate_on_submit():
        data = rounds.RoundInput(
            title=form.title.data or "",
            description=form.description.data or "",
            service_ids=list(form.service_ids.data or []),
            term_keys=list(form.term_keys.data or []),
            offer_ids=list(form.offer_ids.data or []),
            pledge_deadline_at=form.deadline_at,
            max_share_percent=form.max_share_percent.data,
            min_providers=form.min_providers.data,
            single_source=bool(form.single_source.data),
            open_now=request.form.get("action") != "draft",
        )
        try:
            created = rounds.create_round(data, current_user)
        except DomainError as exc:
            _form_error(form, exc)
            status = refusal_status(exc)
        else:
            if created.status is RoundStatus.OPEN:
                flash(f"“{created.title}” is open: schools can pledge now.", "success")
            else:
                flash(
                    f"“{created.title}” is saved as a draft. Open it when it is ready.", "success"
                )
            return redirect(url_for("procurement.round_detail", round_id=created.id))
    elif form.is_submitted():
        status = 400
    return render_template("procurement/rounds/round_new.html", form=form), status


# One round -----------------------------------------------------------------------------------


def _round_page(
    buying_round: BuyingRound,
    *,
    rules_form: RulesForm | None = None,
    run_form: RunForm | None = None,
    status: int = 200,
) -> Any:
    now = utcnow()
    is_partnership = current_user.role in PARTNERSHIP_ROLES
    context: dict[str, Any] = {
        "round": buying_round,
        "now": now,
        "shown_status": buying_round.shown_status(now),
        "status_text": rounds.STATUS_TEXT,
        "lots": rounds.lots(buying_round),
        "totals": rounds.pledge_totals(buying_round),
        "is_partnership": is_partnership,
        "action_form": ActionForm(),
        "term_label": rounds.term_label,
        "plural": rounds.plural,
    }
    awarded = rounds.awarded_run(buying_round.id)
    context["awarded"] = awarded
    if is_partnership:
        if rules_form is None:
            rules_form = RulesForm(
                data={
                    "max_share_percent": buying_round.max_share_percent,
                    "min_providers": buying_round.min_providers,
                    "single_source": buying_round.single_source,
                }
            )
        context.update(
            runs=rounds.runs_of(buying_round.id),
            rules_form=rules_form,
            run_form=run_form or RunForm(),
            contracts=rounds.contracts_of(buying_round.id) if awarded else [],
            estimate=(
                rounds.indicative(buying_round)
                if buying_round.status in (RoundStatus.DRAFT, RoundStatus.OPEN)
                else None
            ),
        )
    else:
        school_id = current_user.school_id
        context.update(
            pledges=rounds.pledges_for_school(buying_round.id, school_id),
            estimate=(
                rounds.indicative(buying_round, school_id)
                if buying_round.status is RoundStatus.OPEN
                else None
            ),
            answer=rounds.run_answer(awarded, school_id) if awarded else None,
            call_offs=rounds.call_offs_for_school(buying_round.id, school_id) if awarded else [],
            notices=rounds.notices_for_round(buying_round.id, school_id),
            can_pledge=current_user.role is Role.SBM and buying_round.accepts_pledges(now),
        )
    return render_template("procurement/rounds/round_detail.html", **context), status


@bp.route("/rounds/<int:round_id>")
@roles_required(*EVERYONE_BUT_PROVIDERS)
def round_detail(round_id: int):  # type: ignore[no-untyped-def]
    """A round: what it covers, the offers, pledges so far, runs and the award."""
    return _round_page(rounds.get_round_for_user(round_id, current_user))


def _round_action(round_id: int, action: Any, success: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired or was sent twice. Try again.")
        return redirect(url_for("procurement.round_detail", round_id=round_id)), 400
    rounds.get_round(round_id)
    try:
        action(round_id, current_user)
    except DomainError as exc:
        flash(exc.message)
        return _round_page(rounds.get_round(round_id), status=refusal_status(exc))
    flash(success, "success")
    return redirect(url_for("procurement.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/open", methods=["POST"])
@roles_required(*PARTNERSHIP)
def round_open(round_id: int):  # type: ignore[no-untyped-def]
    """Announce a draft round to schools."""
    return _round_action(round_id, rounds.open_round, "The round is open: schools can pledge now.")


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required(*PARTNERSHIP)
def round_close(round_id: int):  # type: ignore[no-untyped-def]
    """End pledging before the deadline."""
    return _round_action(
        round_id, rounds.close_pledging, "Pledging is closed. You can run the aggregator now."
    )


@bp.route("/rounds/<int:round_id>/cancel", methods=["POST"])
@roles_required(*PARTNERSHIP)
def round_cancel(round_id: int):  # type: ignore[no-untyped-def]
    """Call the round off."""
    return _round_action(round_id, rounds.cancel_round, "The round is cancelled.")


@bp.route("/rounds/<int:round_id>/rules", methods=["POST"])
@roles_required(*PARTNERSHIP)
def round_rules(round_id: int):  # type: ignore[no-untyped-def]
    """Change the aggregator's rules; the next run uses them."""
    buying_round = rounds.get_round(round_id)
    form = RulesForm()
    if not form.validate_on_submit():
        return _round_page(buying_round, rules_form=form, status=400)
    try:
        rounds.change_rules(
            round_id,
            max_share_percent=form.max_share_percent.data,
            min_providers=form.min_providers.data,
            single_source=bool(form.single_source.data),
            actor=current_user,
        )
    except DomainError as exc:
        _form_error(form, exc)
        return _round_page(rounds.get_round(round_id), rules_form=form, status=refusal_status(exc))
    flash("Rules saved. Run the aggregator to see what they change.", "success")
    return redirect(url_for("procurement.round_detail", round_id=round_id))


# Pledging ------------------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>/pledges", methods=["GET", "POST"])
@roles_required(*EVERYONE_BUT_PROVIDERS)
def round_pledge(round_id: int, school_id: int):  # type: ignore[no-untyped-def]
    """A school's pledges in a round, per service and term, with the indicative price."""
    school = rounds.get_school_for_user(school_id, current_user)
    buying_round = rounds.get_round_for_user(round_id, current_user)
    round_lots = rounds.lots(buying_round)
    existing = rounds.pledges_for_school(round_id, school.id)
    fields = {lot.key: lot_field_name(lot.service.id, lot.term.key) for lot in round_lots}
    status = 200
    if request.method == "POST":
        if current_user.role is not Role.SBM or current_user.school_id != school.id:
            return _pledge_page(
                buying_round,
                school,
                pledge_form(round_lots, request.form),
                403,
                "Only your school’s business manager can pledge; nothing was changed.",
            )
        form = pledge_form(round_lots, request.form)
        if form.validate_on_submit():
            quantities = {
                (lot.service.id, lot.term.key): form[fields[lot.key]].data for lot in round_lots
            }
            try:
                changes = rounds.save_pledges(round_id, school.id, quantities, current_user)
            except DomainError as exc:
                _form_error(form, exc, fields)
                status = refusal_status(exc)
            else:
                if changes.any:
                    flash(
                        "Your pledges are saved. You can change them until the deadline.", "success"
                    )
                else:
                    flash("Nothing changed: your pledges were already these.", "success")
                return redirect(
                    url_for("procurement.round_pledge", round_id=round_id, school_id=school.id)
                )
        else:
            status = 400
    else:
        form = pledge_form(
            round_lots,
            data={
                fields[lot.key]: existing[(lot.service.id, lot.term.key)].quantity
                for lot in round_lots
                if (lot.service.id, lot.term.key) in existing
                and existing[(lot.service.id, lot.term.key)].active
            },
        )
    return _pledge_page(buying_round, school, form, status)


def _pledge_page(
    buying_round: BuyingRound,
    school: School,
    form: FlaskForm,
    status: int,
    error: str | None = None,
) -> Any:
    now = utcnow()
    round_lots = rounds.lots(buying_round)
    return (
        render_template(
            "procurement/rounds/round_pledge.html",
            round=buying_round,
            school=school,
            form=form,
            rows=[(lot, form[lot_field_name(lot.service.id, lot.term.key)]) for lot in round_lots],
            pledges=rounds.pledges_for_school(buying_round.id, school.id),
            estimate=(
                rounds.indicative(buying_round, school.id)
                if buying_round.status is RoundStatus.OPEN
                else None
            ),
            can_pledge=(
                current_user.role is Role.SBM
                and current_user.school_id == school.id
                and buying_round.accepts_pledges(now)
            ),
            action_form=ActionForm(),
            error=error,
            now=now,
            plural=rounds.plural,
        ),
        status,
    )


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>/pledges/withdraw", methods=["POST"])
@roles_required(Role.SBM)
def round_pledge_withdraw(round_id: int, school_id: int):  # type: ignore[no-untyped-def]
    """Withdraw all of the school's pledges in the round."""
    school = rounds.get_school_for_user(school_id, current_user)
    buying_round = rounds.get_round_for_user(round_id, current_user)
    form = ActionForm()
    if not form.validate_on_submit():
        return _pledge_page(
            buying_round,
            school,
            pledge_form(rounds.lots(buying_round)),
            400,
            "Your form expired or was sent twice. Try again.",
        )
    try:
        changes = rounds.withdraw_pledges(round_id, school.id, current_user)
    except DomainError as exc:
        buying_round = rounds.get_round_for_user(round_id, current_user)
        return _pledge_page(
            buying_round,
            school,
            pledge_form(rounds.lots(buying_round)),
            refusal_status(exc),
            exc.message,
        )
    flash(
        "Your pledges are withdrawn." if changes.withdrawn else "You had no pledges to withdraw.",
        "success",
    )
    return redirect(url_for("procurement.round_pledge", round_id=round_id, school_id=school.id))


# Running the aggregator ----------------------------------------------------------------------


def _start(run: RoundRun) -> None:
    """Solve in a detached process (production), or here and now when ROUND_RUNS is "inline"."""
    if current_app.config.get("ROUND_RUNS") == "inline":
        rounds.execute_run(run.id)
        return
    rounds.launch_run(
        run,
        database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
        instance_path=current_app.instance_path,
        project_root=Path(current_app.root_path).parent,
        log_dir=Path(
            current_app.config.get("ROUND_RUN_LOG_DIR") or Path(current_app.instance_path) / "logs"
        ),
    )


@bp.route("/rounds/<int:round_id>/runs", methods=["POST"])
@roles_required(*PARTNERSHIP)
def round_run(round_id: int):  # type: ignore[no-untyped-def]
    """Run the aggregator on the round's pledges (in the background); show its progress."""
    buying_round = rounds.get_round(round_id)
    form = RunForm()
    if not form.validate_on_submit():
        return _round_page(buying_round, run_form=form, status=400)
    try:
        run = rounds.queue_run(
            round_id,
            current_user,
            solver=form.solver.data,
            time_limit_seconds=form.time_limit_seconds.data,
        )
    except DomainError as exc:
        _form_error(form, exc)
        return _round_page(rounds.get_round(round_id), run_form=form, status=refusal_status(exc))
    _start(run)
    flash(f"Run {run.number} has started.", "success")
    return redirect(url_for("procurement.round_run_detail", round_id=round_id, run_id=run.id))


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>")
@roles_required(*PARTNERSHIP)
def round_run_detail(round_id: int, run_id: int):  # type: ignore[no-untyped-def]
    """One run: progress while it runs; then status, bound, gap, time and every allocation."""
    return _run_page(round_id, run_id)


def _run_page(round_id: int, run_id: int, status: int = 200) -> Any:
    buying_round = rounds.get_round(round_id)
    run = rounds.get_run(round_id, run_id)
    now = utcnow()
    page = render_template(
        "procurement/rounds/round_run_detail.html",
        round=buying_round,
        run=run,
        now=now,
        stalled=run.stalled(now),
        elapsed=int((now - (run.started_at or run.queued_at)).total_seconds()),
        answer=rounds.run_answer(run),
        same_inputs=rounds.same_input_runs(run),
        action_form=ActionForm(),
        can_award=(
            run.found_allocation and buying_round.status in (RoundStatus.CLOSED, RoundStatus.RUN)
        ),
        plural=rounds.plural,
        RunStatus=RunStatus,
        school_link=lambda school_id: url_for(
            "procurement.round_allocation", round_id=round_id, school_id=school_id, run=run.id
        ),
    )
    return page, status


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/inputs.json")
@roles_required(*PARTNERSHIP)
def round_run_inputs(round_id: int, run_id: int) -> Response:
    """The run's exact optimizer instance (python -m procurement.optimizer reads it)."""
    run = rounds.get_run(round_id, run_id)
    response = jsonify(run.inputs)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="round-{round_id}-run-{run.number}-inputs.json"'
    )
    return response


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/result.json")
@roles_required(*PARTNERSHIP)
def round_run_result(round_id: int, run_id: int) -> Any:
    """The run's result as the optimizer wrote it."""
    run = rounds.get_run(round_id, run_id)
    if run.result is None:
        return jsonify({"status": run.status.value, "progress": run.progress}), 404
    response = jsonify(run.result)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="round-{round_id}-run-{run.number}-result.json"'
    )
    return response


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/award", methods=["POST"])
@roles_required(*PARTNERSHIP)
def round_award(round_id: int, run_id: int):  # type: ignore[no-untyped-def]
    """Award a run: contracts, confirmed call-off orders, capacity reserved, schools told."""
    rounds.get_run(round_id, run_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired or was sent twice. Try again.")
        return redirect(url_for("procurement.round_run_detail", round_id=round_id, run_id=run_id))
    try:
        summary = rounds.award_run(round_id, run_id, current_user)
    except DomainError as exc:
        flash(exc.message)
        return _run_page(round_id, run_id, refusal_status(exc))
    flash(
        f"Awarded: {summary.contracts} contract{'s' if summary.contracts != 1 else ''}, "
        f"{summary.orders} call-off order{'s' if summary.orders != 1 else ''} for "
        f"{summary.schools} school{'s' if summary.schools != 1 else ''}, "
        f"{format_pence(summary.total_pence)} in all. Each school has been told.",
        "success",
    )
    return redirect(url_for("procurement.round_detail", round_id=round_id))


# What each school got -------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>")
@roles_required(*EVERYONE_BUT_PROVIDERS)
def round_allocation(round_id: int, school_id: int):  # type: ignore[no-untyped-def]
    """One school's result: provider, units, tier reached, unit price, stand-alone, saving."""
    school = rounds.get_school_for_user(school_id, current_user)
    buying_round = rounds.get_round_for_user(round_id, current_user)
    run = rounds.awarded_run(round_id)
    if run is None and current_user.role in PARTNERSHIP_ROLES:
        run_id = request.args.get("run", type=int)
        run = rounds.get_run(round_id, run_id) if run_id else None
    answer = rounds.run_answer(run, school.id) if run is not None else None
    return render_template(
        "procurement/rounds/round_allocation.html",
        round=buying_round,
        school=school,
        run=run,
        answer=answer,
        call_offs=rounds.call_offs_for_school(round_id, school.id),
        plural=rounds.plural,
    )


@bp.route("/rounds/notices/<int:notice_id>/read", methods=["POST"])
@roles_required(*SCHOOL)
def round_notice_read(notice_id: int):  # type: ignore[no-untyped-def]
    """Mark a round notice as read; it leaves the home page."""
    form = ActionForm()
    if form.validate_on_submit():
        rounds.mark_notice_read(notice_id, current_user.school_id, current_user)
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("home.home")
    return redirect(target)
