"""Running the aggregator on a round, a run's page and files, and awarding a run."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, field_errors, filled, submit
from app.jobs import enqueue_after_commit
from app.models import PARTNERSHIP_ROLES
from app.money import format_pence
from app.security import roles_required
from app.time import utcnow
from marketplace.orders.rules import plural
from procurement.blueprint import bp
from procurement.rounds.access import get_round, get_run, runs_of
from procurement.rounds.answers import run_answer
from procurement.rounds.award import award_run
from procurement.rounds.comparison import (
    SORTS,
    RunComparison,
    compare_runs,
    csv_text,
    default_pair,
    run_choice,
)
from procurement.rounds.forms import CompareRunsForm, RunForm
from procurement.rounds.models import RoundStatus, RunStatus
from procurement.rounds.runs import queue_run, same_input_runs
from procurement.rounds.tasks import solve_run
from procurement.rounds.views.rounds import round_page


@bp.route("/rounds/<int:round_id>/runs", methods=["POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_run(round_id: int):
    """Run the aggregator on the round's pledges (in the background); show its progress."""
    get_round(round_id)
    form = RunForm()
    outcome = submit(
        form,
        lambda: queue_run(
            round_id,
            current_user,
            solver=form.solver.data,
            time_limit_seconds=filled(form.time_limit_seconds.data),
            before_commit=lambda run: enqueue_after_commit(
                solve_run, run.id, requested_by=current_user
            ),
        ),
    )
    if not outcome.done:
        return round_page(get_round(round_id), run_form=form, status=outcome.status)
    run = outcome.value
    flash(f"Run {run.number} has started.", "success")
    return redirect(url_for("procurement.round_run_detail", round_id=round_id, run_id=run.id))


def _chosen_runs(round_id: int) -> tuple[CompareRunsForm, RunComparison | None, int]:
    """The runs chosen in the address (the two latest if none), and their comparison or why
    there is none (its message on the form, with the status to show it with)."""
    if "a" in request.args or "b" in request.args:
        form = CompareRunsForm(formdata=request.args)
    else:
        a, b = default_pair(round_id)
        form = CompareRunsForm(data={"a": a, "b": b})
    form.a.choices = form.b.choices = [
        ("", "Choose a run"),
        *(run_choice(run) for run in runs_of(round_id)),
    ]
    try:
        comparison = compare_runs(round_id, form.a.data, form.b.data, request.args.get("sort"))
    except DomainError as exc:
        status = refusal_status(exc)
        field_errors(form, exc.field, exc.message)
        return form, None, status
    return form, comparison, 200


@bp.route("/rounds/<int:round_id>/runs/compare")
@roles_required(*PARTNERSHIP_ROLES)
def round_runs_compare(round_id: int):
    """Two runs side by side: rules, cost, unmet, providers and each school's charge."""
    buying_round = get_round(round_id)
    form, comparison, status = _chosen_runs(round_id)
    page = render_template(
        "procurement/rounds/round_runs_compare.html",
        round=buying_round,
        form=form,
        comparison=comparison,
        sorts=SORTS,
    )
    return page, status


@bp.route("/rounds/<int:round_id>/runs/compare.csv")
@roles_required(*PARTNERSHIP_ROLES)
def round_runs_compare_csv(round_id: int) -> Response:
    """Each school's charge under the two runs, as CSV, in the page's order."""
    get_round(round_id)
    form, comparison, status = _chosen_runs(round_id)
    if comparison is None:
        problems = [e for field in (form.a, form.b) for e in field.errors] + form.form_errors
        return Response("\n".join(problems) + "\n", status=status, mimetype="text/plain")
    name = f"round-{round_id}-runs-{comparison.a.number}-{comparison.b.number}-charges.csv"
    return Response(
        csv_text(comparison),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>")
@roles_required(*PARTNERSHIP_ROLES)
def round_run_detail(round_id: int, run_id: int):
    """One run: progress while it runs; then status, bound, gap, time and every allocation."""
    return _run_page(round_id, run_id)


def _run_page(round_id: int, run_id: int, status: int = 200) -> Any:
    buying_round = get_round(round_id)
    run = get_run(round_id, run_id)
    now = utcnow()
    page = render_template(
        "procurement/rounds/round_run_detail.html",
        round=buying_round,
        run=run,
        now=now,
        stalled=run.stalled(now),
        elapsed=int((now - (run.started_at or run.queued_at)).total_seconds()),
        answer=run_answer(run),
        same_inputs=same_input_runs(run),
        action_form=ActionForm(),
        can_award=(
            run.found_allocation and buying_round.status in (RoundStatus.CLOSED, RoundStatus.RUN)
        ),
        plural=plural,
        RunStatus=RunStatus,
        school_link=lambda school_id: url_for(
            "procurement.round_allocation", round_id=round_id, school_id=school_id, run=run.id
        ),
    )
    return page, status


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/inputs.json")
@roles_required(*PARTNERSHIP_ROLES)
def round_run_inputs(round_id: int, run_id: int) -> Response:
    """The run's exact optimizer instance (python -m procurement.optimizer reads it)."""
    run = get_run(round_id, run_id)
    response = jsonify(run.inputs)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="round-{round_id}-run-{run.number}-inputs.json"'
    )
    return response


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/result.json")
@roles_required(*PARTNERSHIP_ROLES)
def round_run_result(round_id: int, run_id: int) -> Any:
    """The run's result as the optimizer wrote it."""
    run = get_run(round_id, run_id)
    if run.result is None:
        return jsonify({"status": run.status.value, "progress": run.progress}), 404
    response = jsonify(run.result)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="round-{round_id}-run-{run.number}-result.json"'
    )
    return response


@bp.route("/rounds/<int:round_id>/runs/<int:run_id>/award", methods=["POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_award(round_id: int, run_id: int):
    """Award a run: contracts, confirmed call-off orders, capacity reserved, schools told."""
    get_run(round_id, run_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired or was sent twice. Try again.")
        return redirect(url_for("procurement.round_run_detail", round_id=round_id, run_id=run_id))
    try:
        summary = award_run(round_id, run_id, current_user)
    except DomainError as exc:
        flash(exc.message)
        return _run_page(round_id, run_id, refusal_status(exc))
    flash(
        f"Awarded: {summary.contracts} {plural('contract', summary.contracts)}, "
        f"{summary.orders} call-off {plural('order', summary.orders)} for "
        f"{summary.schools} {plural('school', summary.schools)}, "
        f"{format_pence(summary.total_pence)} in all. Each school has been told.",
        "success",
    )
    return redirect(url_for("procurement.round_detail", round_id=round_id))
