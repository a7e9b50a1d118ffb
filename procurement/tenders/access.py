"""Loading a tender and who may act on it; what every stage writes (an audit event in the
tender's scope, a message to bidders).

Scoped loading: a tender is found only by someone who may see it (the partnership sees all,
providers see tenders that were ever published — a draft cancelled before publication never
was); anyone else gets "Page not found", as for a tender that does
not exist. A use case that changes a tender locks its row first (`locked_tender`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from app import audit
from app.extensions import db
from app.models import Role, User
from marketplace.catalogue.models import Service
from procurement.tenders.emails import tender_notification_sent
from procurement.tenders.errors import LotNotFound, TenderError, TenderNotFound
from procurement.tenders.models import (
    BidStatus,
    Tender,
    TenderBid,
    TenderLot,
    TenderNotification,
    TenderOpeningConfirmation,
)

# What the tender page shows of every tender, loaded up front: its questions joined to it, and
# one statement for each other collection, joined to the single rows it refers to (a lot's
# service and category, a confirmation's user).
PAGE_OPTIONS = (
    selectinload(Tender.lots)
    .joinedload(TenderLot.service, innerjoin=True)
    .joinedload(Service.category, innerjoin=True),
    joinedload(Tender.questions),
    selectinload(Tender.opening_confirmations).joinedload(
        TenderOpeningConfirmation.user, innerjoin=True
    ),
)


def get_tender_for_user(tender_id: int, user: User, *, for_page: bool = False) -> Tender:
    """The tender, if this user may see it: the partnership sees all, providers published ones.

    `for_page` loads its lots, questions and opening confirmations with it.
    """
    tender = db.session.get(Tender, tender_id, options=PAGE_OPTIONS if for_page else ())
    if tender is None:
        raise TenderNotFound("Page not found")
    if user.role in (Role.COMMITTEE, Role.ADMIN):
        return tender
    if user.role is Role.PROVIDER and tender.was_published:
        return tender
    raise TenderNotFound("Page not found")


def locked_tender(tender_id: int) -> Tender:
    """The tender row, locked until the use case commits (PostgreSQL: SELECT … FOR UPDATE)."""
    tender = db.session.execute(
        sa.select(Tender)
        .where(Tender.id == tender_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if tender is None:
        raise TenderNotFound("Page not found")
    return tender


def get_lot(tender: Tender, lot_id: int) -> TenderLot:
    """A lot of this tender; a lot of another tender is "Page not found"."""
    lot = db.session.get(TenderLot, lot_id)
    if lot is None or lot.tender_id != tender.id:
        raise LotNotFound("Page not found")
    return lot


def tenders_for_user(user: User) -> list[Tender]:
    """The tenders list: everything for the partnership, published tenders for providers."""
    stmt = sa.select(Tender).order_by(Tender.created_at.desc(), Tender.id.desc())
    if user.role is Role.PROVIDER:
        stmt = stmt.where(Tender.was_published)
    elif user.role not in (Role.COMMITTEE, Role.ADMIN):
        return []
    return list(db.session.scalars(stmt.options(selectinload(Tender.lots))))


def require_committee(actor: User, refusal: str = "Only committee members can do this.") -> None:
    """Refuse anyone but a committee member, saying what only the committee does."""
    if actor.role is not Role.COMMITTEE:
        raise TenderError(refusal, code="committee_only")


def record(
    actor: User | None,
    tender: Tender,
    entity_type: str,
    entity_id: int | str,
    action: str,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event in the tender's scope, timed by the use case's one `now`."""
    event = audit.record(
        actor,
        entity_type,
        entity_id,
        action,
        before=before,
        after=after,
        scope=f"tender:{tender.id}",
    )
    event.at = now


def tender_fields(tender: Tender) -> dict[str, Any]:
    """The fields of a tender an audit event records, before and after a change."""
    return {
        "status": tender.status.value,
        "title": tender.title,
        "deadline_at": tender.deadline_at.isoformat(),
        "contract_starts_on": tender.contract_starts_on.isoformat(),
        "contract_ends_on": tender.contract_ends_on.isoformat(),
        "min_valid_bids": tender.min_valid_bids,
        "weights": [tender.price_weight, tender.quality_weight, tender.social_value_weight],
    }


def notify_bidders(
    tender: Tender,
    now: datetime,
    message: str,
    provider_ids: Iterable[int] | None = None,
    *,
    kind: str = "tender_update",
    email: bool = True,
) -> None:
    """An in-app message to every provider with a live bid (or to the providers given), also
    emailed to (and listed for) the provider's users unless `email` is False."""
    if provider_ids is None:
        provider_ids = db.session.scalars(
            sa.select(TenderBid.provider_id)
            .where(TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED)
            .distinct()
        )
    for provider_id in sorted(set(provider_ids)):
        row = TenderNotification(
            tender_id=tender.id, provider_id=provider_id, message=message, created_at=now
        )
        db.session.add(row)
        if email:
            db.session.flush()
            tender_notification_sent(tender, row, kind)
