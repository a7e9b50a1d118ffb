"""What the tender pages share: loading a tender for the signed-in user, the tender page's
context, and one-click buttons that show the tender page again when refused.

Each view takes one `now` for the whole request and passes it to the use cases, so a request
sees one consistent stage of the tender (a deadline cannot pass half-way through a page).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm
from app.models import Role
from app.time import utcnow
from procurement.pipeline import prefill
from procurement.tenders import (
    access,
    award,
    bids,
    clarifications,
    evaluation,
    publication,
    reading,
)
from procurement.tenders.forms import AnswerForm, ClarificationForm
from procurement.tenders.models import Criterion, Tender, TenderStage, TenderStatus
from procurement.tenders.rules import first_contract_day

TENDER_ROLES = (Role.COMMITTEE, Role.ADMIN, Role.PROVIDER)


def load_tender(tender_id: int, *, for_page: bool = False) -> Tender:
    """The tender, if the signed-in user may see it (404 otherwise)."""
    return access.get_tender_for_user(tender_id, current_user, for_page=for_page)


def detail_url(tender_id: int) -> str:
    return url_for("procurement.tender_detail", tender_id=tender_id)


def read_upload(field: Any) -> tuple[str, bytes]:
    """(filename, bytes) of an uploaded file; ("", b"") when none was chosen."""
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return "", b""
    return storage.filename, storage.read()


def detail_context(tender: Tender, now: datetime) -> dict[str, Any]:
    """What the tender page shows this user at `now`."""
    role = current_user.role
    context: dict[str, Any] = {
        "tender": tender,
        "now": now,
        "stage": tender.stage(now),
        "documents": reading.tender_documents(tender),
        "clarifications": clarifications.clarifications_for(tender, current_user),
        "amendments": reading.amendments(tender),
        "school_names": reading.school_names(tender),
        "action_form": ActionForm(),
        "Criterion": Criterion,
        "TenderStage": TenderStage,
    }
    if role is Role.COMMITTEE:
        context["problems"] = (
            publication.publication_problems(tender, now)
            if tender.status is TenderStatus.DRAFT
            else []
        )
        context["answer_form"] = AnswerForm()
        context["progress"] = evaluation.evaluation_progress(tender, current_user)
    if role in (Role.COMMITTEE, Role.ADMIN):
        # Evaluator-only reference data of a tender prefilled from the pipeline.
        context["references"] = prefill.references(tender_id=tender.id)
        context["confirmations"] = tender.opening_confirmations
        decided = tender.award_decided_at is not None and tender.standstill_ends_on is not None
        opened = reading.opened_bids(tender, with_tiers=decided)
        context["opened_bids"] = opened
        context["contracts"] = award.tender_contracts(tender)
        if tender.award_decided_at is not None and tender.standstill_ends_on is not None:
            # The rankings come from the bids just read (an opened tender's are all of them).
            context["rankings"] = evaluation.rankings(
                tender, opened if tender.opened_at is not None else None
            )
            context["first_contract_day"] = first_contract_day(tender.standstill_ends_on)
    if role is Role.PROVIDER:
        context["own_bids"] = bids.own_bids(tender, current_user.provider_id)
        context["notifications"] = reading.notifications_for_provider(
            current_user.provider_id, tender.id
        )
        context["clarification_form"] = ClarificationForm()
        context["contracts"] = [
            c for c in award.tender_contracts(tender) if c.provider_id == current_user.provider_id
        ]
    return context


def refused(tender_id: int, exc: DomainError, now: datetime) -> Any:
    """A refused button: the tender page again with the reason, and the error's status."""
    status = refusal_status(exc)
    tender = load_tender(tender_id, for_page=True)
    context = detail_context(tender, now)
    context["errors"] = [exc.message]
    return render_template("procurement/tenders/tender_detail.html", **context), status


def button(tender_id: int, run: Any, success: str) -> Any:
    """Run a one-click use case with this request's `now`; flash and go back to the tender."""
    now = utcnow()
    load_tender(tender_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(now)
    except DomainError as exc:
        return refused(tender_id, exc, now)
    if success:
        flash(success, "success")
    return redirect(detail_url(tender_id))
