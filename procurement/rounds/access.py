"""Loading rounds, runs and schools, always scoped to who is asking; a round's audit trail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import audit
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, School, User
from marketplace.catalogue.models import Service
from marketplace.offers.loading import load_tiers_and_capacities, unloaded
from marketplace.offers.models import Offer
from procurement.rounds.errors import RoundNotFound, RunNotFound
from procurement.rounds.models import BuyingRound, RoundOffer, RoundRun, RoundService


def _round_query(round_id: int) -> sa.Select:
    return sa.select(BuyingRound).where(BuyingRound.id == round_id)


def _with_offers(buying_round: BuyingRound) -> BuyingRound:
    """The round with its services and offers (tiers, capacity, provider, service) loaded, in
    four plain statements: its services, its offers joined to the single rows they refer to,
    then every tier and every capacity of those offers (marketplace.offers.loading). What
    nested selectinloads do, at about two thirds of their cost in Python (the round page reads
    all of it; issue 19). As a loader, it leaves alone a collection this session has already
    loaded, and sets the others as loaded (set_committed_value), not as changes to write."""
    if unloaded(buying_round, "services"):
        services = db.session.scalars(
            sa.select(RoundService)
            .where(RoundService.round_id == buying_round.id)
            .order_by(RoundService.id)
            .options(
                joinedload(RoundService.service, innerjoin=True).joinedload(
                    Service.category, innerjoin=True
                )
            )
        )
        set_committed_value(buying_round, "services", list(services))
    if unloaded(buying_round, "offers"):
        offer = joinedload(RoundOffer.offer, innerjoin=True)
        round_offers = db.session.scalars(
            sa.select(RoundOffer)
            .where(RoundOffer.round_id == buying_round.id)
            .order_by(RoundOffer.id)
            .options(
                offer.joinedload(Offer.provider, innerjoin=True),
                offer.joinedload(Offer.service, innerjoin=True).joinedload(
                    Service.category, innerjoin=True
                ),
            )
        )
        set_committed_value(buying_round, "offers", list(round_offers))
    load_tiers_and_capacities(ro.offer for ro in buying_round.offers)
    return buying_round


def get_round(round_id: int) -> BuyingRound:
    """Any round (the committee's view)."""
    found = db.session.scalar(_round_query(round_id))
    if found is None:
        raise RoundNotFound("There is no such buying round.")
    return _with_offers(found)


def get_round_for_user(round_id: int, user: User) -> BuyingRound:
    """A round this user may see: the partnership all; school staff announced rounds; else 404."""
    found = db.session.scalar(_round_query(round_id))
    if found is None or not can_see_round(found, user):
        raise RoundNotFound("There is no such buying round.")
    return _with_offers(found)


def can_see_round(buying_round: BuyingRound, user: User) -> bool:
    if user.role in PARTNERSHIP_ROLES:
        return True
    return user.role in SCHOOL_ROLES and buying_round.announced


def lock_round(round_id: int, *, read: bool = False) -> BuyingRound:
    """The round, its row locked until the transaction ends (shared when `read`), freshly read."""
    found = db.session.scalar(
        _round_query(round_id).with_for_update(read=read).execution_options(populate_existing=True)
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


def audit_scope(buying_round: BuyingRound | int) -> str:
    round_id = buying_round if isinstance(buying_round, int) else buying_round.id
    return f"round:{round_id}"


def record_round_change(
    actor: User | None, buying_round: BuyingRound, action: str, before: dict[str, Any]
) -> None:
    """Audit a change to the round itself: its fields before and after, in the round's scope."""
    audit.record(
        actor,
        "round",
        buying_round.id,
        action,
        before=before,
        after=buying_round.snapshot(),
        scope=audit_scope(buying_round.id),
    )
