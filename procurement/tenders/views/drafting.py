"""The committee drafts, changes, publishes and cancels a tender, and answers clarification
questions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request
from flask_login import current_user

from app.extensions import db
from app.forms import submit
from app.models import Role, School
from app.security import roles_required
from app.time import format_instant, london_date_and_time, utcnow
from marketplace.catalogue.models import Service
from procurement.blueprint import bp
from procurement.tenders import access, clarifications, documents, drafting, publication, reading
from procurement.tenders.forms import (
    AnswerForm,
    DocumentForm,
    LotForm,
    QuestionForm,
    ReasonForm,
    TenderForm,
)
from procurement.tenders.models import Tender, TenderStatus
from procurement.tenders.views.common import button, detail_url, load_tender, read_upload


def _school_choices(form: TenderForm) -> list[int]:
    """Offer the member schools to choose from; their ids."""
    choices = [
        (s.id, s.name)
        for s in db.session.scalars(
            sa.select(School).where(School.is_member.is_(True)).order_by(School.name)
        )
    ]
    form.school_ids.choices = choices
    return [school_id for school_id, _ in choices]


@bp.route("/tenders/new", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_new():
    """Start a draft tender: what, when, how bids are scored, which schools take part."""
    now = utcnow()
    form = TenderForm()
    schools = _school_choices(form)
    if request.method == "GET":
        form.school_ids.data = schools
    outcome = submit(form, lambda: drafting.create_tender(current_user, form.to_input(), now=now))
    if outcome.done:
        flash("Draft tender saved. Add its lots and questions, then publish it.", "success")
        return redirect(detail_url(outcome.value.id))
    return render_template(
        "procurement/tenders/tender_form.html", form=form, tender=None
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_edit(tender_id: int):
    """Change a draft, or an open tender before its deadline (bidders are told)."""
    now = utcnow()
    tender = load_tender(tender_id)
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
        lambda: drafting.update_tender(
            tender.id, current_user, form.to_input(), now=now, reason=form.reason.data
        ),
    )
    if outcome.done:
        flash(_changed_message(tender), "success")
        return redirect(detail_url(tender.id))
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
def tender_lot_new(tender_id: int):
    """Add a lot: a service, the volume expected, single- or multi-sourced."""
    return _lot_form(tender_id, None)


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/edit", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_lot_edit(tender_id: int, lot_id: int):
    """Change a lot."""
    return _lot_form(tender_id, lot_id)


def _lot_form(tender_id: int, lot_id: int | None) -> Any:
    now = utcnow()
    tender = load_tender(tender_id)
    lot = access.get_lot(tender, lot_id) if lot_id is not None else None
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
            return drafting.add_lot(
                tender.id, current_user, form.to_input(), now=now, reason=form.reason.data
            )
        return drafting.update_lot(
            tender.id, lot.id, current_user, form.to_input(), now=now, reason=form.reason.data
        )

    outcome = submit(form, save)
    if outcome.done:
        flash(_changed_message(tender) if lot else "Lot added.", "success")
        return redirect(detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_lot_form.html",
        form=form,
        tender=tender,
        lot=lot,
        stage=tender.stage(now),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/lots/<int:lot_id>/remove", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_lot_remove(tender_id: int, lot_id: int):
    """Remove a lot from a draft."""
    return button(
        tender_id,
        lambda now: drafting.remove_lot(tender_id, lot_id, current_user, now=now),
        "Lot removed.",
    )


@bp.route("/tenders/<int:tender_id>/questions/new", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_question_new(tender_id: int):
    """Add a quality or social-value question every bidder answers."""
    now = utcnow()
    tender = load_tender(tender_id)
    form = QuestionForm()
    outcome = submit(
        form,
        lambda: drafting.add_question(
            tender.id, current_user, form.to_input(), now=now, reason=form.reason.data
        ),
    )
    if outcome.done:
        flash("Question added.", "success")
        return redirect(detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_question_form.html",
        form=form,
        tender=tender,
        stage=tender.stage(now),
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/questions/<int:question_id>/remove", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_question_remove(tender_id: int, question_id: int):
    """Remove a question from a draft."""
    return button(
        tender_id,
        lambda now: drafting.remove_question(tender_id, question_id, current_user, now=now),
        "Question removed.",
    )


@bp.route("/tenders/<int:tender_id>/documents", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_documents(tender_id: int):
    """Publish a document with the tender (specification, terms, pricing schedule…)."""
    now = utcnow()
    tender = load_tender(tender_id)
    form = DocumentForm()

    def attach() -> object:
        filename, content = read_upload(form.file)
        return documents.attach_to_tender(
            tender.id, current_user, filename, content, now=now, reason=form.reason.data
        )

    outcome = submit(form, attach)
    if outcome.done:
        flash("Document added to the tender.", "success")
        return redirect(detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_documents.html",
        form=form,
        tender=tender,
        stage=tender.stage(now),
        documents=reading.tender_documents(tender),
        limits=documents,
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@roles_required(Role.COMMITTEE)
def tender_publish(tender_id: int):
    """Open the tender for bids and release the UK4 tender notice."""
    return button(
        tender_id,
        lambda now: publication.publish_tender(tender_id, current_user, now=now),
        "Tender published: providers can now bid. The UK4 tender notice is released.",
    )


@bp.route("/tenders/<int:tender_id>/cancel", methods=["GET", "POST"])
@roles_required(Role.COMMITTEE)
def tender_cancel(tender_id: int):
    """Cancel the tender; bids not yet opened are discarded unopened."""
    now = utcnow()
    tender = load_tender(tender_id)
    form = ReasonForm()
    outcome = submit(
        form,
        lambda: publication.cancel_tender(tender.id, current_user, form.reason.data or "", now=now),
    )
    if outcome.done:
        flash("Tender cancelled.", "success")
        return redirect(detail_url(tender.id))
    return render_template(
        "procurement/tenders/tender_cancel.html", form=form, tender=tender, stage=tender.stage(now)
    ), outcome.status


@bp.route(
    "/tenders/<int:tender_id>/clarifications/<int:clarification_id>/answer",
    methods=["GET", "POST"],
)
@roles_required(Role.COMMITTEE)
def tender_answer(tender_id: int, clarification_id: int):
    """Answer a clarification question once, to all bidders, without naming who asked."""
    now = utcnow()
    tender = load_tender(tender_id)
    clarification = next(
        (
            c
            for c in clarifications.clarifications_for(tender, current_user)
            if c.id == clarification_id
        ),
        None,
    )
    if clarification is None:
        abort(404)
    form = AnswerForm()
    outcome = submit(
        form,
        lambda: clarifications.answer_clarification(
            tender.id, clarification.id, current_user, form.answer.data or "", now=now
        ),
    )
    if outcome.done:
        flash("Answer published to every bidder.", "success")
        return redirect(detail_url(tender.id) + "#clarifications")
    return render_template(
        "procurement/tenders/tender_answer.html",
        form=form,
        tender=tender,
        clarification=clarification,
        stage=tender.stage(now),
    ), outcome.status
