"""Who is emailed about a tender: providers offering services in its categories when it is
published; every provider sent an in-app tender notification (a change, an answer to a
clarification, a cancellation, contracts) gets it by email too; each bidder its standstill
letter at the award decision; and providers whose bid does not count yet (withdrawn, or
awaiting re-confirmation after a change) 3 days before the deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, format_instant, london_date, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferStatus
from procurement.tenders.models import (
    BidStatus,
    Tender,
    TenderBid,
    TenderNotification,
    TenderScore,
    TenderStatus,
)

DEADLINE_REMINDER_DAYS = 3


def provider_users(provider_ids: Iterable[int]) -> list[User]:
    ids = sorted(set(provider_ids))
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.provider_id.in_(ids), User.role == Role.PROVIDER, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _tender_link(tender: Tender) -> str:
    return link("procurement.tender_detail", tender_id=tender.id)


def providers_in_categories(tender: Tender) -> list[int]:
    """Providers with a live offer for a service in one of the tender's lots' categories."""
    categories = {lot.service.category_id for lot in tender.lots}
    if not categories:
        return []
    return list(
        db.session.scalars(
            sa.select(Offer.provider_id)
            .join(Service, Service.id == Offer.service_id)
            .where(Offer.status == OfferStatus.LIVE, Service.category_id.in_(categories))
            .distinct()
            .order_by(Offer.provider_id)
        )
    )


def tender_published(tender: Tender) -> None:
    notify(
        "tender_published",
        provider_users(providers_in_categories(tender)),
        event=f"tender-{tender.id}-published",
        template="tender_published",
        subject=f"New tender: {tender.title}",
        link=_tender_link(tender),
        about=("tender", tender.id),
        summary=f"Bids by {format_instant(tender.deadline_at)}",
        tender=tender,
        lots=[f"Lot {lot.number}: {lot.title} ({lot.service.name})" for lot in tender.lots],
        deadline=format_instant(tender.deadline_at),
    )


def tender_notification_sent(
    tender: Tender, row: TenderNotification, kind: str = "tender_update"
) -> None:
    """Email (and list) an in-app tender notification to the provider's users."""
    notify(
        kind,
        provider_users([row.provider_id]),
        event=f"tender-notification-{row.id}",
        template="tender_message",
        subject=f"Tender update: {tender.title}",
        link=_tender_link(tender),
        about=("tender", tender.id),
        summary=row.message,
        tender=tender,
        message=row.message,
    )


def _reasons(bid: TenderBid) -> list[str]:
    return [
        f"{score.criterion.value.replace('_', ' ').capitalize()}: {score.comment.strip()}"
        for score in db.session.scalars(
            sa.select(TenderScore)
            .where(TenderScore.bid_id == bid.id, TenderScore.comment != "")
            .order_by(TenderScore.criterion, TenderScore.id)
        )
    ]


def standstill_letter(tender: Tender, provider_id: int, summaries: list[Any]) -> None:
    """The award decision to one bidder: its scores and the winner's per lot, the reasons,
    and the end of the standstill. Required: it cannot be turned off."""
    assert tender.standstill_ends_on is not None
    notify(
        "standstill_letter",
        provider_users([provider_id]),
        event=f"tender-{tender.id}-standstill-provider-{provider_id}",
        template="standstill_letter",
        subject=f"Award decision: {tender.title}",
        link=_tender_link(tender),
        about=("tender", tender.id),
        summary=f"The standstill runs until the end of {format_date(tender.standstill_ends_on)}",
        tender=tender,
        summaries=[(summary, _reasons(summary.bid)) for summary in summaries],
        standstill_ends=format_date(tender.standstill_ends_on),
    )


@use_case
def send_deadline_reminders(now: datetime | None = None) -> int:
    """Every morning: for open tenders whose deadline is 3 days away (London dates), remind
    providers whose bid does not count yet; how many people."""
    now = now or utcnow()
    today = london_date(now)
    told = 0
    tenders = db.session.scalars(
        sa.select(Tender)
        .where(Tender.status == TenderStatus.OPEN, Tender.deadline_at > now)
        .order_by(Tender.id)
    ).all()
    for tender in tenders:
        if (london_date(tender.deadline_at) - today).days != DEADLINE_REMINDER_DAYS:
            continue
        waiting = db.session.scalars(
            sa.select(TenderBid.provider_id)
            .where(
                TenderBid.tender_id == tender.id,
                sa.or_(
                    TenderBid.status == BidStatus.WITHDRAWN,
                    sa.and_(
                        TenderBid.status == BidStatus.SUBMITTED,
                        TenderBid.needs_reconfirmation.is_(True),
                    ),
                ),
            )
            .distinct()
        ).all()
        written = notify(
            "bid_deadline",
            provider_users(waiting),
            event=f"tender-{tender.id}-deadline-{DEADLINE_REMINDER_DAYS}",
            template="bid_deadline",
            subject=f"3 days left to bid: {tender.title}",
            link=_tender_link(tender),
            about=("tender", tender.id),
            summary=f"Bids close {format_instant(tender.deadline_at)}",
            tender=tender,
            deadline=format_instant(tender.deadline_at),
        )
        told += len(written)
    db.session.commit()
    return told
