"""Providers bid: send, change, withdraw and re-confirm a sealed bid, add its documents, and
ask clarification questions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, submit
from app.models import Role
from app.security import roles_required
from app.time import format_instant, utcnow
from procurement.blueprint import bp
from procurement.tenders import access, bids, clarifications, documents
from procurement.tenders.forms import BidDocumentForm, BidForm, ClarificationForm
from procurement.tenders.models import Tender, TenderBid
from procurement.tenders.views.common import (
    TENDER_ROLES,
    detail_context,
    detail_url,
    load_tender,
    read_upload,
)


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
def tender_bid_form(tender_id: int, lot_id: int):
    """Send (or change) your bid for a lot: price tiers, capacity and answers."""
    now = utcnow()
    tender = load_tender(tender_id)
    lot = access.get_lot(tender, lot_id)
    existing = bids.own_bids(tender, current_user.provider_id).get(lot.id)
    form = BidForm()
    if request.method == "GET":
        if existing is not None:
            for entry, tier in zip(form.tiers, existing.tiers, strict=False):
                entry.form.min_quantity.data = tier.min_quantity
                entry.form.unit_price.data = tier.unit_price_pence
            form.capacity.data = existing.capacity
        _fill_answers(form, tender, existing)
    outcome = submit(
        form, lambda: bids.submit_bid(tender.id, lot.id, current_user, form.to_input(), now=now)
    )
    if outcome.done:
        bid = outcome.value
        flash(
            f"Bid for lot {lot.number} received at {format_instant(bid.submitted_at)}. It stays "
            "sealed until the deadline: only you can see it.",
            "success",
        )
        return redirect(url_for("procurement.tender_bid", tender_id=tender.id, bid_id=bid.id))
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
    ), outcome.status


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>")
@roles_required(*TENDER_ROLES)
def tender_bid(tender_id: int, bid_id: int):
    """A bid: to its bidder at any time; to a conflict-free evaluator once opened."""
    now = utcnow()
    tender = load_tender(tender_id)
    bid = bids.bid_for_viewer(tender, bid_id, current_user)
    return _bid_page(tender, bid, now, is_bidder=current_user.role is Role.PROVIDER)


def _bid_page(
    tender: Tender,
    bid: TenderBid,
    now: datetime,
    *,
    is_bidder: bool,
    document_form: BidDocumentForm | None = None,
    **extra: Any,
) -> str:
    """The bid page: its tiers, answers and documents, and its bidder's buttons."""
    return render_template(
        "procurement/tenders/tender_bid.html",
        tender=tender,
        bid=bid,
        stage=tender.stage(now),
        questions={q.id: q for q in tender.questions},
        documents=documents.bid_documents(bid.id),
        document_form=document_form or BidDocumentForm(),
        action_form=ActionForm(),
        is_bidder=is_bidder,
        limits=documents,
        now=now,
        **extra,
    )


def _bid_button(tender_id: int, bid_id: int, run: Any, success: str) -> Any:
    """Run a bidder's one-click use case; the bid page again with the reason when refused."""
    now = utcnow()
    tender = load_tender(tender_id)
    bid = bids.own_bid(tender, bid_id, current_user.provider_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(now)
    except DomainError as exc:
        status = refusal_status(exc)
        return _bid_page(tender, bid, now, is_bidder=True, errors=[exc.message]), status
    flash(success, "success")
    return redirect(url_for("procurement.tender_bid", tender_id=tender_id, bid_id=bid_id))


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/withdraw", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_bid_withdraw(tender_id: int, bid_id: int):
    """Withdraw your bid before the deadline."""
    return _bid_button(
        tender_id,
        bid_id,
        lambda now: bids.withdraw_bid(tender_id, bid_id, current_user, now=now),
        "Bid withdrawn. You can send it again before the deadline.",
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/reconfirm", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_bid_reconfirm(tender_id: int, bid_id: int):
    """Confirm your bid still stands after the tender changed."""
    return _bid_button(
        tender_id,
        bid_id,
        lambda now: bids.reconfirm_bid(tender_id, bid_id, current_user, now=now),
        "Bid re-confirmed: it counts.",
    )


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/documents", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_bid_document_upload(tender_id: int, bid_id: int):
    """Add a document to your bid before the deadline."""
    now = utcnow()
    tender = load_tender(tender_id)
    bid = bids.own_bid(tender, bid_id, current_user.provider_id)
    form = BidDocumentForm()

    def attach() -> object:
        filename, content = read_upload(form.file)
        return documents.attach_to_bid(tender.id, bid.id, current_user, filename, content, now=now)

    outcome = submit(form, attach)
    if outcome.done:
        flash("Document added to your bid.", "success")
        return redirect(url_for("procurement.tender_bid", tender_id=tender.id, bid_id=bid.id))
    bid = bids.own_bid(tender, bid_id, current_user.provider_id)
    return _bid_page(tender, bid, now, is_bidder=True, document_form=form), outcome.status


@bp.route("/tenders/<int:tender_id>/clarifications", methods=["POST"])
@roles_required(Role.PROVIDER)
def tender_ask(tender_id: int):
    """A provider asks a clarification question (the answer goes to every bidder)."""
    now = utcnow()
    tender = load_tender(tender_id)
    form = ClarificationForm()
    outcome = submit(
        form,
        lambda: clarifications.ask_clarification(
            tender.id, current_user, form.question.data or "", now=now
        ),
    )
    if outcome.done:
        flash("Question sent. The answer will be published to every bidder.", "success")
        return redirect(detail_url(tender.id) + "#clarifications")
    context = detail_context(tender, now)
    context["clarification_form"] = form
    return render_template("procurement/tenders/tender_detail.html", **context), outcome.status
