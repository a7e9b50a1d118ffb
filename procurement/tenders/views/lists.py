"""Reading tenders: the list, the tender page, its audit trail, document downloads, and the
published notices (OCDS).
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Response, abort, render_template, request, send_file
from flask_login import current_user, login_required

from app.cache import cached_page
from app.errors import DomainError
from app.extensions import db
from app.models import Role
from app.security import roles_required
from app.time import to_london, utcnow
from procurement.blueprint import bp
from procurement.tenders import access, documents, ocds, reading
from procurement.tenders.models import Tender
from procurement.tenders.views.common import TENDER_ROLES, detail_context, load_tender


@bp.route("/tenders", endpoint="tenders")
@roles_required(*TENDER_ROLES)
def tenders_list():
    """Tenders: all of them for the partnership; published ones (and your updates) for providers."""
    now = utcnow()
    notifications = []
    own: dict[int, int] = {}
    if current_user.role is Role.PROVIDER:
        notifications = reading.notifications_for_provider(current_user.provider_id)
        own = reading.submitted_bid_counts(current_user.provider_id)
    return render_template(
        "procurement/tenders/tenders.html",
        tenders=access.tenders_for_user(current_user),
        notifications=notifications,
        own_bids=own,
        now=now,
    )


@bp.route("/tenders/<int:tender_id>")
@roles_required(*TENDER_ROLES)
@cached_page
def tender_detail(tender_id: int):
    """One tender: what it is for, its stage, and what this person can do next."""
    now = utcnow()
    tender = load_tender(tender_id, for_page=True)
    return render_template("procurement/tenders/tender_detail.html", **detail_context(tender, now))


@bp.route("/tenders/<int:tender_id>/audit")
@roles_required(Role.COMMITTEE, Role.ADMIN)
def tender_audit(tender_id: int):
    """Every change to the tender: who, when, what, before and after."""
    tender = load_tender(tender_id)
    return render_template(
        "procurement/tenders/tender_audit.html", tender=tender, events=reading.trail_rows(tender)
    )


@bp.route("/tenders/<int:tender_id>/documents/<int:document_id>")
@roles_required(*TENDER_ROLES)
def tender_document(tender_id: int, document_id: int):
    """Download a document (a bid's only by its bidder, or an evaluator after opening)."""
    tender = load_tender(tender_id)
    document = documents.document_for_download(tender, document_id, current_user)
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


@bp.route("/tenders/notices")
@login_required
def tender_notices():
    """The partnership's published notices (OCDS) and where to download them."""
    published = reading.published_tenders()
    return render_template(
        "procurement/tenders/tender_notices.html",
        tenders=published,
        releases=reading.release_counts([t.id for t in published]),
        contract_notices=reading.contract_notices(),
    )


def _json_download(package: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(package, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/tenders/notices/ocds.json")
@login_required
def tender_ocds_all():
    """Every published release, as one OCDS 1.1 release package."""
    try:
        package = ocds.release_package(uri=request.url)
    except DomainError:
        abort(404)
    return _json_download(package, "pooled-ocds-releases.json")


@bp.route("/tenders/<int:tender_id>/ocds.json")
@login_required
def tender_ocds(tender_id: int):
    """One tender's published releases, as an OCDS 1.1 release package."""
    tender = db.session.get(Tender, tender_id)
    if tender is None or not tender.was_published:
        abort(404)
    package = ocds.release_package(tender.id, uri=request.url)
    stamp = to_london(utcnow()).strftime("%Y%m%d")
    return _json_download(package, f"{tender.ocid}-{stamp}.json")
