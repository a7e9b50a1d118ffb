"""A round's life in the committee's hands: set it up and open it, close pledging early,
cancel it, change the aggregator's rules; and pledging closing by itself at the deadline.

draft → open (schools pledge until the deadline) → closed → run → awarded; or cancelled
before the award. Running and awarding are in `procurement.rounds.runs` and
`procurement.rounds.award`. Every use case commits once at its end, or writes nothing when it
refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import Provider, User
from app.time import london_date, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferStatus
from procurement.rounds.access import audit_scope, lock_round, record_round_change
from procurement.rounds.emails import round_cancelled, round_opened
from procurement.rounds.errors import RoundError, RoundStateConflict
from procurement.rounds.estimates import request_refresh
from procurement.rounds.labels import STATUS_TEXT
from procurement.rounds.models import (
    ROUND_FINISHED_STATUSES,
    BuyingRound,
    Pledge,
    RoundNotice,
    RoundOffer,
    RoundService,
    RoundStatus,
)

TITLE_MAX = 200
MAX_PLEDGE_STEP = 1_000  # the largest standard quantity a round may ask schools to pledge in
DESCRIPTION_MAX = 4000


@dataclass(frozen=True)
class RoundInput:
    """What the committee fills in to open a round."""

    title: str
    description: str
    service_ids: list[int]
    term_keys: list[str]
    offer_ids: list[int]
    pledge_deadline_at: datetime | None
    max_share_percent: int | None
    min_providers: int | None
    single_source: bool
    open_now: bool
    pledge_step: int | None = 1


def terms_to_choose(today: date) -> list[Term]:
    """Terms a round can be for: those not yet over, this academic year and next."""
    year = AcademicYear.containing(today)
    terms = year.terms() + AcademicYear(year.start_year + 1).terms()
    return [term for term in terms if term.ends_on >= today]


def offers_to_choose() -> list[Offer]:
    """Live offers, by service then provider, for the round form."""
    return list(
        db.session.scalars(
            sa.select(Offer)
            .join(Service, Service.id == Offer.service_id)
            .join(Provider, Provider.id == Offer.provider_id)
            .where(Offer.status == OfferStatus.LIVE)
            .options(selectinload(Offer.tiers), selectinload(Offer.provider))
            .order_by(Service.name, Provider.name, Offer.id)
        )
    )


def services_to_choose() -> list[Service]:
    """Services with at least one live offer."""
    return list(
        db.session.scalars(
            sa.select(Service)
            .where(
                Service.active.is_(True),
                sa.exists().where(Offer.service_id == Service.id, Offer.status == OfferStatus.LIVE),
            )
            .order_by(Service.name)
        )
    )


def offer_runs_in(offer: Offer, term: Term) -> bool:
    return (
        offer.valid_from <= term.ends_on
        and offer.valid_to >= term.starts_on
        and any(c.term_key == term.key for c in offer.capacities)
    )


def _check_rules(max_share_percent: int | None, min_providers: int | None) -> tuple[int, int]:
    if max_share_percent is None:
        raise RoundError(
            "Enter the largest share of a lot one offer may win", field="max_share_percent"
        )
    if not 1 <= max_share_percent <= 100:
        raise RoundError("The largest share must be between 1% and 100%", field="max_share_percent")
    if min_providers is None:
        raise RoundError("Enter the least number of providers per service", field="min_providers")
    if not 1 <= min_providers <= 20:
        raise RoundError("The number of providers must be between 1 and 20", field="min_providers")
    return max_share_percent, min_providers


def _check_round(data: RoundInput, now: datetime) -> tuple[list[Service], list[Term], list[Offer]]:
    title = data.title.strip()
    if not title:
        raise RoundError("Enter a title for the round", field="title")
    if len(title) > TITLE_MAX:
        raise RoundError(f"The title must be {TITLE_MAX} characters or fewer", field="title")
    if len(data.description) > DESCRIPTION_MAX:
        raise RoundError(
            f"The description must be {DESCRIPTION_MAX:,} characters or fewer", field="description"
        )
    if not data.service_ids:
        raise RoundError("Choose at least one service", field="service_ids")
    services = list(
        db.session.scalars(sa.select(Service).where(Service.id.in_(set(data.service_ids))))
    )
    if len(services) != len(set(data.service_ids)):
        raise RoundError("Choose services from the list", field="service_ids")
    if not data.term_keys:
        raise RoundError("Choose at least one term", field="term_keys")
    try:
        terms = sorted({Term.parse(key) for key in data.term_keys})
    except ValueError:
        raise RoundError("Choose terms from the list", field="term_keys") from None
    today = london_date(now)
    if any(term.ends_on < today for term in terms):
        raise RoundError("A round cannot be for a term that is already over", field="term_keys")
    if not data.offer_ids:
        raise RoundError(
            "Choose at least one offer to take part: a round with no offers cannot be priced",
            field="offer_ids",
        )
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .where(Offer.id.in_(set(data.offer_ids)))
            .options(selectinload(Offer.capacities), selectinload(Offer.provider))
            .order_by(Offer.id)
        )
    )
    if len(offers) != len(set(data.offer_ids)):
        raise RoundError("Choose offers from the list", field="offer_ids")
    service_ids = {service.id for service in services}
    seen: set[tuple[int, int]] = set()
    for offer in offers:
        if offer.status is not OfferStatus.LIVE:
            raise RoundError(
                f"“{offer.title}” is not live, so it cannot take part", field="offer_ids"
            )
        if offer.service_id not in service_ids:
            raise RoundError(
                f"“{offer.title}” is for {offer.service.name}, which the round does not cover",
                field="offer_ids",
            )
        if (offer.provider_id, offer.service_id) in seen:
            raise RoundError(
                f"{offer.provider.name} has two offers for {offer.service.name}: choose one",
                field="offer_ids",
            )
        seen.add((offer.provider_id, offer.service_id))
    for service in services:
        for term in terms:
            if not any(o.service_id == service.id and offer_runs_in(o, term) for o in offers):
                raise RoundError(
                    f"No offer you chose provides {service.name} in {term.label}",
                    field="offer_ids",
                )
    deadline = data.pledge_deadline_at
    if deadline is None:
        raise RoundError("Enter the pledge deadline", field="deadline_on")
    if deadline <= now:
        raise RoundError("The pledge deadline must be in the future", field="deadline_on")
    first = terms[0]
    if london_date(deadline) >= first.starts_on:
        raise RoundError(
            f"The pledge deadline must be before {first.label} starts"
            f" ({first.starts_on:%-d %B %Y})",
            field="deadline_on",
        )
    _check_rules(data.max_share_percent, data.min_providers)
    if data.pledge_step is None:
        raise RoundError(
            "Enter the block schools pledge in, 1 if any whole number will do", field="pledge_step"
        )
    if not 1 <= data.pledge_step <= MAX_PLEDGE_STEP:
        raise RoundError(
            f"The block schools pledge in must be between 1 and {MAX_PLEDGE_STEP}",
            field="pledge_step",
        )
    return services, terms, offers


@use_case
def create_round(data: RoundInput, actor: User, now: datetime | None = None) -> BuyingRound:
    """Open a round for pledges (or save it as a draft)."""
    now = now or utcnow()
    services, terms, offers = _check_round(data, now)
    assert data.pledge_deadline_at is not None
    assert data.max_share_percent is not None and data.min_providers is not None
    buying_round = BuyingRound(
        title=data.title.strip(),
        description=data.description.strip(),
        status=RoundStatus.OPEN if data.open_now else RoundStatus.DRAFT,
        term_keys=[term.key for term in terms],
        pledge_deadline_at=data.pledge_deadline_at,
        max_share_percent=data.max_share_percent,
        min_providers=data.min_providers,
        single_source=data.single_source,
        created_by_id=actor.id,
        opened_at=now if data.open_now else None,
        services=[
            RoundService(service_id=service.id, pledge_step=data.pledge_step or 1)
            for service in services
        ],
        offers=[RoundOffer(offer_id=offer.id) for offer in offers],
    )
    db.session.add(buying_round)
    db.session.flush()
    after = {
        **buying_round.snapshot(),
        "service_ids": sorted(s.id for s in services),
        "pledge_step": data.pledge_step or 1,
        "offer_ids": sorted(o.id for o in offers),
    }
    audit.record(
        actor, "round", buying_round.id, "created", after=after, scope=audit_scope(buying_round)
    )
    if data.open_now:
        round_opened(buying_round)
    db.session.commit()
    return buying_round


@use_case
def open_round(round_id: int, actor: User, now: datetime | None = None) -> BuyingRound:
    """Announce a draft round to schools."""
    now = now or utcnow()
    buying_round = lock_round(round_id)
    if buying_round.status is not RoundStatus.DRAFT:
        raise RoundStateConflict(
            f"This round is {STATUS_TEXT[buying_round.status].lower()}, so it cannot be opened."
        )
    if buying_round.pledge_deadline_at <= now:
        raise RoundStateConflict(
            "The pledge deadline has passed. Set up a new round with a later deadline."
        )
    if not buying_round.offers:
        raise RoundStateConflict("A round with no offers cannot be opened.")
    before = buying_round.snapshot()
    buying_round.status = RoundStatus.OPEN
    buying_round.opened_at = now
    record_round_change(actor, buying_round, "opened", before)
    round_opened(buying_round)
    db.session.commit()
    return buying_round


@use_case
def close_pledging(round_id: int, actor: User, now: datetime | None = None) -> BuyingRound:
    """End pledging now, before the deadline (e.g. every school has answered)."""
    now = now or utcnow()
    buying_round = lock_round(round_id)
    if buying_round.status is not RoundStatus.OPEN:
        raise RoundStateConflict(
            f"This round is {STATUS_TEXT[buying_round.status].lower()}; only an open round's "
            "pledging can be closed."
        )
    before = buying_round.snapshot()
    if buying_round.pledge_deadline_at > now:
        buying_round.pledge_deadline_at = now
    buying_round.status = RoundStatus.CLOSED
    buying_round.closed_at = now
    record_round_change(actor, buying_round, "pledging closed", before)
    db.session.commit()
    return buying_round


@use_case
def close_rounds_past_deadline(now: datetime | None = None) -> int:
    """Close pledging on every open round whose pledge deadline has passed (the scheduler does
    this every minute); returns how many it closed."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            sa.select(BuyingRound.id)
            .where(BuyingRound.status == RoundStatus.OPEN, BuyingRound.pledge_deadline_at <= now)
            .order_by(BuyingRound.id)
        )
    )
    closed = 0
    for round_id in due:
        buying_round = lock_round(round_id)
        if buying_round.status is not RoundStatus.OPEN or buying_round.pledge_deadline_at > now:
            continue  # closed (or its deadline moved) since the list was read
        before = buying_round.snapshot()
        buying_round.status = RoundStatus.CLOSED
        buying_round.closed_at = now
        record_round_change(None, buying_round, "pledging closed at the deadline", before)
        closed += 1
    db.session.commit()
    return closed


@use_case
def cancel_round(round_id: int, actor: User, now: datetime | None = None) -> BuyingRound:
    """Call the round off before it is awarded; pledges stay on record."""
    now = now or utcnow()
    buying_round = lock_round(round_id)
    if buying_round.status in ROUND_FINISHED_STATUSES:
        raise RoundStateConflict(
            f"This round is already {buying_round.status.value}, so it cannot be cancelled."
        )
    before = buying_round.snapshot()
    buying_round.status = RoundStatus.CANCELLED
    buying_round.cancelled_at = now
    pledging = db.session.scalars(
        sa.select(Pledge.school_id)
        .where(Pledge.round_id == round_id, Pledge.withdrawn_at.is_(None))
        .distinct()
        .order_by(Pledge.school_id)
    ).all()
    round_cancelled(buying_round, pledging)
    for school_id in pledging:
        db.session.add(
            RoundNotice(
                round_id=round_id,
                school_id=school_id,
                message=f"Buying round “{buying_round.title}” has been cancelled: your pledges "
                "commit you to nothing. Order what you need from the catalogue.",
                created_at=now,
            )
        )
    record_round_change(actor, buying_round, "cancelled", before)
    db.session.commit()
    return buying_round


@use_case
def change_rules(
    round_id: int,
    *,
    max_share_percent: int | None,
    min_providers: int | None,
    single_source: bool,
    actor: User,
) -> BuyingRound:
    """Change the aggregator's rules; the next run uses them (earlier runs keep theirs)."""
    share, providers = _check_rules(max_share_percent, min_providers)
    buying_round = lock_round(round_id)
    if buying_round.status in ROUND_FINISHED_STATUSES:
        raise RoundStateConflict(
            f"This round is {buying_round.status.value}; its rules can no longer change."
        )
    before = buying_round.snapshot()
    buying_round.max_share_percent = share
    buying_round.min_providers = providers
    buying_round.single_source = single_source
    record_round_change(actor, buying_round, "rules changed", before)
    request_refresh(buying_round.id)
    db.session.commit()
    return buying_round
