"""Buying rounds: open a pool, take pledges, run the aggregator, award contracts and call-offs.

The life of a round: draft → open (schools pledge until the deadline) → closed (the first run
is queued) → run (a run found an allocation; the committee may change the rules and run again)
→ awarded; or cancelled before the award.

A *lot* is one service in one term: offers' capacity and volume tiers apply per term, so the
aggregator pools the pledges of each lot. The optimizer instance (docs/aggregator.md) is built
here from the database in one place (`build_inputs`): school "S<id>", provider "P<id>", lot
"<service slug>@<term key>", offer "O<offer id>@<term key>" with its capacity *left* in that
term, tiers, set-up charge, minimum award (the offer's minimum quantity) and the schools it
cannot serve (excluded by name, outside its areas, or the provider's own school).

Indicative prices while pledging use the optimizer itself on the current pledges (the same
instance a run would use, solved with a short time limit and cached by the instance's hash):
the tier the pool reaches and the school's share under the sharing rule beside its stand-alone
price.

Every public use case commits once at its end, or writes nothing when it refuses.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Provider, Role, School, User
from app.money import format_pence, largest_remainder
from app.time import format_instant, london_date, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders.capacity import reserve_capacity
from marketplace.orders.errors import CapacityExhausted, OfferUnavailable
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from procurement.optimizer import solver as optimizer
from procurement.rounds.errors import (
    AwardCapacityConflict,
    NoticeNotFound,
    PledgeNotAllowed,
    PledgingClosed,
    RoundError,
    RoundNotFound,
    RoundStateConflict,
    RunNotFound,
    RunStateConflict,
)
from procurement.rounds.models import (
    ROUND_FINISHED_STATUSES,
    ROUND_RUNNABLE_STATUSES,
    BuyingRound,
    Pledge,
    RoundNotice,
    RoundOffer,
    RoundRun,
    RoundService,
    RoundStatus,
    RunStatus,
)

TITLE_MAX = 200
DESCRIPTION_MAX = 4000
MAX_PLEDGE = 10_000  # units of one service in one term: more is a typing mistake
DEFAULT_TIME_LIMIT = 60
MAX_TIME_LIMIT = 600
INDICATIVE_TIME_LIMIT = 5.0
STATUS_TEXT = {
    RoundStatus.DRAFT: "Draft",
    RoundStatus.OPEN: "Open for pledges",
    RoundStatus.CLOSED: "Pledging closed",
    RoundStatus.RUN: "Allocation ready",
    RoundStatus.AWARDED: "Awarded",
    RoundStatus.CANCELLED: "Cancelled",
}


def plural(unit: str, count: int) -> str:
    """'day' → 'days'."""
    return unit if count == 1 else unit + "s"


def fingerprint(data: Any) -> str:
    """SHA-256 of canonical JSON: equal data, equal fingerprint."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


# Loading, always scoped to who is asking ----------------------------------------------------


def _round_query(round_id: int) -> sa.Select:
    return sa.select(BuyingRound).where(BuyingRound.id == round_id)


def _with_offers(stmt: sa.Select) -> sa.Select:
    """Load the round's services and offers (tiers, capacity, provider) in a few queries."""
    offer = selectinload(BuyingRound.offers).selectinload(RoundOffer.offer)
    return stmt.options(
        selectinload(BuyingRound.services).selectinload(RoundService.service),
        offer.selectinload(Offer.tiers),
        offer.selectinload(Offer.capacities),
        offer.selectinload(Offer.provider),
        offer.selectinload(Offer.service),
    )


def get_round(round_id: int) -> BuyingRound:
    """Any round (the committee's view)."""
    found = db.session.scalar(_with_offers(_round_query(round_id)))
    if found is None:
        raise RoundNotFound("There is no such buying round.")
    return found


def get_round_for_user(round_id: int, user: User) -> BuyingRound:
    """A round this user may see: the partnership all; school staff announced rounds; else 404."""
    found = db.session.scalar(_with_offers(_round_query(round_id)))
    if found is None or not can_see_round(found, user):
        raise RoundNotFound("There is no such buying round.")
    return found


def can_see_round(buying_round: BuyingRound, user: User) -> bool:
    if user.role in PARTNERSHIP_ROLES:
        return True
    return user.role in SCHOOL_ROLES and buying_round.announced


def _lock_round(round_id: int) -> BuyingRound:
    found = db.session.scalar(
        _round_query(round_id).with_for_update().execution_options(populate_existing=True)
    )
    if found is None:
        raise RoundNotFound("There is no such buying round.")
    return found


def get_school_for_user(school_id: int, user: User) -> School:
    """A school whose round lines the user may read: their own, or any for the partnership."""
    if user.role in SCHOOL_ROLES and user.school_id == school_id:
        school = db.session.get(School, school_id)
    elif user.role in PARTNERSHIP_ROLES:
        school = db.session.get(School, school_id)
    else:
        school = None
    if school is None:
        raise RoundNotFound("There is no such school in this round.")
    return school


def get_run(round_id: int, run_id: int) -> RoundRun:
    """A run of this round (404 for another round's run)."""
    run = db.session.scalar(
        sa.select(RoundRun).where(RoundRun.id == run_id, RoundRun.round_id == round_id)
    )
    if run is None:
        raise RunNotFound("There is no such run of this round.")
    return run


def rounds_for_user(user: User) -> list[BuyingRound]:
    """Rounds the user may see, newest first."""
    stmt = sa.select(BuyingRound).options(
        selectinload(BuyingRound.services).selectinload(RoundService.service)
    )
    if user.role not in PARTNERSHIP_ROLES:
        stmt = stmt.where(BuyingRound.opened_at.is_not(None))
    return list(
        db.session.scalars(stmt.order_by(BuyingRound.created_at.desc(), BuyingRound.id.desc()))
    )


def runs_of(round_id: int) -> list[RoundRun]:
    """The round's runs, newest first."""
    return list(
        db.session.scalars(
            sa.select(RoundRun)
            .where(RoundRun.round_id == round_id)
            .order_by(RoundRun.number.desc())
        )
    )


def awarded_run(round_id: int) -> RoundRun | None:
    return db.session.scalar(
        sa.select(RoundRun).where(RoundRun.round_id == round_id, RoundRun.awarded_at.is_not(None))
    )


# Lots -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    """One service in one term: what the aggregator pools and prices."""

    service: Service
    term: Term

    @property
    def key(self) -> str:
        return lot_key(self.service.slug, self.term.key)

    @property
    def label(self) -> str:
        return f"{self.service.name}, {self.term.label}"


def lot_key(service_slug: str, term_key: str) -> str:
    return f"{service_slug}@{term_key}"


def lots(buying_round: BuyingRound) -> list[Lot]:
    """The round's lots, by service name then term."""
    terms = sorted(Term.parse(key) for key in buying_round.term_keys)
    services = sorted((rs.service for rs in buying_round.services), key=lambda s: (s.name, s.id))
    return [Lot(service, term) for service in services for term in terms]


def term_label(term_key: str) -> str:
    try:
        return Term.parse(term_key).label
    except ValueError:
        return term_key


# Opening a round ----------------------------------------------------------------------------


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


def _offer_runs_in(offer: Offer, term: Term) -> bool:
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
            if not any(o.service_id == service.id and _offer_runs_in(o, term) for o in offers):
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
        services=[RoundService(service_id=service.id) for service in services],
        offers=[RoundOffer(offer_id=offer.id) for offer in offers],
    )
    db.session.add(buying_round)
    db.session.flush()
    after = {
        **buying_round.snapshot(),
        "service_ids": sorted(s.id for s in services),
        "offer_ids": sorted(o.id for o in offers),
    }
    audit.record(
        actor, "round", buying_round.id, "created", after=after, scope=_scope(buying_round)
    )
    db.session.commit()
    return buying_round


def _scope(buying_round: BuyingRound | int) -> str:
    round_id = buying_round if isinstance(buying_round, int) else buying_round.id
    return f"round:{round_id}"


@use_case
def open_round(round_id: int, actor: User, now: datetime | None = None) -> BuyingRound:
    """Announce a draft round to schools."""
    now = now or utcnow()
    buying_round = _lock_round(round_id)
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
    audit.record(
        actor,
        "round",
        round_id,
        "opened",
        before=before,
        after=buying_round.snapshot(),
        scope=_scope(round_id),
    )
    db.session.commit()
    return buying_round


@use_case
def close_pledging(round_id: int, actor: User, now: datetime | None = None) -> BuyingRound:
    """End pledging now, before the deadline (e.g. every school has answered)."""
    now = now or utcnow()
    buying_round = _lock_round(round_id)
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
    audit.record(
        actor,
        "round",
        round_id,
        "pledging closed",
        before=before,
        after=buying_round.snapshot(),
        scope=_scope(round_id),
    )
    db.session.commit()
    return buying_round


@use_case
def cancel_round(round_id: int, actor: User, now: datetime | None = None) -> BuyingRound:
    """Call the round off before it is awarded; pledges stay on record."""
    now = now or utcnow()
    buying_round = _lock_round(round_id)
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
    )
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
    audit.record(
        actor,
        "round",
        round_id,
        "cancelled",
        before=before,
        after=buying_round.snapshot(),
        scope=_scope(round_id),
    )
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
    buying_round = _lock_round(round_id)
    if buying_round.status in ROUND_FINISHED_STATUSES:
        raise RoundStateConflict(
            f"This round is {buying_round.status.value}; its rules can no longer change."
        )
    before = buying_round.snapshot()
    buying_round.max_share_percent = share
    buying_round.min_providers = providers
    buying_round.single_source = single_source
    audit.record(
        actor,
        "round",
        round_id,
        "rules changed",
        before=before,
        after=buying_round.snapshot(),
        scope=_scope(round_id),
    )
    db.session.commit()
    return buying_round


# Pledging ---------------------------------------------------------------------------------


def pledges_for_school(round_id: int, school_id: int) -> dict[tuple[int, str], Pledge]:
    """The school's pledges in the round (withdrawn ones too), by (service id, term key)."""
    rows = db.session.scalars(
        sa.select(Pledge).where(Pledge.round_id == round_id, Pledge.school_id == school_id)
    )
    return {(p.service_id, p.term_key): p for p in rows}


@dataclass(frozen=True)
class LotTotal:
    lot: Lot
    schools: int
    units: int


def pledge_totals(buying_round: BuyingRound) -> list[LotTotal]:
    """Schools pledging and units pledged per lot (active pledges), counted in SQL."""
    rows = db.session.execute(
        sa.select(Pledge.service_id, Pledge.term_key, sa.func.count(), sa.func.sum(Pledge.quantity))
        .where(Pledge.round_id == buying_round.id, Pledge.withdrawn_at.is_(None))
        .group_by(Pledge.service_id, Pledge.term_key)
    )
    counts = {(s, t): (n, int(q or 0)) for s, t, n, q in rows}
    return [
        LotTotal(lot, *counts.get((lot.service.id, lot.term.key), (0, 0)))
        for lot in lots(buying_round)
    ]


def _pledging_closed(buying_round: BuyingRound, now: datetime) -> PledgingClosed:
    if buying_round.status is RoundStatus.CANCELLED:
        return PledgingClosed("This round was cancelled; nothing was changed.")
    return PledgingClosed(
        f"Pledging closed on {format_instant(min(buying_round.pledge_deadline_at, now))}, so "
        "pledges can no longer be made, changed or withdrawn; nothing was changed."
    )


def _check_pledger(school_id: int, actor: User) -> None:
    if actor.role is not Role.SBM:
        raise PledgeNotAllowed(
            "Only a school business manager can pledge for a school; nothing was changed."
        )
    if actor.school_id != school_id:
        raise PledgeNotAllowed("You can pledge only for your own school; nothing was changed.")


@dataclass(frozen=True)
class PledgeChanges:
    added: int = 0
    changed: int = 0
    withdrawn: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.withdrawn)


@use_case
def save_pledges(
    round_id: int,
    school_id: int,
    quantities: Mapping[tuple[int, str], int | None],
    actor: User,
    now: datetime | None = None,
) -> PledgeChanges:
    """Set the school's pledge for each lot: a positive quantity pledges, 0 or blank withdraws."""
    now = now or utcnow()
    _check_pledger(school_id, actor)
    buying_round = db.session.scalar(
        _round_query(round_id).with_for_update(read=True).execution_options(populate_existing=True)
    )
    if buying_round is None or buying_round.status is RoundStatus.DRAFT:
        raise RoundNotFound("There is no such buying round.")
    if not buying_round.accepts_pledges(now):
        raise _pledging_closed(buying_round, now)
    by_key = {(lot.service.id, lot.term.key): lot for lot in lots(buying_round)}
    for key, quantity in quantities.items():
        lot = by_key.get(key)
        if lot is None:
            raise RoundError("You can pledge only for the round’s services and terms.")
        if quantity is None:
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise RoundError(
                f"Enter the {lot.label} pledge as a whole number, like 5", field=lot.key
            )
        if quantity < 0:
            raise RoundError(f"The {lot.label} pledge cannot be negative", field=lot.key)
        if quantity > MAX_PLEDGE:
            raise RoundError(
                f"The {lot.label} pledge must be {MAX_PLEDGE:,} or fewer", field=lot.key
            )
    existing = pledges_for_school(round_id, school_id)
    added = changed = withdrawn = 0
    for key, quantity in sorted(quantities.items()):
        pledge = existing.get(key)
        wanted = quantity or 0
        if wanted == 0:
            if pledge is not None and pledge.active:
                before = pledge.snapshot()
                pledge.withdrawn_at = now
                pledge.updated_by_id = actor.id
                _record_pledge(actor, pledge, "withdrawn", before)
                withdrawn += 1
            continue
        if pledge is None:
            pledge = Pledge(
                round_id=round_id,
                school_id=school_id,
                service_id=key[0],
                term_key=key[1],
                quantity=wanted,
                created_by_id=actor.id,
                updated_by_id=actor.id,
            )
            db.session.add(pledge)
            db.session.flush()
            _record_pledge(actor, pledge, "pledged", None)
            added += 1
        elif not pledge.active or pledge.quantity != wanted:
            before = pledge.snapshot()
            was_active = pledge.active
            pledge.quantity = wanted
            pledge.withdrawn_at = None
            pledge.updated_by_id = actor.id
            _record_pledge(actor, pledge, "changed" if was_active else "pledged again", before)
            if was_active:
                changed += 1
            else:
                added += 1
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise RoundStateConflict(
            "Your school’s pledge was changed at the same moment somewhere else; check it and "
            "save again."
        ) from None
    return PledgeChanges(added, changed, withdrawn)


def _record_pledge(actor: User, pledge: Pledge, action: str, before: dict | None) -> None:
    audit.record(
        actor,
        "pledge",
        pledge.id,
        action,
        before=before,
        after=pledge.snapshot(),
        scope=_scope(pledge.round_id),
    )


@use_case
def withdraw_pledges(
    round_id: int, school_id: int, actor: User, now: datetime | None = None
) -> PledgeChanges:
    """Withdraw every pledge the school has in the round (before the deadline)."""
    existing = pledges_for_school(round_id, school_id)
    return save_pledges(round_id, school_id, dict.fromkeys(existing, 0), actor, now)


# The optimizer instance -------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """An optimizer instance built from the round, and the labels to read it by."""

    instance: dict[str, Any]
    labels: dict[str, Any]

    @property
    def sha256(self) -> str:
        return fingerprint(self.instance)


def _school_key(school_id: int) -> str:
    return f"S{school_id}"


def _offer_key(offer_id: int, term_key: str) -> str:
    return f"O{offer_id}@{term_key}"


def build_inputs(buying_round: BuyingRound) -> Inputs:
    """The optimizer instance for the round's current active pledges, offers and rules."""
    pledges = list(
        db.session.execute(
            sa.select(Pledge.school_id, Pledge.service_id, Pledge.term_key, Pledge.quantity)
            .where(Pledge.round_id == buying_round.id, Pledge.withdrawn_at.is_(None))
            .order_by(Pledge.school_id, Pledge.service_id, Pledge.term_key)
        )
    )
    school_ids = sorted({school_id for school_id, *_ in pledges})
    schools = {
        s.id: s for s in db.session.scalars(sa.select(School).where(School.id.in_(school_ids)))
    }
    own_provider: dict[int, set[int]] = defaultdict(set)
    for provider_id, school_id in db.session.execute(
        sa.select(Provider.id, Provider.school_id).where(Provider.school_id.in_(school_ids))
    ):
        own_provider[school_id].add(provider_id)
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .join(RoundOffer, RoundOffer.offer_id == Offer.id)
            .where(RoundOffer.round_id == buying_round.id)
            .options(
                selectinload(Offer.tiers),
                selectinload(Offer.capacities),
                selectinload(Offer.provider),
            )
            .order_by(Offer.id)
        )
    )
    round_lots = lots(buying_round)
    lot_by_key = {(lot.service.id, lot.term.key): lot for lot in round_lots}
    labels: dict[str, Any] = {
        "round": {"id": buying_round.id, "title": buying_round.title},
        "schools": {},
        "providers": {},
        "offers": {},
        "lots": {},
        "skipped": [],
    }
    for lot in round_lots:
        labels["lots"][lot.key] = {
            "service_id": lot.service.id,
            "service": lot.service.name,
            "unit": lot.service.unit.value,
            "term_key": lot.term.key,
            "term": lot.term.label,
        }
    demand = []
    for school_id, service_id, term_key, quantity in pledges:
        lot = lot_by_key.get((service_id, term_key))
        if lot is None:  # a service or term no longer in the round
            continue
        demand.append({"school": _school_key(school_id), "service": lot.key, "quantity": quantity})
    pledging = [schools[i] for i in school_ids if i in schools]
    for school in pledging:
        labels["schools"][_school_key(school.id)] = {"id": school.id, "name": school.name}
    instance_offers = []
    for lot in round_lots:
        for offer in offers:
            if offer.service_id != lot.service.id:
                continue
            name = f"{offer.provider.name}: “{offer.title}”"
            if offer.status is not OfferStatus.LIVE:
                labels["skipped"].append(f"{name} is {offer.status.value} and takes no part.")
                continue
            capacity = next((c for c in offer.capacities if c.term_key == lot.term.key), None)
            if capacity is None or not (
                offer.valid_from <= lot.term.ends_on and offer.valid_to >= lot.term.starts_on
            ):
                labels["skipped"].append(f"{name} does not run in {lot.term.label}.")
                continue
            key = _offer_key(offer.id, lot.term.key)
            provider_key = f"P{offer.provider_id}"
            labels["providers"][provider_key] = {
                "id": offer.provider_id,
                "name": offer.provider.name,
            }
            labels["offers"][key] = {
                "id": offer.id,
                "title": offer.title,
                "provider": provider_key,
                "term_key": lot.term.key,
                "lot": lot.key,
                "capacity": capacity.capacity,
                "reserved": capacity.reserved,
            }
            excluded = sorted(
                _school_key(school.id)
                for school in pledging
                if school.id in set(offer.excluded_school_ids or [])
                or (offer.areas and school.area not in set(offer.areas))
                or offer.provider_id in own_provider[school.id]
            )
            instance_offers.append(
                {
                    "id": key,
                    "provider": provider_key,
                    "service": lot.key,
                    "capacity": max(0, capacity.capacity - capacity.reserved),
                    "tiers": [
                        {"from": t.min_quantity, "unit_price_pence": t.unit_price_pence}
                        for t in sorted(offer.tiers, key=lambda t: t.min_quantity)
                    ],
                    "min_award": max(0, offer.min_quantity),
                    "setup_pence": offer.setup_pence,
                    "excluded_schools": excluded,
                }
            )
    instance = {
        "schools": [{"id": _school_key(school.id)} for school in pledging],
        "demand": demand,
        "offers": instance_offers,
        "rules": {
            "max_share": buying_round.max_share,
            "min_providers": buying_round.min_providers,
            "single_source": buying_round.single_source,
        },
    }
    return Inputs(instance, labels)


def answer_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a result that is the answer (not timings): fingerprinted to compare runs."""
    keys = ("status", "objective_pence", "awards", "allocations", "unmet", "charges")
    return {key: result.get(key) for key in keys}


# Reading an answer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardLine:
    """What one offer wins in one lot."""

    offer_key: str
    offer_id: int
    offer_title: str
    provider_id: int
    provider_name: str
    lot_key: str
    lot_label: str
    unit: str
    units: int
    tier_number: int  # 1-based
    tier_count: int
    tier_from: int
    unit_price_pence: int
    setup_pence: int
    cost_pence: int
    capacity_left: int
    next_tier: tuple[int, int] | None  # (more units needed, unit price there)


@dataclass(frozen=True)
class Supply:
    """Units of one school's lot that one offer supplies."""

    award: AwardLine
    units: int


@dataclass(frozen=True)
class SchoolLine:
    """Why one school got what it got in one lot."""

    school_id: int
    school_name: str
    lot_key: str
    lot_label: str
    unit: str
    pledged: int
    met: int
    supplies: tuple[Supply, ...]
    standalone_pence: int | None  # the cheapest single offer for the whole pledge, alone
    basis_pence: int  # what the units met would cost alone (the sharing weight)
    charge_pence: int

    @property
    def unmet(self) -> int:
        return self.pledged - self.met

    @property
    def saving_pence(self) -> int:
        return self.basis_pence - self.charge_pence

    @property
    def saving_percent(self) -> float | None:
        if not self.basis_pence:
            return None
        return 100 * self.saving_pence / self.basis_pence

    @property
    def average_unit_pence(self) -> int | None:
        if not self.met:
            return None
        return (2 * self.charge_pence + self.met) // (2 * self.met)


@dataclass(frozen=True)
class Answer:
    """A result read with its labels: awards per offer, lines per school and lot."""

    status: str
    message: str | None
    objective_pence: int | None
    awards: tuple[AwardLine, ...]
    lines: tuple[SchoolLine, ...]
    checks: tuple[dict[str, Any], ...]

    @property
    def standalone_total_pence(self) -> int:
        return sum(line.basis_pence for line in self.lines)

    @property
    def charged_total_pence(self) -> int:
        return sum(line.charge_pence for line in self.lines)

    @property
    def saving_total_pence(self) -> int:
        return self.standalone_total_pence - self.charged_total_pence

    @property
    def unmet_units(self) -> int:
        return sum(line.unmet for line in self.lines)

    def lines_for(self, school_id: int) -> list[SchoolLine]:
        return [line for line in self.lines if line.school_id == school_id]


def read_answer(
    instance: Mapping[str, Any],
    labels: Mapping[str, Any],
    result: Mapping[str, Any],
    school_id: int | None = None,
) -> Answer:
    """Join a result to its instance and labels; only one school's lines if school_id is given."""
    offers = {o["id"]: o for o in instance["offers"]}
    awards: dict[str, AwardLine] = {}
    for award in result.get("awards", []):
        offer = offers[award["offer"]]
        label = labels["offers"][award["offer"]]
        lot = labels["lots"][award["service"]]
        tiers = offer["tiers"]
        tier = award["tier"]
        next_tier = None
        if tier + 1 < len(tiers):
            following = tiers[tier + 1]
            next_tier = (following["from"] - award["quantity"], following["unit_price_pence"])
        awards[award["offer"]] = AwardLine(
            offer_key=award["offer"],
            offer_id=label["id"],
            offer_title=label["title"],
            provider_id=labels["providers"][award["provider"]]["id"],
            provider_name=labels["providers"][award["provider"]]["name"],
            lot_key=award["service"],
            lot_label=f"{lot['service']}, {lot['term']}",
            unit=lot["unit"],
            units=award["quantity"],
            tier_number=tier + 1,
            tier_count=len(tiers),
            tier_from=tiers[tier]["from"],
            unit_price_pence=award["unit_price_pence"],
            setup_pence=award["setup_pence"],
            cost_pence=award["cost_pence"],
            capacity_left=offer["capacity"],
            next_tier=next_tier,
        )
    only = _school_key(school_id) if school_id is not None else None
    supplies: dict[tuple[str, str], list[Supply]] = defaultdict(list)
    for allocation in result.get("allocations", []):
        if only is not None and allocation["school"] != only:
            continue
        supplies[(allocation["school"], allocation["service"])].append(
            Supply(awards[allocation["offer"]], allocation["quantity"])
        )
    lines = []
    for charge in result.get("charges", []):
        if only is not None and charge["school"] != only:
            continue
        school = labels["schools"][charge["school"]]
        lot = labels["lots"][charge["service"]]
        lines.append(
            SchoolLine(
                school_id=school["id"],
                school_name=school["name"],
                lot_key=charge["service"],
                lot_label=f"{lot['service']}, {lot['term']}",
                unit=lot["unit"],
                pledged=charge["quantity"],
                met=charge["met"],
                supplies=tuple(
                    sorted(
                        supplies[(charge["school"], charge["service"])],
                        key=lambda s: s.award.offer_key,
                    )
                ),
                standalone_pence=charge["standalone_pence"],
                basis_pence=charge["basis_pence"],
                charge_pence=charge["charge_pence"],
            )
        )
    lines.sort(key=lambda line: (line.school_name, line.school_id, line.lot_key))
    return Answer(
        status=result["status"],
        message=result.get("message"),
        objective_pence=result.get("objective_pence"),
        awards=tuple(sorted(awards.values(), key=lambda a: (a.lot_key, a.provider_name))),
        lines=tuple(lines),
        checks=tuple(result.get("checks", [])),
    )


def run_answer(run: RoundRun, school_id: int | None = None) -> Answer | None:
    """A finished run's answer (None while it runs or if it failed)."""
    if run.status is not RunStatus.DONE or run.result is None:
        return None
    return read_answer(run.inputs, run.labels, run.result, school_id)


# Indicative prices while pledging -------------------------------------------------------------

_ESTIMATES: OrderedDict[str, dict[str, Any]] = OrderedDict()
_ESTIMATES_LOCK = threading.Lock()
_ESTIMATES_KEPT = 64


@dataclass(frozen=True)
class Estimate:
    """What the pool would cost now, by the optimizer on the current pledges."""

    inputs: Inputs
    result: dict[str, Any]
    answer: Answer
    pool: list[LotTotal] = field(default_factory=list)


def _solve_cached(inputs: Inputs) -> dict[str, Any]:
    key = inputs.sha256
    with _ESTIMATES_LOCK:
        if key in _ESTIMATES:
            _ESTIMATES.move_to_end(key)
            return _ESTIMATES[key]
    result = optimizer.result_to_json(
        optimizer.solve(
            optimizer.instance_from_json(inputs.instance), time_limit=INDICATIVE_TIME_LIMIT
        )
    )
    with _ESTIMATES_LOCK:
        _ESTIMATES[key] = result
        while len(_ESTIMATES) > _ESTIMATES_KEPT:
            _ESTIMATES.popitem(last=False)
    return result


def indicative(buying_round: BuyingRound, school_id: int | None = None) -> Estimate | None:
    """The pool's price now (and one school's share), or None when nobody has pledged."""
    inputs = build_inputs(buying_round)
    if not inputs.instance["demand"]:
        return None
    result = _solve_cached(inputs)
    answer = read_answer(inputs.instance, inputs.labels, result, school_id)
    return Estimate(inputs, result, answer, pledge_totals(buying_round))


# Running the aggregator --------------------------------------------------------------------


def _fail_stalled_runs(round_id: int, now: datetime) -> None:
    for run in db.session.scalars(
        sa.select(RoundRun).where(
            RoundRun.round_id == round_id,
            RoundRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
    ):
        if not run.stalled(now):
            raise RunStateConflict(
                f"Run {run.number} is still {run.status.value}; wait for it to finish."
            )
        run.status = RunStatus.FAILED
        run.finished_at = now
        run.error = "The run did not finish: its process stopped before it could answer."
        run.progress = "Stopped"
        audit.record(
            None, "round_run", run.id, "failed", after={"error": run.error}, scope=_scope(round_id)
        )


@use_case
def queue_run(
    round_id: int,
    actor: User | None,
    now: datetime | None = None,
    *,
    solver: str = optimizer.HIGHS,
    time_limit_seconds: int = DEFAULT_TIME_LIMIT,
) -> RoundRun:
    """Record a new run with the round's current pledges, offers and rules as its inputs."""
    now = now or utcnow()
    if solver not in optimizer.SOLVERS:
        raise RoundError(f"Choose a solver: {', '.join(optimizer.SOLVERS)}", field="solver")
    if not isinstance(time_limit_seconds, int) or not 1 <= time_limit_seconds <= MAX_TIME_LIMIT:
        raise RoundError(
            f"The time limit must be between 1 and {MAX_TIME_LIMIT} seconds",
            field="time_limit_seconds",
        )
    buying_round = _lock_round(round_id)
    if buying_round.status is RoundStatus.DRAFT:
        raise RoundStateConflict("Open the round for pledges first; a draft has no pledges.")
    if buying_round.status in ROUND_FINISHED_STATUSES:
        raise RoundStateConflict(
            f"This round is {buying_round.status.value}, so the aggregator cannot run again."
        )
    assert buying_round.status in ROUND_RUNNABLE_STATUSES
    if now < buying_round.pledge_deadline_at:
        raise RoundStateConflict(
            f"Schools can pledge until {format_instant(buying_round.pledge_deadline_at)}. Run the "
            "aggregator after the deadline, or close pledging first."
        )
    _fail_stalled_runs(round_id, now)
    inputs = build_inputs(buying_round)
    if not inputs.instance["demand"]:
        raise RoundStateConflict("No school pledged in this round, so there is nothing to run.")
    if not inputs.instance["offers"]:
        raise RoundStateConflict(
            "No offer in this round can take part (withdrawn, or not running in its terms)."
        )
    if buying_round.status is RoundStatus.OPEN:
        before = buying_round.snapshot()
        buying_round.status = RoundStatus.CLOSED
        buying_round.closed_at = now
        audit.record(
            actor,
            "round",
            round_id,
            "pledging closed",
            before=before,
            after=buying_round.snapshot(),
            scope=_scope(round_id),
        )
    number = (
        db.session.scalar(
            sa.select(sa.func.max(RoundRun.number)).where(RoundRun.round_id == round_id)
        )
        or 0
    ) + 1
    run = RoundRun(
        round_id=round_id,
        number=number,
        status=RunStatus.QUEUED,
        progress="Waiting to start",
        solver=solver,
        time_limit_seconds=time_limit_seconds,
        inputs=inputs.instance,
        labels=inputs.labels,
        inputs_sha256=inputs.sha256,
        started_by_id=actor.id if actor is not None else None,
        queued_at=now,
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        actor,
        "round_run",
        run.id,
        "queued",
        after={
            "number": number,
            "solver": solver,
            "time_limit_seconds": time_limit_seconds,
            "inputs_sha256": inputs.sha256,
            "rules": inputs.instance["rules"],
        },
        scope=_scope(round_id),
    )
    db.session.commit()
    return run


def execute_run(run_id: int, *, pid: int | None = None) -> RoundRun:
    """Solve a queued run and record its answer (or why it failed); commits twice.

    First the run is claimed (queued → running, one conditional UPDATE, so two workers never
    solve the same run), then the optimizer answers, and the answer is stored.
    """
    started = utcnow()
    claimed = db.session.execute(
        sa.update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=started, pid=pid, progress="Solving")
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        run = db.session.get(RoundRun, run_id)
        if run is None:
            raise RunNotFound("There is no such run.")
        raise RunStateConflict(f"Run {run.number} has already started (it is {run.status.value}).")
    db.session.commit()
    run = db.session.get(RoundRun, run_id, populate_existing=True)
    assert run is not None
    try:
        instance = optimizer.instance_from_json(run.inputs)
        result = optimizer.solve(
            instance, solver=run.solver, time_limit=float(run.time_limit_seconds)
        )
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run
        db.session.rollback()
        run = db.session.get(RoundRun, run_id, populate_existing=True)
        assert run is not None
        run.status = RunStatus.FAILED
        run.finished_at = utcnow()
        run.progress = "Failed"
        run.error = f"{type(exc).__name__}: {exc}"[:4000]
        audit.record(
            run.started_by,
            "round_run",
            run.id,
            "failed",
            after={"error": run.error},
            scope=_scope(run.round_id),
        )
        db.session.commit()
        return run
    data = optimizer.result_to_json(result)
    run.result = data
    run.answer_sha256 = fingerprint(answer_of(data))
    run.outcome = result.status
    run.message = result.message or ""
    run.objective_pence = result.objective_pence
    run.bound_pence = result.bound_pence
    run.gap = result.gap
    run.seconds = round(result.seconds.total, 4)
    run.solver_label = result.solver
    run.status = RunStatus.DONE
    run.finished_at = utcnow()
    run.progress = "Finished"
    buying_round = _lock_round(run.round_id)
    if run.found_allocation and buying_round.status in (RoundStatus.OPEN, RoundStatus.CLOSED):
        buying_round.status = RoundStatus.RUN
    audit.record(
        run.started_by,
        "round_run",
        run.id,
        "finished",
        after={
            "outcome": run.outcome,
            "objective_pence": run.objective_pence,
            "bound_pence": run.bound_pence,
            "gap": run.gap,
            "seconds": run.seconds,
            "solver": run.solver_label,
            "answer_sha256": run.answer_sha256,
        },
        scope=_scope(run.round_id),
    )
    db.session.commit()
    return run


def launch_run(
    run: RoundRun, *, database_url: str, instance_path: str, project_root: Path, log_dir: Path
) -> int:
    """Start `flask rounds run ROUND --run RUN` as a detached process; returns its pid.

    The web worker returns at once; the round page refreshes itself until the run is done.
    The process gets this app's database and instance folder, and logs to log_dir.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": database_url, "POOLED_INSTANCE_PATH": instance_path}
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "rounds",
        "run",
        str(run.round_id),
        "--run",
        str(run.id),
    ]
    with (log_dir / f"round-run-{run.id}.log").open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command,
            cwd=project_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # Reap it when it ends, so no zombie is left behind in the worker.
    threading.Thread(target=process.wait, daemon=True).start()
    return process.pid


def same_input_runs(run: RoundRun) -> list[tuple[RoundRun, bool | None]]:
    """Other runs of the round with exactly the same inputs and solver, and whether they agree."""
    others = db.session.scalars(
        sa.select(RoundRun)
        .where(
            RoundRun.round_id == run.round_id,
            RoundRun.id != run.id,
            RoundRun.inputs_sha256 == run.inputs_sha256,
            RoundRun.solver == run.solver,
        )
        .order_by(RoundRun.number)
    )
    result = []
    for other in others:
        agrees = None
        if other.answer_sha256 is not None and run.answer_sha256 is not None:
            agrees = other.answer_sha256 == run.answer_sha256
        result.append((other, agrees))
    return result


# Awarding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardSummary:
    contracts: int
    orders: int
    schools: int
    total_pence: int


def _check_integers(run: RoundRun, answer: Answer) -> None:
    """Recompute every award from the run's own inputs, in integer pence, before billing."""
    offers = {o["id"]: o for o in run.inputs["offers"]}
    pooled: dict[str, int] = defaultdict(int)
    for award in answer.awards:
        offer = offers[award.offer_key]
        tiers = offer["tiers"]
        reached = [t for t in tiers if t["from"] <= award.units]
        if not reached or award.units > offer["capacity"]:
            raise RunStateConflict(f"Run {run.number} awards an offer more than it can take.")
        unit = reached[-1]["unit_price_pence"]
        cost = award.units * unit + offer["setup_pence"]
        if (unit, cost) != (award.unit_price_pence, award.cost_pence):
            raise RunStateConflict(
                f"Run {run.number}'s prices do not match its inputs; run the aggregator again."
            )
        pooled[award.lot_key] += cost
    charged: dict[str, int] = defaultdict(int)
    for line in answer.lines:
        charged[line.lot_key] += line.charge_pence
        if sum(s.units for s in line.supplies) != line.met or line.met > line.pledged:
            raise RunStateConflict(f"Run {run.number}'s allocations do not add up.")
    if any(pooled.get(key, 0) != charged.get(key, 0) for key in pooled.keys() | charged.keys()):
        raise RunStateConflict(
            f"Run {run.number}'s charges do not add up to its awards; run the aggregator again."
        )


def _contract_reference(round_id: int, term_key: str, offer_id: int) -> str:
    return f"RND{round_id}-{term_key}-O{offer_id}"


@use_case
def award_run(round_id: int, run_id: int, actor: User, now: datetime | None = None) -> AwardSummary:
    """Award a run: contracts per provider and lot, confirmed call-offs, capacity, notices.

    All in one transaction. The round's status moves to awarded with one conditional UPDATE
    first, so a second award of the same round (even at the same moment) is refused.
    """
    now = now or utcnow()
    buying_round = _lock_round(round_id)
    run = get_run(round_id, run_id)
    if buying_round.status is RoundStatus.AWARDED:
        earlier = awarded_run(round_id)
        raise RoundStateConflict(
            "This round has already been awarded"
            + (f" (run {earlier.number})" if earlier else "")
            + "; nothing was changed."
        )
    if buying_round.status is RoundStatus.CANCELLED:
        raise RoundStateConflict("This round was cancelled, so it cannot be awarded.")
    if run.in_progress:
        raise RunStateConflict(f"Run {run.number} has not finished yet.")
    if run.status is RunStatus.FAILED:
        raise RunStateConflict(f"Run {run.number} failed, so it cannot be awarded.")
    if not run.found_allocation:
        raise RunStateConflict(
            f"Run {run.number} found no allocation that meets the rules"
            + (f" ({run.message})" if run.message else "")
            + ", so it cannot be awarded. Change the rules and run again."
        )
    answer = run_answer(run)
    assert answer is not None
    if not answer.awards:
        raise RunStateConflict(f"Run {run.number} awards nothing, so there is nothing to award.")
    _check_integers(run, answer)
    before_status = buying_round.snapshot()
    moved = db.session.execute(
        sa.update(BuyingRound)
        .where(BuyingRound.id == round_id, BuyingRound.status.in_(ROUND_RUNNABLE_STATUSES))
        .values(status=RoundStatus.AWARDED, awarded_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise RoundStateConflict("This round has already been awarded; nothing was changed.")
    db.session.refresh(buying_round)

    # Capacity first: if any offer can no longer take its award, nothing is written.
    for award in answer.awards:
        term_key = run.labels["offers"][award.offer_key]["term_key"]
        try:
            reserve_capacity(award.offer_id, term_key, award.units)
        except (CapacityExhausted, OfferUnavailable) as exc:
            raise AwardCapacityConflict(
                f"{award.provider_name} can no longer take {award.units} "
                f"{plural(award.unit, award.units)} in {term_label(term_key)} ({exc.message}) "
                f"Run the aggregator again with today’s capacity; nothing was changed."
            ) from None

    offers = {
        o.id: o
        for o in db.session.scalars(
            sa.select(Offer).where(Offer.id.in_({a.offer_id for a in answer.awards}))
        )
    }
    contracts: dict[str, Contract] = {}
    for award in answer.awards:
        offer = offers[award.offer_id]
        term = Term.parse(run.labels["offers"][award.offer_key]["term_key"])
        contract = Contract(
            reference=_contract_reference(round_id, term.key, award.offer_id),
            title=f"{buying_round.title}: {offer.service.name}, {term.label}"[:200],
            provider_id=award.provider_id,
            service_id=offer.service_id,
            source=ContractSource.ROUND,
            source_id=round_id,
            status=ContractStatus.ACTIVE,
            starts_on=term.starts_on,
            ends_on=term.ends_on,
            capacity=award.units,
            awarded_at=now,
            tiers=[ContractTier(min_quantity=0, unit_price_pence=award.unit_price_pence)],
        )
        db.session.add(contract)
        contracts[award.offer_key] = contract
    db.session.flush()

    orders = 0
    schools: set[int] = set()
    per_school: dict[int, list[SchoolLine]] = defaultdict(list)
    for line in answer.lines:
        per_school[line.school_id].append(line)
        if not line.supplies:
            continue
        # The school's charge for the lot, split over its suppliers by what their units cost.
        weights = [s.units * s.award.unit_price_pence for s in line.supplies]
        if sum(weights) == 0:
            weights = [s.units for s in line.supplies]
        shares = largest_remainder(line.charge_pence, weights)
        # What those units would have cost the school alone, split the same way.
        alone = largest_remainder(line.basis_pence, weights)
        for supply, share, alone_pence in zip(line.supplies, shares, alone, strict=True):
            award = supply.award
            contract = contracts[award.offer_key]
            term_key = run.labels["offers"][award.offer_key]["term_key"]
            db.session.add(
                ContractSchool(
                    contract_id=contract.id,
                    school_id=line.school_id,
                    allocated_quantity=supply.units,
                    charge_pence=share,
                    standalone_pence=alone_pence,
                )
            )
            order = Order(
                school_id=line.school_id,
                provider_id=award.provider_id,
                service_id=offers[award.offer_id].service_id,
                offer_id=award.offer_id,
                contract_id=contract.id,
                kind=OrderKind.CALL_OFF,
                term_key=term_key,
                quantity=supply.units,
                entitled_quantity=0,
                unit_price_pence=(2 * share + supply.units) // (2 * supply.units),
                setup_pence=0,
                total_pence=share,
                po_number=f"ROUND-{round_id}",
                notes=(
                    f"Call-off from buying round “{buying_round.title}” (run {run.number}), "
                    f"contract {contract.reference}: {supply.units} "
                    f"{plural(award.unit, supply.units)} for your pooled charge of "
                    f"{format_pence(share)}."
                ),
                status=OrderStatus.CONFIRMED,
                created_by_id=actor.id,
                submitted_at=now,
                approved_at=now,
                confirmed_at=now,
            )
            db.session.add(order)
            db.session.flush()
            audit.record(
                actor,
                "order",
                order.id,
                "created",
                after={**order.snapshot(), "contract_id": contract.id, "round_id": round_id},
                scope=f"school:{order.school_id}",
            )
            orders += 1
            schools.add(line.school_id)

    for school_id, school_lines in sorted(per_school.items()):
        db.session.add(
            RoundNotice(
                round_id=round_id,
                school_id=school_id,
                message=_award_message(buying_round, school_lines),
                created_at=now,
            )
        )

    run.awarded_at = now
    run.awarded_by_id = actor.id
    total = sum(line.charge_pence for line in answer.lines)
    audit.record(
        actor,
        "round",
        round_id,
        "awarded",
        before=before_status,
        after={
            **buying_round.snapshot(),
            "run": run.number,
            "run_id": run.id,
            "contracts": sorted(c.reference for c in contracts.values()),
            "orders": orders,
            "total_pence": total,
        },
        scope=_scope(round_id),
    )
    db.session.commit()
    return AwardSummary(len(contracts), orders, len(schools), total)


def _award_message(buying_round: BuyingRound, lines: Iterable[SchoolLine]) -> str:
    parts = [f"Buying round “{buying_round.title}” has been awarded."]
    for line in lines:
        if line.met == 0:
            parts.append(
                f"{line.lot_label}: none of your {line.pledged} "
                f"{plural(line.unit, line.pledged)} could be met; order them from the catalogue."
            )
            continue
        providers = ", ".join(sorted({s.award.provider_name for s in line.supplies}))
        text = (
            f"{line.lot_label}: {line.met} {plural(line.unit, line.met)} from {providers} for "
            f"{format_pence(line.charge_pence)} (alone {format_pence(line.basis_pence)}, you save "
            f"{format_pence(line.saving_pence)})."
        )
        if line.unmet:
            text += f" {line.unmet} of your {line.pledged} could not be met."
        parts.append(text)
    parts.append("Your call-off orders are confirmed.")
    return " ".join(parts)


# Notices and the school home page ------------------------------------------------------------


def unread_notices(school_id: int) -> list[RoundNotice]:
    return list(
        db.session.scalars(
            sa.select(RoundNotice)
            .where(RoundNotice.school_id == school_id, RoundNotice.read_at.is_(None))
            .order_by(RoundNotice.created_at.desc(), RoundNotice.id.desc())
        )
    )


def notices_for_round(round_id: int, school_id: int) -> list[RoundNotice]:
    return list(
        db.session.scalars(
            sa.select(RoundNotice)
            .where(RoundNotice.round_id == round_id, RoundNotice.school_id == school_id)
            .order_by(RoundNotice.created_at.desc(), RoundNotice.id.desc())
        )
    )


@use_case
def mark_notice_read(
    notice_id: int, school_id: int, actor: User, now: datetime | None = None
) -> None:
    """The school has seen a notice; it leaves the home page."""
    notice = db.session.scalar(
        sa.select(RoundNotice).where(
            RoundNotice.id == notice_id, RoundNotice.school_id == school_id
        )
    )
    if notice is None:
        raise NoticeNotFound("There is no such notice.")
    if notice.read_at is None:
        notice.read_at = now or utcnow()
        notice.read_by_id = actor.id
        audit.record(actor, "round_notice", notice.id, "read", scope=f"school:{school_id}")
        db.session.commit()


@dataclass(frozen=True)
class HomeRound:
    round: BuyingRound
    services: list[str]
    pledged_units: int
    deadline_at: datetime


@dataclass(frozen=True)
class HomePanel:
    open_rounds: list[HomeRound]
    notices: list[RoundNotice]


def home_panel(school_id: int, now: datetime | None = None) -> HomePanel:
    """Rounds open for pledges (with what the school has pledged) and unread notices."""
    now = now or utcnow()
    open_rounds = list(
        db.session.scalars(
            sa.select(BuyingRound)
            .where(BuyingRound.status == RoundStatus.OPEN, BuyingRound.pledge_deadline_at > now)
            .options(selectinload(BuyingRound.services).selectinload(RoundService.service))
            .order_by(BuyingRound.pledge_deadline_at, BuyingRound.id)
        )
    )
    pledged = {
        round_id: int(units or 0)
        for round_id, units in db.session.execute(
            sa.select(Pledge.round_id, sa.func.sum(Pledge.quantity))
            .where(
                Pledge.school_id == school_id,
                Pledge.withdrawn_at.is_(None),
                Pledge.round_id.in_([r.id for r in open_rounds]),
            )
            .group_by(Pledge.round_id)
        )
    }
    return HomePanel(
        open_rounds=[
            HomeRound(
                r,
                sorted(rs.service.name for rs in r.services),
                int(pledged.get(r.id) or 0),
                r.pledge_deadline_at,
            )
            for r in open_rounds
        ],
        notices=unread_notices(school_id),
    )


def call_offs_for_school(round_id: int, school_id: int) -> list[Order]:
    """The school's call-off orders from this round's contracts."""
    return list(
        db.session.scalars(
            sa.select(Order)
            .join(Contract, Contract.id == Order.contract_id)
            .where(
                Order.school_id == school_id,
                Contract.source == ContractSource.ROUND,
                Contract.source_id == round_id,
            )
            .order_by(Order.id)
        )
    )


def contracts_of(round_id: int) -> list[Contract]:
    return list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.source == ContractSource.ROUND, Contract.source_id == round_id)
            .options(selectinload(Contract.provider), selectinload(Contract.schools))
            .order_by(Contract.reference)
        )
    )


# The demo round -----------------------------------------------------------------------------

DEMO_ROUND_TITLE = "Counselling days for next term"
# (school URN, days) pledged already; Greenwood Primary (the demo SBM's school) is left to pledge.
DEMO_PLEDGES = [
    (101867, 12),  # Acton Gardens Primary
    (101868, 8),  # East Acton Primary
    (101869, 15),  # Oldfield Primary
    (101873, 6),  # St John's Primary
    (101877, 10),  # Mayfield Primary
    (101880, 9),  # Downe Manor Primary
    (101886, 14),  # Selborne Primary
    (101893, 5),  # Clifton Primary
    (101898, 11),  # Gifford Primary
    (101902, 7),  # Willow Tree Primary
    (101907, 6),  # Stanhope Primary
    (101928, 18),  # Villiers High
]


def _demo_term(today: date, offers: list[Offer]) -> Term | None:
    """The next term all the counselling offers run in (the current one if none later)."""
    current = Term.containing(today)
    for term in terms_to_choose(today):
        if term > current and all(_offer_runs_in(o, term) for o in offers):
            return term
    return current if all(_offer_runs_in(o, current) for o in offers) else None


def seed_demo_round(now: datetime | None = None) -> int:
    """Add the demo round (counselling days, open, some pledges in); 0 if it exists. No commit."""
    now = now or utcnow()
    if db.session.scalar(sa.select(BuyingRound.id).where(BuyingRound.title == DEMO_ROUND_TITLE)):
        return 0
    db.session.flush()
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .join(Service, Service.id == Offer.service_id)
            .where(Service.slug == "counselling", Offer.status == OfferStatus.LIVE)
            .options(selectinload(Offer.capacities))
            .order_by(Offer.id)
        )
    )
    if not offers:
        return 0
    term = _demo_term(london_date(now), offers)
    if term is None:
        return 0
    deadline = min(
        now + timedelta(days=14),
        datetime.combine(term.starts_on, datetime.min.time(), tzinfo=now.tzinfo)
        - timedelta(days=1),
    )
    committee = db.session.scalar(
        sa.select(User).where(User.role == Role.COMMITTEE).order_by(User.id)
    )
    buying_round = BuyingRound(
        title=DEMO_ROUND_TITLE,
        description=(
            "Pledge the counselling days your school needs next term. Pooled together, the "
            "partnership reaches the providers' volume prices; every school pays no more than "
            "it would alone."
        ),
        status=RoundStatus.OPEN,
        term_keys=[term.key],
        pledge_deadline_at=deadline,
        max_share_percent=100,
        min_providers=1,
        single_source=False,
        created_by_id=committee.id if committee else None,
        opened_at=now,
        services=[RoundService(service_id=offers[0].service_id)],
        offers=[RoundOffer(offer_id=o.id) for o in offers],
    )
    db.session.add(buying_round)
    db.session.flush()
    urns = [urn for urn, _ in DEMO_PLEDGES]
    school_ids = {
        urn: school_id
        for urn, school_id in db.session.execute(
            sa.select(School.urn, School.id).where(School.urn.in_(urns))
        )
    }
    for urn, days in DEMO_PLEDGES:
        if urn in school_ids:
            db.session.add(
                Pledge(
                    round_id=buying_round.id,
                    school_id=school_ids[urn],
                    service_id=offers[0].service_id,
                    term_key=term.key,
                    quantity=days,
                    created_at=now,
                    updated_at=now,
                )
            )
    audit.record(
        committee,
        "round",
        buying_round.id,
        "created",
        after=buying_round.snapshot(),
        scope=_scope(buying_round),
    )
    db.session.flush()
    return 1
