"""The list of buying rounds, opening a round, and the round page with the committee's actions."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.cache import cached_page
from app.calendar import term_label
from app.errors import DomainError, refusal_status
from app.forms import ActionForm, submit
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.orders.rules import plural
from procurement.blueprint import bp
from procurement.pipeline.prefill import references
from procurement.rounds.access import (
    awarded_run,
    get_round,
    get_round_for_user,
    rounds_for_user,
    runs_of,
)
from procurement.rounds.answers import run_answer
from procurement.rounds.award import call_offs_for_school, contracts_of
from procurement.rounds.comparison import latest_pair, run_choice
from procurement.rounds.estimates import indicative
from procurement.rounds.forms import CompareRunsForm, RoundForm, RulesForm, RunForm
from procurement.rounds.labels import STATUS_TEXT
from procurement.rounds.lifecycle import (
    cancel_round,
    change_rules,
    close_pledging,
    create_round,
    offers_to_choose,
    open_round,
    services_to_choose,
    terms_to_choose,
)
from procurement.rounds.lots import lots
from procurement.rounds.models import BuyingRound, RoundRun, RoundStatus
from procurement.rounds.notices import notices_for_round
from procurement.rounds.pledges import pledge_totals, pledges_for_school


@bp.route("/rounds", endpoint="rounds")
@roles_required(*PARTNERSHIP_ROLES, *SCHOOL_ROLES)
def rounds_list():
    """Buying rounds: open ones to pledge into, and past ones with their results."""
    return render_template(
        "procurement/rounds/rounds.html",
        rounds_=rounds_for_user(current_user),
        now=utcnow(),
        status_text=STATUS_TEXT,
        term_label=term_label,
    )


def _round_form_choices(form: RoundForm) -> None:
    today = london_today()
    form.service_ids.choices = [(s.id, s.name) for s in services_to_choose()]
    form.term_keys.choices = [(t.key, t.label) for t in terms_to_choose(today)]
    form.offer_ids.choices = [
        (o.id, f"{o.service.name}: {o.provider.name}, “{o.title}”") for o in offers_to_choose()
    ]


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_new():
    """Open a buying round: services, terms, the offers taking part, deadline and rules."""
    form = RoundForm()
    _round_form_choices(form)
    open_now = request.form.get("action") != "draft"
    outcome = submit(form, lambda: create_round(form.to_input(open_now=open_now), current_user))
    if outcome.done:
        created = outcome.value
        if created.status is RoundStatus.OPEN:
            flash(f"“{created.title}” is open: schools can pledge now.", "success")
        else:
            flash(f"“{created.title}” is saved as a draft. Open it when it is ready.", "success")
        return redirect(url_for("procurement.round_detail", round_id=created.id))
    return render_template("procurement/rounds/round_new.html", form=form), outcome.status


def _compare_form(runs: list[RoundRun]) -> CompareRunsForm | None:
    """Two runs to compare, the latest two with an allocation chosen; None without two."""
    a, b = latest_pair(runs)
    if a is None:
        return None
    form = CompareRunsForm(formdata=None, data={"a": a, "b": b})
    form.a.choices = form.b.choices = [run_choice(run) for run in runs]
    return form


def round_page(
    buying_round: BuyingRound,
    *,
    rules_form: RulesForm | None = None,
    run_form: RunForm | None = None,
    status: int = 200,
) -> Any:
    """The round page: the committee's (runs, rules, contracts) or a school's (its pledges)."""
    now = utcnow()
    is_partnership = current_user.role in PARTNERSHIP_ROLES
    context: dict[str, Any] = {
        "round": buying_round,
        "now": now,
        "shown_status": buying_round.shown_status(now),
        "status_text": STATUS_TEXT,
        "lots": lots(buying_round),
        "totals": pledge_totals(buying_round),
        "is_partnership": is_partnership,
        "action_form": ActionForm(),
        "term_label": term_label,
        "plural": plural,
    }
    awarded = awarded_run(buying_round.id)
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
        runs = runs_of(buying_round.id)
        context.update(
            runs=runs,
            compare_form=_compare_form(runs),
            rules_form=rules_form,
            run_form=run_form or RunForm(),
            contracts=contracts_of(buying_round.id) if awarded else [],
            # Reference data of a round prefilled from the pipeline (committee pages only).
            references=references(round_id=buying_round.id),
            estimate=(
                indicative(buying_round, pool=context["totals"])
                if buying_round.status in (RoundStatus.DRAFT, RoundStatus.OPEN)
                else None
            ),
        )
    else:
        school_id = current_user.school_id
        context.update(
            pledges=pledges_for_school(buying_round.id, school_id),
            estimate=(
                indicative(buying_round, school_id, pool=context["totals"])
                if buying_round.status is RoundStatus.OPEN
                else None
            ),
            answer=run_answer(awarded, school_id) if awarded else None,
            call_offs=call_offs_for_school(buying_round.id, school_id) if awarded else [],
            notices=notices_for_round(buying_round.id, school_id),
            can_pledge=current_user.role is Role.SBM and buying_round.accepts_pledges(now),
        )
    return render_template("procurement/rounds/round_detail.html", **context), status


@bp.route("/rounds/<int:round_id>")
@roles_required(*PARTNERSHIP_ROLES, *SCHOOL_ROLES)
@cached_page
def round_detail(round_id: int):
    """A round: what it covers, the offers, pledges so far, runs and the award."""
    return round_page(get_round_for_user(round_id, current_user))


def _round_action(round_id: int, action: Any, success: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired or was sent twice. Try again.")
        return redirect(url_for("procurement.round_detail", round_id=round_id)), 400
    get_round(round_id)
    try:
        action(round_id, current_user)
    except DomainError as exc:
        flash(exc.message)
        return round_page(get_round(round_id), status=refusal_status(exc))
    flash(success, "success")
    return redirect(url_for("procurement.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/open", methods=["POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_open(round_id: int):
    """Announce a draft round to schools."""
    return _round_action(round_id, open_round, "The round is open: schools can pledge now.")


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_close(round_id: int):
    """End pledging before the deadline."""
    return _round_action(
        round_id, close_pledging, "Pledging is closed. You can run the aggregator now."
    )


@bp.route("/rounds/<int:round_id>/cancel", methods=["POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_cancel(round_id: int):
    """Call the round off."""
    return _round_action(round_id, cancel_round, "The round is cancelled.")


@bp.route("/rounds/<int:round_id>/rules", methods=["POST"])
@roles_required(*PARTNERSHIP_ROLES)
def round_rules(round_id: int):
    """Change the aggregator's rules; the next run uses them."""
    get_round(round_id)
    form = RulesForm()
    outcome = submit(
        form,
        lambda: change_rules(
            round_id,
            max_share_percent=form.max_share_percent.data,
            min_providers=form.min_providers.data,
            single_source=bool(form.single_source.data),
            actor=current_user,
        ),
    )
    if not outcome.done:
        return round_page(get_round(round_id), rules_form=form, status=outcome.status)
    flash("Rules saved. Run the aggregator to see what they change.", "success")
    return redirect(url_for("procurement.round_detail", round_id=round_id))
