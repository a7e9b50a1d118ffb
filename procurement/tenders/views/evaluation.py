"""The committee opens the bids, sets non-compliant ones aside, evaluates (declarations,
scores, moderation), decides the award, enters into contracts and completes the tender; a bidder
reads its assessment summary.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.forms import submit
from app.models import Role
from app.security import roles_required
from app.time import utcnow
from marketplace.ratings.services import summaries_for_providers, summary_for_provider
from procurement.blueprint import bp
from procurement.kpis.queries import kpi_history_for_provider
from procurement.tenders import access, award, bids, documents, evaluation, opening, reading
from procurement.tenders.forms import DeclarationForm, ModerationForm, ReasonForm, ScoreForm
from procurement.tenders.models import Criterion, TenderStatus
from procurement.tenders.views.common import button, detail_url, load_tender


@bp.route("/tenders/<int:tender_id>/opening", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_confirm_opening(tender_id: int):
    """Confirm the bids may be opened; a second committee member's confirmation opens them."""

    def run(now: datetime) -> None:
        tender = opening.confirm_opening(tender_id, current_user, now=now)
        message = (
            "Bids opened: both confirmations are recorded."
            if tender.status is TenderStatus.OPENED
            else "Your confirmation is recorded. A second committee member must confirm too."
        )
        flash(message, "success")

    return button(tender_id, run, "")


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/disqualify", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_bid_disqualify(tender_id: int, bid_id: int):
    """Set a non-compliant bid aside (after opening, before evaluation), saying why."""
    now = utcnow()
    tender = load_tender(tender_id)
    bid = next((b for b in reading.opened_bids(tender) if b.id == bid_id), None)
    if bid is None:
        abort(404)
    form = ReasonForm()
    outcome = submit(
        form,
        lambda: opening.disqualify_bid(
            tender.id, bid.id, current_user, form.reason.data or "", now=now
        ),
    )
    if outcome.done:
        flash(f"{bid.provider.name}'s bid is disqualified; the bidder is told.", "success")
        return redirect(detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_disqualify.html", form=form, tender=tender, bid=bid
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/evaluation", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_start_evaluation(tender_id: int):
    """Fix the valid bids and start evaluation (or close an unsuccessful tender)."""

    def run(now: datetime) -> None:
        tender = opening.start_evaluation(tender_id, current_user, now=now)
        if tender.status is TenderStatus.UNSUCCESSFUL:
            flash("Too few valid bids: the tender is unsuccessful.", "success")
        else:
            flash("Evaluation started. Each evaluator declares interests per lot.", "success")

    return button(tender_id, run, "")


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/declaration", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_declaration(tender_id: int, lot_id: int):
    """Declare any conflict of interest with the lot's bidders before seeing their bids."""
    now = utcnow()
    tender = load_tender(tender_id)
    lot = access.get_lot(tender, lot_id)
    if not tender.is_opened:
        abort(404)
    form = DeclarationForm()
    outcome = submit(
        form,
        lambda: evaluation.declare_interests(
            tender.id,
            lot.id,
            current_user,
            form.has_conflict.data == "yes",
            form.details.data or "",
            now=now,
        ),
    )
    if outcome.done:
        flash(f"Declaration for lot {lot.number} recorded.", "success")
        return redirect(detail_url(tender.id))
    bidders = sorted({b.provider.name for b in reading.opened_bids(tender) if b.lot_id == lot.id})
    return render_template(
        "procurement/tenders/tender_declaration.html",
        form=form,
        tender=tender,
        lot=lot,
        bidders=bidders,
        declaration=bids.declaration_for(lot.id, current_user.id),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/evaluation")
@roles_required(Role.COMMITTEE)
def tender_lot_evaluation(tender_id: int, lot_id: int):
    """The lot's valid bids for an evaluator with no conflict: prices, answers, documents."""
    tender = load_tender(tender_id)
    lot = access.get_lot(tender, lot_id)
    bids.require_evaluator(tender, lot, current_user)
    lot_bids = evaluation.valid_bids(lot)
    my_scores = {
        (s.bid_id, s.criterion): s
        for s in evaluation.scores_for_lot(lot)
        if s.evaluator_id == current_user.id
    }
    return render_template(
        "procurement/tenders/tender_lot_evaluation.html",
        tender=tender,
        lot=lot,
        bids=lot_bids,
        prices=evaluation.evaluated_prices(tender, lot),
        ranking=evaluation.ranking(tender, lot),
        my_scores=my_scores,
        documents=documents.documents_by_bid([b.id for b in lot_bids]),
        questions={q.id: q for q in tender.questions},
        ratings=summaries_for_providers(b.provider_id for b in lot_bids),
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/score", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_bid_score(tender_id: int, bid_id: int):
    """Score one bid 0–100 on quality and social value."""
    now = utcnow()
    tender = load_tender(tender_id)
    bid = bids.bid_for_viewer(tender, bid_id, current_user)
    form = ScoreForm()
    if request.method == "GET":
        for score in evaluation.scores_for_lot(bid.lot):
            if score.bid_id == bid.id and score.evaluator_id == current_user.id:
                getattr(form, score.criterion.value).data = score.score
                getattr(form, f"{score.criterion.value}_comment").data = score.comment
    outcome = submit(
        form,
        lambda: evaluation.score_bid(
            tender.id,
            bid.id,
            current_user,
            {Criterion.QUALITY: form.quality.data, Criterion.SOCIAL_VALUE: form.social_value.data},
            {
                Criterion.QUALITY: form.quality_comment.data or "",
                Criterion.SOCIAL_VALUE: form.social_value_comment.data or "",
            },
            now=now,
        ),
    )
    if outcome.done:
        flash(f"Scores for {bid.provider.name} saved.", "success")
        return redirect(
            url_for("procurement.tender_lot_evaluation", tender_id=tender.id, lot_id=bid.lot_id)
        )
    return render_template(
        "procurement/tenders/tender_score.html",
        form=form,
        tender=tender,
        bid=bid,
        questions={q.id: q for q in tender.questions},
        rating=summary_for_provider(bid.provider_id),
        kpi_history=kpi_history_for_provider(bid.provider_id),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/moderation", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_moderation(tender_id: int, lot_id: int):
    """Agree the final scores of the lot's bids from the evaluators' scores."""
    now = utcnow()
    tender = load_tender(tender_id)
    lot = access.get_lot(tender, lot_id)
    bids.require_evaluator(tender, lot, current_user)
    rows = evaluation.moderation_rows(tender, lot)
    form = ModerationForm()
    if request.method == "GET":
        for row in rows:
            form.rows.append_entry(
                {
                    "bid_id": str(row.bid.id),
                    "quality": row.bid.quality_score
                    if row.bid.quality_score is not None
                    else row.suggested.get(Criterion.QUALITY),
                    "social_value": row.bid.social_value_score
                    if row.bid.social_value_score is not None
                    else row.suggested.get(Criterion.SOCIAL_VALUE),
                }
            )
    outcome = submit(
        form,
        lambda: evaluation.moderate_lot(tender.id, lot.id, current_user, form.to_input(), now=now),
    )
    if outcome.done:
        flash(f"Moderated scores for lot {lot.number} saved: the ranking is ready.", "success")
        return redirect(
            url_for("procurement.tender_lot_evaluation", tender_id=tender.id, lot_id=lot.id)
        )
    return render_template(
        "procurement/tenders/tender_moderation.html",
        form=form,
        tender=tender,
        lot=lot,
        rows={row.bid.id: row for row in rows},
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/award", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_award(tender_id: int):
    """Decide the award: the UK6 notice is released and the standstill starts."""

    def run(now: datetime) -> None:
        tender = award.decide_award(tender_id, current_user, now=now)
        flash(
            "Award decided and every bidder has its assessment summary. The standstill runs "
            f"until the end of {tender.standstill_ends_on:%-d %B %Y}.",
            "success",
        )

    return button(tender_id, run, "")


@bp.route("/tenders/<int:tender_id>/contracts", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_enter_contracts(tender_id: int):
    """Enter into the contracts once the standstill is over (refused before)."""
    return button(
        tender_id,
        lambda now: award.enter_into_contracts(tender_id, current_user, now=now),
        "Contracts entered into: they are in the contracts register and schools can call off.",
    )


@bp.route("/tenders/<int:tender_id>/complete", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_complete(tender_id: int):
    """Close the procurement."""
    return button(
        tender_id,
        lambda now: award.complete_tender(tender_id, current_user, now=now),
        "Tender complete.",
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/assessment")
@roles_required(Role.COMMITTEE, Role.PROVIDER)
def tender_assessment(tender_id: int, bid_id: int):
    """A bidder's assessment summary: its scores and rank, and the winning scores."""
    tender = load_tender(tender_id)
    bid = bids.bid_for_viewer(tender, bid_id, current_user)
    if tender.award_decided_at is None:
        abort(404)
    return render_template(
        "procurement/tenders/tender_assessment.html",
        tender=tender,
        summary=award.assessment_summary(tender, bid),
        kpi_history=kpi_history_for_provider(bid.provider_id)
        if current_user.role is Role.COMMITTEE
        else None,
    )
