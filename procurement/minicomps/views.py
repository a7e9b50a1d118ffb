"""Framework and mini-competition pages, on the procurement blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.calendar import term_label
from app.errors import DomainError, refusal_status
from app.extensions import db
from app.forms import ActionForm, field_errors, submit
from app.models import Role
from app.security import roles_required
from app.time import format_instant, london_today, utcnow
from marketplace.catalogue.models import Service
from procurement.blueprint import bp
from procurement.minicomps import access, award, reading, rules, services
from procurement.minicomps.forms import QuoteForm, ReasonForm, RequestForm, ScoreForm
from procurement.minicomps.labels import METHOD_TEXT
from procurement.minicomps.models import AwardMethod

VIEWER_ROLES = (Role.ADMIN, Role.COMMITTEE, Role.SBM, Role.HEAD, Role.TRUST, Role.PROVIDER)


@bp.route("/contracts/<int:contract_id>/framework")
@roles_required(Role.ADMIN, Role.COMMITTEE, Role.SBM, Role.HEAD, Role.TRUST)
def contract_framework(contract_id: int):
    """A framework's suppliers in awarded ranking order, with their prices."""
    framework = access.get_framework_for_user(contract_id, current_user)
    service = db.session.get(Service, framework.key.service_id)
    return render_template(
        "procurement/minicomps/framework.html",
        framework=framework,
        service=service,
        unit=service.unit.value if service else "unit",
        may_run=bool(framework.buyer_school_ids) and framework.is_framework,
        # Schools (and their trust) award directly by calling off from a ranked supplier.
        may_call_off=current_user.role in (Role.SBM, Role.HEAD, Role.TRUST),
        minis=access.list_for_user(current_user, framework.key),
    )


@bp.route("/contracts/<int:contract_id>/mini-competitions/new", methods=["GET", "POST"])
@roles_required(*access.BUYER_ROLES)
def mini_competition_new(contract_id: int):
    """Ask the framework's suppliers for sealed quotes."""
    now = utcnow()
    framework = access.get_framework_for_user(contract_id, current_user)
    if not framework.buyer_school_ids:
        abort(403)
    form = RequestForm()
    names = {s.id: s.name for s in framework.schools}
    form.school_id.choices = [(i, names[i]) for i in framework.buyer_school_ids]
    until = max((c.ends_on for c in framework.contracts), default=london_today())
    form.term_key.choices = [
        (t.key, t.label) for t in services.request_terms(london_today(), until)
    ]
    if request.method == "GET":
        if len(framework.buyer_school_ids) == 1:
            form.school_id.data = framework.buyer_school_ids[0]
        form.deadline_on.data = rules.earliest_deadline_day(now)
    outcome = submit(
        form,
        lambda: services.start_mini_competition(
            framework.contract.id, current_user, form.to_input(), now=now
        ),
    )
    if outcome.done:
        mini = outcome.value
        flash(
            f"Quote request {mini.reference} sent to {len(mini.quotes)} suppliers. Quotes stay "
            f"sealed until you open them after {format_instant(mini.deadline_at)}.",
            "success",
        )
        return redirect(url_for("procurement.mini_competition_detail", mini_competition_id=mini.id))
    return render_template(
        "procurement/minicomps/new.html",
        form=form,
        framework=framework,
        earliest=rules.earliest_deadline_day(now),
        notice_days=rules.NOTICE_WORKING_DAYS,
    ), outcome.status


@bp.route("/mini-competitions")
@roles_required(*VIEWER_ROLES)
def mini_competitions():
    """The mini-competitions you run, or are invited to quote in."""
    now = utcnow()
    minis = access.list_for_user(current_user)
    return render_template(
        "procurement/minicomps/list.html",
        rows=[(m, rules.stage(m.status.value, m.deadline_at, now)) for m in minis],
        is_provider=current_user.role is Role.PROVIDER,
    )


def _detail(mini_competition_id: int, status: int = 200, **forms: Any) -> Any:
    now = utcnow()
    mini = access.get_for_user(mini_competition_id, current_user)
    page = reading.page_for(mini, current_user, now)
    return render_template(
        "procurement/minicomps/detail.html",
        page=page,
        mini=mini,
        method_text=METHOD_TEXT[mini.award_method],
        weighted=mini.award_method is AwardMethod.WEIGHTED,
        term=term_label(mini.term_key),
        action_form=forms.pop("action_form", None) or ActionForm(),
        score_forms=forms.pop("score_forms", {}),
        score_form=ScoreForm(formdata=None),
        **forms,
    ), status


@bp.route("/mini-competitions/<int:mini_competition_id>")
@roles_required(*VIEWER_ROLES)
def mini_competition_detail(mini_competition_id: int):
    """A mini-competition: the request, the suppliers, and the quotes this reader may see."""
    return _detail(mini_competition_id)


def _button(mini_competition_id: int, run: Callable[[], Any], success: str) -> Any:
    """Run a one-click use case; the page again with the reason when it is refused."""
    form = ActionForm()
    if not form.validate_on_submit():
        return _detail(mini_competition_id, 400, error="The form has expired: try again.")
    try:
        run()
    except DomainError as exc:
        status = refusal_status(exc)
        return _detail(mini_competition_id, status, error=exc.message)
    flash(success, "success")
    return redirect(
        url_for("procurement.mini_competition_detail", mini_competition_id=mini_competition_id)
    )


@bp.route("/mini-competitions/<int:mini_competition_id>/quote", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def mini_competition_quote(mini_competition_id: int):
    """Send, or replace, your sealed quote."""
    now = utcnow()
    mini = access.get_for_user(mini_competition_id, current_user)
    own = access.own_quote(mini, current_user)
    if own is None:
        abort(404)
    form = QuoteForm()
    if request.method == "GET" and own.unit_price_pence is not None:
        form.unit_price.data = own.unit_price_pence
        form.note.data = own.note
    outcome = submit(
        form,
        lambda: services.submit_quote(
            mini.id,
            current_user,
            unit_price_pence=form.unit_price.data,
            note=form.note.data or "",
            declared_compliant=bool(form.declared_compliant.data),
            now=now,
        ),
    )
    if outcome.done:
        flash(
            f"Quote received at {format_instant(now)}. It stays sealed: only you can see it "
            "until the school opens the quotes after the deadline.",
            "success",
        )
        return redirect(url_for("procurement.mini_competition_detail", mini_competition_id=mini.id))
    return render_template(
        "procurement/minicomps/quote_form.html",
        form=form,
        mini=mini,
        own=own,
        term=term_label(mini.term_key),
        stage=rules.stage(mini.status.value, mini.deadline_at, now),
    ), outcome.status


@bp.post("/mini-competitions/<int:mini_competition_id>/quote/withdraw")
@roles_required(Role.PROVIDER)
def mini_competition_withdraw(mini_competition_id: int):
    """Withdraw your quote before the deadline."""
    return _button(
        mini_competition_id,
        lambda: services.withdraw_quote(mini_competition_id, current_user),
        "Your quote is withdrawn. You can send a new one until the deadline.",
    )


@bp.post("/mini-competitions/<int:mini_competition_id>/open")
@roles_required(*access.BUYER_ROLES)
def mini_competition_open(mini_competition_id: int):
    """Open the quotes after the deadline."""
    return _button(
        mini_competition_id,
        lambda: award.open_quotes(mini_competition_id, current_user),
        "The quotes are open.",
    )


@bp.post("/mini-competitions/<int:mini_competition_id>/award")
@roles_required(*access.BUYER_ROLES)
def mini_competition_award(mini_competition_id: int):
    """Decide the winner and place its call-off order."""
    return _button(
        mini_competition_id,
        lambda: award.award(mini_competition_id, current_user),
        "Decided: see the outcome below. The suppliers have been told.",
    )


@bp.post("/mini-competitions/<int:mini_competition_id>/quotes/<int:quote_id>/score")
@roles_required(*access.BUYER_ROLES)
def mini_competition_score(mini_competition_id: int, quote_id: int):
    """Score one opened quote's quality, 0 to 100."""
    form = ScoreForm()
    if form.validate_on_submit():
        try:
            award.score_quality(mini_competition_id, quote_id, current_user, form.score.data)
        except DomainError as exc:
            status = refusal_status(exc)
            field_errors(form, exc.field, exc.message)
            return _detail(
                mini_competition_id, status, score_forms={quote_id: form}, error=exc.message
            )
        flash("Quality score saved.", "success")
        return redirect(
            url_for("procurement.mini_competition_detail", mini_competition_id=mini_competition_id)
        )
    message = next(iter(form.score.errors), "The form has expired: try again.")
    return _detail(mini_competition_id, 400, score_forms={quote_id: form}, error=message)


def _reason_page(
    mini_competition_id: int,
    run: Callable[[str], Any],
    *,
    heading: str,
    hint: str,
    button: str,
    success: str,
) -> Any:
    mini = access.get_for_user(mini_competition_id, current_user)
    access.require_buyer(mini, current_user)
    form = ReasonForm()
    outcome = submit(form, lambda: run(form.reason.data or ""))
    if outcome.done:
        flash(success, "success")
        return redirect(url_for("procurement.mini_competition_detail", mini_competition_id=mini.id))
    return render_template(
        "procurement/minicomps/reason.html",
        form=form,
        mini=mini,
        heading=heading,
        hint=hint,
        button=button,
    ), outcome.status


@bp.route(
    "/mini-competitions/<int:mini_competition_id>/quotes/<int:quote_id>/set-aside",
    methods=["GET", "POST"],
)
@roles_required(*access.BUYER_ROLES)
def mini_competition_set_aside(mini_competition_id: int, quote_id: int):
    """Set an opened quote aside as not compliant, with the reason."""
    return _reason_page(
        mini_competition_id,
        lambda reason: award.set_aside_quote(mini_competition_id, quote_id, current_user, reason),
        heading="Set a quote aside as not compliant",
        hint="The supplier is told this reason with the outcome.",
        button="Set the quote aside",
        success="The quote is set aside: it will not be considered.",
    )


@bp.route("/mini-competitions/<int:mini_competition_id>/cancel", methods=["GET", "POST"])
@roles_required(*access.BUYER_ROLES)
def mini_competition_cancel(mini_competition_id: int):
    """Cancel the request before the quotes are opened."""
    return _reason_page(
        mini_competition_id,
        lambda reason: services.cancel_mini_competition(mini_competition_id, current_user, reason),
        heading="Cancel the quote request",
        hint="The suppliers are told this reason; any quote is discarded unopened.",
        button="Cancel the request",
        success="The quote request is cancelled and the suppliers told.",
    )


@bp.route("/mini-competitions/<int:mini_competition_id>/trail")
@login_required
def mini_competition_trail(mini_competition_id: int):
    """Every step of the mini-competition, oldest first (for the school and the partnership)."""
    now = utcnow()
    mini = access.get_for_user(mini_competition_id, current_user)
    page = reading.page_for(mini, current_user, now)
    if not page.may_read_all:
        abort(404)
    return render_template(
        "procurement/minicomps/trail.html",
        mini=mini,
        events=reading.trail(mini, now),
        sealed=page.sealed,
    )
