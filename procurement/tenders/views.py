"""Tender pages: the committee runs competitions, providers bid, everyone reads the notices.

Each view takes one `now` for the whole request and passes it to the use cases, so a request
sees one consistent stage of the tender (a deadline cannot pass half-way through a page).
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from app.errors import DomainError, refusal_status
from app.extensions import db
from app.forms import ActionForm, field_errors, submit
from app.models import Role, School
from app.security import roles_required
from app.time import format_instant, london_date_and_time, to_london, utcnow
from marketplace.catalogue.models import Service
from procurement.blueprint import bp
from procurement.tenders import bids as bid_service
from procurement.tenders import documents as document_service
from procurement.tenders import evaluation as evaluation_service
from procurement.tenders import ocds
from procurement.tenders import services as tenders
from procurement.tenders.forms import (
    AnswerForm,
    BidDocumentForm,
    BidForm,
    ClarificationForm,
    DeclarationForm,
    DocumentForm,
    LotForm,
    ModerationForm,
    QuestionForm,
    ReasonForm,
    ScoreForm,
    TenderForm,
)
from procurement.tenders.models import (
    TENDER_PUBLISHED_STATUSES,
    BidStatus,
    Criterion,
    Tender,
    TenderBid,
    TenderStage,
    TenderStatus,
)
from procurement.tenders.rules import first_contract_day

TENDER_ROLES = (Role.COMMITTEE, Role.ADMIN, Role.PROVIDER)


def _tender(tender_id: int) -> Tender:
    return tenders.get_tender_for_user(tender_id, current_user)


def _detail_url(tender_id: int) -> str:
    return url_for("procurement.tender_detail", tender_id=tender_id)


def _read_upload(field: Any) -> tuple[str, bytes]:
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return "", b""
    return storage.filename, storage.read()


# --- Lists and the tender page ---------------------------------------------------------------


@bp.route("/tenders", endpoint="tenders")
@roles_required(*TENDER_ROLES)
def tenders_list():  # type: ignore[no-untyped-def]
    """Tenders: all of them for the partnership; published ones (and your updates) for providers."""
    now = utcnow()
    notifications = []
    own: dict[int, int] = {}
    if current_user.role is Role.PROVIDER:
        notifications = tenders.notifications_for_provider(current_user.provider_id)
        own = {
            tender_id: count
            for tender_id, count in db.session.execute(
                sa.select(TenderBid.tender_id, sa.func.count())
                .where(
                    TenderBid.provider_id == current_user.provider_id,
                    TenderBid.status == BidStatus.SUBMITTED,
                )
                .group_by(TenderBid.tender_id)
            )
        }
    return render_template(
        "procurement/tenders/tenders.html",
        tenders=tenders.tenders_for_user(current_user),
        notifications=notifications,
        own_bids=own,
        now=now,
    )


def _detail_context(tender: Tender, now: datetime) -> dict[str, Any]:
    role = current_user.role
    context: dict[str, Any] = {
        "tender": tender,
        "now": now,
        "stage": tender.stage(now),
        "documents": tenders.tender_documents(tender),
        "clarifications": tenders.clarifications_for(tender, current_user),
        "amendments": tenders.amendments(tender),
        "school_names": tenders.school_names(tender),
        "action_form": ActionForm(),
        "Criterion": Criterion,
        "TenderStage": TenderStage,
    }
    if role is Role.COMMITTEE:
        context["problems"] = (
            tenders.publication_problems(tender, now) if tender.status is TenderStatus.DRAFT else []
        )
        context["answer_form"] = AnswerForm()
        context["progress"] = evaluation_service.evaluation_progress(tender, current_user)
    if role in (Role.COMMITTEE, Role.ADMIN):
        context["confirmations"] = tender.opening_confirmations
        context["opened_bids"] = tenders.opened_bids(tender)
        context["contracts"] = tenders.tender_contracts(tender)
        if tender.award_decided_at is not None:
            context["rankings"] = {
                lot.id: evaluation_service.ranking(tender, lot) for lot in tender.lots
            }
            context["first_contract_day"] = first_contract_day(tender.standstill_ends_on)
    if role is Role.PROVIDER:
        context["own_bids"] = bid_service.own_bids(tender, current_user.provider_id)
        context["notifications"] = tenders.notifications_for_provider(
            current_user.provider_id, tender.id
        )
        context["clarification_form"] = ClarificationForm()
        context["contracts"] = [
            c for c in tenders.tender_contracts(tender) if c.provider_id == current_user.provider_id
        ]
    return context


@bp.route("/tenders/<int:tender_id>")
@roles_required(*TENDER_ROLES)
def tender_detail(tender_id: int):  # type: ignore[no-untyped-def]
    """One tender: what it is for, its stage, and what this person can do next."""
    now = utcnow()
    tender = _tender(tender_id)
    return render_template("procurement/tenders/tender_detail.html", **_detail_context(tender, now))


def _refused(tender_id: int, exc: DomainError, now: datetime) -> Any:
    """A refused button: the tender page again with the reason, and the error's status."""
    status = refusal_status(exc)
    tender = _tender(tender_id)
    context = _detail_context(tender, now)
    context["errors"] = [exc.message]
    return render_template("procurement/tenders/tender_detail.html", **context), status


def _button(tender_id: int, run: Any, success: str) -> Any:
    """Run a one-click use case with this request's `now`; flash and go back to the tender."""
    now = utcnow()
    _tender(tender_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(now)
    except DomainError as exc:
        return _refused(tender_id, exc, now)
    if success:
        flash(success, "success")
    return redirect(_detail_url(tender_id))


# --- The committee drafts and changes a tender -------------------------------------------------


def _school_choices(form: TenderForm) -> None:
    form.school_ids.choices = [
        (s.id, s.name)
        for s in db.session.scalars(
            sa.select(School).where(School.is_member.is_(True)).order_by(School.name)
        )
    ]


@bp.route("/tenders/new", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_new():  # type: ignore[no-untyped-def]
    """Start a draft tender: what, when, how bids are scored, which schools take part."""
    now = utcnow()
    form = TenderForm()
    _school_choices(form)
    if request.method == "GET":
        form.school_ids.data = [value for value, _ in form.school_ids.choices]
    outcome = submit(form, lambda: tenders.create_tender(current_user, form.to_input(), now=now))
    if outcome.done:
        flash("Draft tender saved. Add its lots and questions, then publish it.", "success")
        return redirect(_detail_url(outcome.result.id))
    return render_template(
        "procurement/tenders/tender_form.html", form=form, tender=None
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_edit(tender_id: int):  # type: ignore[no-untyped-def]
    """Change a draft, or an open tender before its deadline (bidders are told)."""
    now = utcnow()
    tender = _tender(tender_id)
    form = TenderForm()
    _school_choices(form)
    if request.method == "GET":
        form.title.data = tender.title
        form.description.data = tender.description
        form.deadline_on.data, form.deadline_time.data = london_date_and_time(tender.deadline_at)
        form.contract_starts_on.data = tender.contract_starts_on
        form.contract_ends_on.data = tender.contract_ends_on
        form.min_valid_bids.data = tender.min_valid_bids
        form.price_weight.data = tender.price_weight
        form.quality_weight.data = tender.quality_weight
        form.social_value_weight.data = tender.social_value_weight
        form.school_ids.data = [s.school_id for s in tender.schools]
    outcome = submit(
        form,
        lambda: tenders.update_tender(
            tender.id, current_user, form.to_input(), now=now, reason=form.reason.data
        ),
    )
    if outcome.done:
        flash(_changed_message(tender), "success")
        return redirect(_detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_form.html", form=form, tender=tender, stage=tender.stage(now)
    ), outcome.status


def _changed_message(tender: Tender) -> str:
    if tender.status is TenderStatus.OPEN:
        return (
            "Tender changed. Bidders have been told and must re-confirm their bids; the "
            f"deadline is {format_instant(tender.deadline_at)}."
        )
    return "Tender saved."


def _service_choices(form: LotForm) -> None:
    form.service_id.choices = [(0, "Choose a service")] + [
        (s.id, f"{s.name} (per {s.unit.value})")
        for s in db.session.scalars(
            sa.select(Service).where(Service.active.is_(True)).order_by(Service.name)
        )
    ]


@bp.route("/tenders/<int:tender_id>/lots/new", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_lot_new(tender_id: int):  # type: ignore[no-untyped-def]
    """Add a lot: a service, the volume expected, single- or multi-sourced."""
    return _lot_form(tender_id, None)


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/edit", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_lot_edit(tender_id: int, lot_id: int):  # type: ignore[no-untyped-def]
    """Change a lot."""
    return _lot_form(tender_id, lot_id)


def _lot_form(tender_id: int, lot_id: int | None) -> Any:
    now = utcnow()
    tender = _tender(tender_id)
    lot = tenders.get_lot(tender, lot_id) if lot_id is not None else None
    form = LotForm()
    _service_choices(form)
    if request.method == "GET" and lot is not None:
        form.title.data = lot.title
        form.description.data = lot.description
        form.service_id.data = lot.service_id
        form.expected_volume.data = lot.expected_volume
        form.max_suppliers.data = lot.max_suppliers

    def save() -> object:
        if lot is None:
            return tenders.add_lot(
                tender.id, current_user, form.to_input(), now=now, reason=form.reason.data
            )
        return tenders.update_lot(
            tender.id, lot.id, current_user, form.to_input(), now=now, reason=form.reason.data
        )

    outcome = submit(form, save)
    if outcome.done:
        flash(_changed_message(tender) if lot else "Lot added.", "success")
        return redirect(_detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_lot_form.html",
        form=form,
        tender=tender,
        lot=lot,
        stage=tender.stage(now),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/remove", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_lot_remove(tender_id: int, lot_id: int):  # type: ignore[no-untyped-def]
    """Remove a lot from a draft."""
    return _button(
        tender_id,
        lambda now: tenders.remove_lot(tender_id, lot_id, current_user, now=now),
        "Lot removed.",
    )


@bp.route("/tenders/<int:tender_id>/questions/new", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_question_new(tender_id: int):  # type: ignore[no-untyped-def]
    """Add a quality or social-value question every bidder answers."""
    now = utcnow()
    tender = _tender(tender_id)
    form = QuestionForm()
    outcome = submit(
        form,
        lambda: tenders.add_question(
            tender.id, current_user, form.to_input(), now=now, reason=form.reason.data
        ),
    )
    if outcome.done:
        flash("Question added.", "success")
        return redirect(_detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_question_form.html",
        form=form,
        tender=tender,
        stage=tender.stage(now),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/questions/<int:question_id>/remove", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_question_remove(tender_id: int, question_id: int):  # type: ignore[no-untyped-def]
    """Remove a question from a draft."""
    return _button(
        tender_id,
        lambda now: tenders.remove_question(tender_id, question_id, current_user, now=now),
        "Question removed.",
    )


@bp.route("/tenders/<int:tender_id>/documents", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_documents(tender_id: int):  # type: ignore[no-untyped-def]
    """Publish a document with the tender (specification, terms, pricing schedule…)."""
    now = utcnow()
    tender = _tender(tender_id)
    form = DocumentForm()

    def attach() -> object:
        filename, content = _read_upload(form.file)
        return document_service.attach_to_tender(
            tender.id, current_user, filename, content, now=now, reason=form.reason.data
        )

    outcome = submit(form, attach)
    if outcome.done:
        flash("Document added to the tender.", "success")
        return redirect(_detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_documents.html",
        form=form,
        tender=tender,
        stage=tender.stage(now),
        documents=tenders.tender_documents(tender),
        limits=document_service,
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_publish(tender_id: int):  # type: ignore[no-untyped-def]
    """Open the tender for bids and release the UK4 tender notice."""
    return _button(
        tender_id,
        lambda now: tenders.publish_tender(tender_id, current_user, now=now),
        "Tender published: providers can now bid. The UK4 tender notice is released.",
    )


@bp.route("/tenders/<int:tender_id>/cancel", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_cancel(tender_id: int):  # type: ignore[no-untyped-def]
    """Cancel the tender; bids not yet opened are discarded unopened."""
    now = utcnow()
    tender = _tender(tender_id)
    form = ReasonForm()
    outcome = submit(
        form, lambda: tenders.cancel_tender(tender.id, current_user, form.reason.data, now=now)
    )
    if outcome.done:
        flash("Tender cancelled.", "success")
        return redirect(_detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_cancel.html", form=form, tender=tender, stage=tender.stage(now)
    ), outcome.status


# --- Clarifications ---------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/clarifications", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_ask(tender_id: int):  # type: ignore[no-untyped-def]
    """A provider asks a clarification question (the answer goes to every bidder)."""
    now = utcnow()
    tender = _tender(tender_id)
    form = ClarificationForm()
    outcome = submit(
        form,
        lambda: tenders.ask_clarification(tender.id, current_user, form.question.data, now=now),
    )
    if outcome.done:
        flash("Question sent. The answer will be published to every bidder.", "success")
        return redirect(_detail_url(tender.id) + "#clarifications")
    context = _detail_context(tender, now)
    context["clarification_form"] = form
    return render_template("procurement/tenders/tender_detail.html", **context), outcome.status


@bp.route(
    "/tenders/<int:tender_id>/clarifications/<int:clarification_id>/answer",
    methods=["GET", "POST"],
)
@roles_required(Role.COMMITTEE)
def tender_answer(tender_id: int, clarification_id: int):  # type: ignore[no-untyped-def]
    """Answer a clarification question once, to all bidders, without naming who asked."""
    now = utcnow()
    tender = _tender(tender_id)
    clarification = next(
        (c for c in tenders.clarifications_for(tender, current_user) if c.id == clarification_id),
        None,
    )
    if clarification is None:
        abort(404)
    form = AnswerForm()
    outcome = submit(
        form,
        lambda: tenders.answer_clarification(
            tender.id, clarification.id, current_user, form.answer.data, now=now
        ),
    )
    if outcome.done:
        flash("Answer published to every bidder.", "success")
        return redirect(_detail_url(tender.id) + "#clarifications")
    return render_template(
        "procurement/tenders/tender_answer.html",
        form=form,
        tender=tender,
        clarification=clarification,
        stage=tender.stage(now),
    ), outcome.status


# --- Opening, compliance, evaluation, award ----------------------------------------------------


@bp.route("/tenders/<int:tender_id>/opening", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_confirm_opening(tender_id: int):  # type: ignore[no-untyped-def]
    """Confirm the bids may be opened; a second committee member's confirmation opens them."""

    def run(now: datetime) -> None:
        tender = tenders.confirm_opening(tender_id, current_user, now=now)
        message = (
            "Bids opened: both confirmations are recorded."
            if tender.status is TenderStatus.OPENED
            else "Your confirmation is recorded. A second committee member must confirm too."
        )
        flash(message, "success")

    return _button(tender_id, run, "")


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/disqualify", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_bid_disqualify(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """Set a non-compliant bid aside (after opening, before evaluation), saying why."""
    now = utcnow()
    tender = _tender(tender_id)
    bid = next((b for b in tenders.opened_bids(tender) if b.id == bid_id), None)
    if bid is None:
        abort(404)
    form = ReasonForm()
    outcome = submit(
        form,
        lambda: tenders.disqualify_bid(tender.id, bid.id, current_user, form.reason.data, now=now),
    )
    if outcome.done:
        flash(f"{bid.provider.name}'s bid is disqualified; the bidder is told.", "success")
        return redirect(_detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_disqualify.html", form=form, tender=tender, bid=bid
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/evaluation", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_start_evaluation(tender_id: int):  # type: ignore[no-untyped-def]
    """Fix the valid bids and start evaluation (or close an unsuccessful tender)."""

    def run(now: datetime) -> None:
        tender = tenders.start_evaluation(tender_id, current_user, now=now)
        if tender.status is TenderStatus.UNSUCCESSFUL:
            flash("Too few valid bids: the tender is unsuccessful.", "success")
        else:
            flash("Evaluation started. Each evaluator declares interests per lot.", "success")

    return _button(tender_id, run, "")


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/declaration", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_declaration(tender_id: int, lot_id: int):  # type: ignore[no-untyped-def]
    """Declare any conflict of interest with the lot's bidders before seeing their bids."""
    now = utcnow()
    tender = _tender(tender_id)
    lot = tenders.get_lot(tender, lot_id)
    if not tender.is_opened:
        abort(404)
    form = DeclarationForm()
    outcome = submit(
        form,
        lambda: evaluation_service.declare_interests(
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
        return redirect(_detail_url(tender.id))
    bidders = sorted({b.provider.name for b in tenders.opened_bids(tender) if b.lot_id == lot.id})
    return render_template(
        "procurement/tenders/tender_declaration.html",
        form=form,
        tender=tender,
        lot=lot,
        bidders=bidders,
        declaration=bid_service.declaration_for(lot.id, current_user.id),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/evaluation")
@roles_required(Role.COMMITTEE)
def tender_lot_evaluation(tender_id: int, lot_id: int):  # type: ignore[no-untyped-def]
    """The lot's valid bids for an evaluator with no conflict: prices, answers, documents."""
    tender = _tender(tender_id)
    lot = tenders.get_lot(tender, lot_id)
    bid_service.require_evaluator(tender, lot, current_user)
    lot_bids = evaluation_service.valid_bids(lot)
    my_scores = {
        (s.bid_id, s.criterion): s
        for s in evaluation_service.scores_for_lot(lot)
        if s.evaluator_id == current_user.id
    }
    return render_template(
        "procurement/tenders/tender_lot_evaluation.html",
        tender=tender,
        lot=lot,
        bids=lot_bids,
        prices=evaluation_service.evaluated_prices(tender, lot),
        ranking=evaluation_service.ranking(tender, lot),
        my_scores=my_scores,
        documents=document_service.documents_by_bid([b.id for b in lot_bids]),
        questions={q.id: q for q in tender.questions},
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/score", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_bid_score(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """Score one bid 0–100 on quality and social value."""
    now = utcnow()
    tender = _tender(tender_id)
    bid = bid_service.bid_for_viewer(tender, bid_id, current_user)
    form = ScoreForm()
    if request.method == "GET":
        for score in evaluation_service.scores_for_lot(bid.lot):
            if score.bid_id == bid.id and score.evaluator_id == current_user.id:
                getattr(form, score.criterion.value).data = score.score
                getattr(form, f"{score.criterion.value}_comment").data = score.comment
    outcome = submit(
        form,
        lambda: evaluation_service.score_bid(
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
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/moderation", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_moderation(tender_id: int, lot_id: int):  # type: ignore[no-untyped-def]
    """Agree the final scores of the lot's bids from the evaluators' scores."""
    now = utcnow()
    tender = _tender(tender_id)
    lot = tenders.get_lot(tender, lot_id)
    bid_service.require_evaluator(tender, lot, current_user)
    rows = evaluation_service.moderation_rows(tender, lot)
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
    status = 200
    if form.validate_on_submit():
        moderated: dict[int, dict[Criterion, int | None]] = {}
        for entry in form.rows:
            try:
                bid_key = int(entry.form.bid_id.data)
            except (TypeError, ValueError):
                continue
            moderated[bid_key] = {
                Criterion.QUALITY: entry.form.quality.data,
                Criterion.SOCIAL_VALUE: entry.form.social_value.data,
            }
        try:
            evaluation_service.moderate_lot(tender.id, lot.id, current_user, moderated, now=now)
        except DomainError as exc:
            status = refusal_status(exc)
            form.form_errors.append(exc.message)
        else:
            flash(f"Moderated scores for lot {lot.number} saved: the ranking is ready.", "success")
            return redirect(
                url_for("procurement.tender_lot_evaluation", tender_id=tender.id, lot_id=lot.id)
            )
    elif request.method == "POST":
        status = 400
    return render_template(
        "procurement/tenders/tender_moderation.html",
        form=form,
        tender=tender,
        lot=lot,
        rows={row.bid.id: row for row in rows},
    ), status


@bp.route("/tenders/<int:tender_id>/award", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_award(tender_id: int):  # type: ignore[no-untyped-def]
    """Decide the award: the UK6 notice is released and the standstill starts."""

    def run(now: datetime) -> None:
        tender = evaluation_service.decide_award(tender_id, current_user, now=now)
        flash(
            "Award decided and every bidder has its assessment summary. The standstill runs "
            f"until the end of {tender.standstill_ends_on:%-d %B %Y}.",
            "success",
        )

    return _button(tender_id, run, "")


@bp.route("/tenders/<int:tender_id>/contracts", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_enter_contracts(tender_id: int):  # type: ignore[no-untyped-def]
    """Enter into the contracts once the standstill is over (refused before)."""
    return _button(
        tender_id,
        lambda now: tenders.enter_into_contracts(tender_id, current_user, now=now),
        "Contracts entered into: they are in the contracts register and schools can call off.",
    )


@bp.route("/tenders/<int:tender_id>/complete", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_complete(tender_id: int):  # type: ignore[no-untyped-def]
    """Close the procurement."""
    return _button(
        tender_id,
        lambda now: tenders.complete_tender(tender_id, current_user, now=now),
        "Tender complete.",
    )


@bp.route("/tenders/<int:tender_id>/audit")
@roles_required(Role.COMMITTEE, Role.ADMIN)
def tender_audit(tender_id: int):  # type: ignore[no-untyped-def]
    """Every change to the tender: who, when, what, before and after."""
    tender = _tender(tender_id)
    return render_template(
        "procurement/tenders/tender_audit.html", tender=tender, events=tenders.trail_rows(tender)
    )


# --- Documents ---------------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/documents/<int:document_id>")
@roles_required(*TENDER_ROLES)
def tender_document(tender_id: int, document_id: int):  # type: ignore[no-untyped-def]
    """Download a document (a bid's only by its bidder, or an evaluator after opening)."""
    tender = _tender(tender_id)
    document = document_service.document_for_download(tender, document_id, current_user)
    response = send_file(
        io.BytesIO(document.content),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Digest"] = f"sha-256={document.sha256}"
    return response


# --- Providers' bids -----------------------------------------------------------------------------


def _fill_answers(form: BidForm, tender: Tender, bid: TenderBid | None) -> None:
    existing = {a.question_id: a.text for a in bid.answers} if bid else {}
    while len(form.answers.entries):
        form.answers.pop_entry()
    for question in tender.questions:
        form.answers.append_entry(
            {"question_id": str(question.id), "text": existing.get(question.id, "")}
        )


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/bid", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def tender_bid_form(tender_id: int, lot_id: int):  # type: ignore[no-untyped-def]
    """Send (or change) your bid for a lot: price tiers, capacity and answers."""
    now = utcnow()
    tender = _tender(tender_id)
    lot = tenders.get_lot(tender, lot_id)
    existing = bid_service.own_bids(tender, current_user.provider_id).get(lot.id)
    form = BidForm()
    if request.method == "GET":
        if existing is not None:
            for entry, tier in zip(form.tiers, existing.tiers, strict=False):
                entry.form.min_quantity.data = tier.min_quantity
                entry.form.unit_price.data = tier.unit_price_pence
            form.capacity.data = existing.capacity
        _fill_answers(form, tender, existing)
    status = 200
    if form.validate_on_submit():
        data = form.to_input()
        if data is None:
            status = 400
        else:
            try:
                bid = bid_service.submit_bid(tender.id, lot.id, current_user, data, now=now)
            except DomainError as exc:
                status = refusal_status(exc)
                name = exc.field
                field_errors(
                    form, name if name and not name.startswith("answer-") else None, exc.message
                )
            else:
                flash(
                    f"Bid for lot {lot.number} received at "
                    f"{format_instant(bid.submitted_at)}. It stays sealed until the "
                    "deadline: only you can see it.",
                    "success",
                )
                return redirect(
                    url_for("procurement.tender_bid", tender_id=tender.id, bid_id=bid.id)
                )
    elif request.method == "POST":
        status = 400
    questions = {q.id: q for q in tender.questions}
    return render_template(
        "procurement/tenders/tender_bid_form.html",
        form=form,
        tender=tender,
        lot=lot,
        bid=existing,
        questions=questions,
        stage=tender.stage(now),
        now=now,
    ), status


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>")
@roles_required(*TENDER_ROLES)
def tender_bid(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """A bid: to its bidder at any time; to a conflict-free evaluator once opened."""
    now = utcnow()
    tender = _tender(tender_id)
    bid = bid_service.bid_for_viewer(tender, bid_id, current_user)
    return render_template(
        "procurement/tenders/tender_bid.html",
        tender=tender,
        bid=bid,
        stage=tender.stage(now),
        questions={q.id: q for q in tender.questions},
        documents=document_service.bid_documents(bid.id),
        document_form=BidDocumentForm(),
        action_form=ActionForm(),
        is_bidder=current_user.role is Role.PROVIDER,
        limits=document_service,
        now=now,
    )


def _bid_button(tender_id: int, bid_id: int, run: Any, success: str) -> Any:
    now = utcnow()
    tender = _tender(tender_id)
    bid = bid_service.own_bid(tender, bid_id, current_user.provider_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(now)
    except DomainError as exc:
        status = refusal_status(exc)
        return render_template(
            "procurement/tenders/tender_bid.html",
            tender=tender,
            bid=bid,
            stage=tender.stage(now),
            questions={q.id: q for q in tender.questions},
            documents=document_service.bid_documents(bid.id),
            document_form=BidDocumentForm(),
            action_form=ActionForm(),
            is_bidder=True,
            limits=document_service,
            errors=[exc.message],
            now=now,
        ), status
    flash(success, "success")
    return redirect(url_for("procurement.tender_bid", tender_id=tender_id, bid_id=bid_id))


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/withdraw", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_bid_withdraw(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """Withdraw your bid before the deadline."""
    return _bid_button(
        tender_id,
        bid_id,
        lambda now: bid_service.withdraw_bid(tender_id, bid_id, current_user, now=now),
        "Bid withdrawn. You can send it again before the deadline.",
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/reconfirm", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_bid_reconfirm(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """Confirm your bid still stands after the tender changed."""
    return _bid_button(
        tender_id,
        bid_id,
        lambda now: bid_service.reconfirm_bid(tender_id, bid_id, current_user, now=now),
        "Bid re-confirmed: it counts.",
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/documents", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_bid_document_upload(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """Add a document to your bid before the deadline."""
    now = utcnow()
    tender = _tender(tender_id)
    bid = bid_service.own_bid(tender, bid_id, current_user.provider_id)
    form = BidDocumentForm()

    def attach() -> object:
        filename, content = _read_upload(form.file)
        return document_service.attach_to_bid(
            tender.id, bid.id, current_user, filename, content, now=now
        )

    outcome = submit(form, attach)
    if outcome.done:
        flash("Document added to your bid.", "success")
        return redirect(url_for("procurement.tender_bid", tender_id=tender.id, bid_id=bid.id))
    bid = bid_service.own_bid(tender, bid_id, current_user.provider_id)
    return render_template(
        "procurement/tenders/tender_bid.html",
        tender=tender,
        bid=bid,
        stage=tender.stage(now),
        questions={q.id: q for q in tender.questions},
        documents=document_service.bid_documents(bid.id),
        document_form=form,
        action_form=ActionForm(),
        is_bidder=True,
        limits=document_service,
        now=now,
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/assessment")
@roles_required(Role.COMMITTEE, Role.PROVIDER)
def tender_assessment(tender_id: int, bid_id: int):  # type: ignore[no-untyped-def]
    """A bidder's assessment summary: its scores and rank, and the winning scores."""
    tender = _tender(tender_id)
    bid = bid_service.bid_for_viewer(tender, bid_id, current_user)
    if tender.award_decided_at is None:
        abort(404)
    return render_template(
        "procurement/tenders/tender_assessment.html",
        tender=tender,
        summary=evaluation_service.assessment_summary(tender, bid),
    )


# --- OCDS notices -------------------------------------------------------------------------------


@bp.route("/tenders/notices")
@login_required
def tender_notices():  # type: ignore[no-untyped-def]
    """The partnership's published notices (OCDS) and where to download them."""
    published = list(
        db.session.scalars(
            sa.select(Tender)
            .where(Tender.status.in_(TENDER_PUBLISHED_STATUSES))
            .order_by(Tender.published_at.desc(), Tender.id.desc())
        )
    )
    return render_template(
        "procurement/tenders/tender_notices.html",
        tenders=published,
        releases=tenders.release_counts([t.id for t in published]),
    )


def _json_download(package: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(package, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/tenders/notices/ocds.json")
@login_required
def tender_ocds_all():  # type: ignore[no-untyped-def]
    """Every published release, as one OCDS 1.1 release package."""
    try:
        package = ocds.release_package(uri=request.url)
    except DomainError:
        abort(404)
    return _json_download(package, "pooled-ocds-releases.json")


@bp.route("/tenders/<int:tender_id>/ocds.json")
@login_required
def tender_ocds(tender_id: int):  # type: ignore[no-untyped-def]
    """One tender's published releases, as an OCDS 1.1 release package."""
    tender = db.session.get(Tender, tender_id)
    if tender is None or tender.status not in TENDER_PUBLISHED_STATUSES:
        abort(404)
    package = ocds.release_package(tender.id, uri=request.url)
    stamp = to_london(utcnow()).strftime("%Y%m%d")
    return _json_download(package, f"{tender.ocid}-{stamp}.json")
