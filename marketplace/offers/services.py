"""The provider portal's use cases: create, change, publish and withdraw offers.

An offer is a draft until the provider publishes it; only live offers appear in the
catalogue. Withdrawing stops new orders; orders already placed stand. Capacity can be changed
at any time but never set below what schools have already reserved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import School, User
from app.time import london_today
from app.use_case import use_case
from marketplace.catalogue.editing import ensure_not_retired
from marketplace.catalogue.models import Service
from marketplace.offers.errors import InvalidOffer, OfferNotFound, OfferStateConflict
from marketplace.offers.models import Offer, OfferCapacity, OfferStatus, OfferTier
from marketplace.offers.pricing import Tier, non_member_tiers_problem
from marketplace.orders.models import Order
from marketplace.providers.compliance import publish_problem
from marketplace.providers.errors import NotCompliant

TITLE_MAX = 200
TEXT_MAX = 4000
MAX_LEAD_TIME_DAYS = 120
MAX_NOTICE_DAYS = 365
MAX_CAPACITY = 1_000_000
MAX_TIERS = 8
MAX_VALIDITY = timedelta(days=3 * 366)


@dataclass(frozen=True)
class OfferInput:
    """An offer as the provider typed it (money already in pence)."""

    service_id: int
    title: str
    valid_from: date
    valid_to: date
    tiers: list[Tier]
    capacities: dict[str, int]  # term key → units the provider can deliver that term
    description: str = ""
    lead_time_days: int = 10
    notice_days: int = 0
    cancellation_charge_bp: int = 0
    notice_rules: str = ""
    areas: list[str] = field(default_factory=list)
    excluded_school_urns: list[int] = field(default_factory=list)
    min_quantity: int = 1
    setup_pence: int = 0
    # What schools that are not members this academic year pay: on top of each member price
    # (basis points), or their own price per band (the member bands, each price at least the
    # member price) — one or the other.
    non_member_uplift_bp: int = 0
    non_member_tiers: list[Tier] = field(default_factory=list)


def offer_terms(today: date) -> list[Term]:
    """Terms a provider can set capacity for: from the current term to the end of next year."""
    current = Term.containing(today)
    year = current.academic_year
    terms = year.terms() + AcademicYear(year.start_year + 1).terms()
    return [term for term in terms if term >= current]


def known_areas() -> list[str]:
    """The partnership's areas (towns), from its schools."""
    return list(
        db.session.scalars(
            sa.select(School.area).where(School.area != "").distinct().order_by(School.area)
        )
    )


def snapshot(offer: Offer) -> dict[str, Any]:
    """The fields an audit event records."""
    return {
        "status": offer.status.value,
        "title": offer.title,
        "service_id": offer.service_id,
        "valid_from": offer.valid_from.isoformat(),
        "valid_to": offer.valid_to.isoformat(),
        "lead_time_days": offer.lead_time_days,
        "notice_days": offer.notice_days,
        "cancellation_charge_bp": offer.cancellation_charge_bp,
        "min_quantity": offer.min_quantity,
        "setup_pence": offer.setup_pence,
        "non_member_uplift_bp": offer.non_member_uplift_bp,
        "areas": list(offer.areas or []),
        "excluded_school_ids": list(offer.excluded_school_ids or []),
        "tiers": [
            [t.min_quantity, t.unit_price_pence]
            + ([t.non_member_unit_price_pence] if t.non_member_unit_price_pence is not None else [])
            for t in offer.tiers
        ],
        "capacities": {c.term_key: c.capacity for c in offer.capacities},
    }


def _record(actor: User, offer: Offer, action: str, before: dict[str, Any] | None) -> None:
    audit.record(
        actor,
        "offer",
        offer.id,
        action,
        before=before,
        after=snapshot(offer),
        scope=f"provider:{offer.provider_id}",
    )


def get_offer_for_provider(offer_id: int, provider_id: int, *, lock: bool = False) -> Offer:
    """One of the provider's own offers (404 for anyone else's)."""
    stmt = sa.select(Offer).where(Offer.id == offer_id, Offer.provider_id == provider_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    offer = db.session.scalar(stmt)
    if offer is None:
        raise OfferNotFound("There is no such offer.")
    return offer


def offers_for_provider(provider_id: int) -> list[Offer]:
    """The provider's offers, live first, with tiers and capacity."""
    order = sa.case(
        (Offer.status == OfferStatus.LIVE, 0), (Offer.status == OfferStatus.DRAFT, 1), else_=2
    )
    return list(
        db.session.scalars(
            sa.select(Offer)
            .where(Offer.provider_id == provider_id)
            .options(
                selectinload(Offer.tiers),
                selectinload(Offer.capacities),
                selectinload(Offer.service),
            )
            .order_by(order, Offer.title, Offer.id)
        )
    )


def history(offer: Offer) -> list[audit.AuditEvent]:
    return audit.history("offer", offer.id)


def _check(data: OfferInput, today: date, *, allowed_terms: set[str]) -> tuple[Service, list[int]]:
    """Every rule an offer must meet; returns its service and the excluded schools' ids."""
    service = db.session.get(Service, data.service_id)
    if service is None:
        raise InvalidOffer("Choose a service from the catalogue", field="service_id")
    if not service.active:
        raise InvalidOffer(
            f"{service.name} has been retired from the catalogue: choose another service",
            field="service_id",
        )
    if not data.title.strip():
        raise InvalidOffer("Enter a title for the offer", field="title")
    if len(data.title) > TITLE_MAX:
        raise InvalidOffer(f"The title must be {TITLE_MAX} characters or fewer", field="title")
    for text, name in ((data.description, "description"), (data.notice_rules, "notice_rules")):
        if len(text) > TEXT_MAX:
            raise InvalidOffer(f"Keep this to {TEXT_MAX:,} characters or fewer", field=name)
    if data.valid_to < data.valid_from:
        raise InvalidOffer("The offer must end on or after the day it starts", field="valid_to")
    if data.valid_to < today:
        raise InvalidOffer("The offer must end today or later", field="valid_to")
    if data.valid_to - data.valid_from > MAX_VALIDITY:
        raise InvalidOffer("An offer can run for at most three years", field="valid_to")
    if not 0 <= data.lead_time_days <= MAX_LEAD_TIME_DAYS:
        raise InvalidOffer(
            f"The lead time must be between 0 and {MAX_LEAD_TIME_DAYS} working days",
            field="lead_time_days",
        )
    if not 0 <= data.notice_days <= MAX_NOTICE_DAYS:
        raise InvalidOffer(
            f"The notice period must be between 0 and {MAX_NOTICE_DAYS} days", field="notice_days"
        )
    if not 0 <= data.cancellation_charge_bp <= 10_000:
        raise InvalidOffer(
            "The admin charge must be between 0% and 100%", field="cancellation_charge"
        )
    if not 1 <= data.min_quantity <= MAX_CAPACITY:
        raise InvalidOffer("The minimum order must be at least 1", field="min_quantity")
    if data.setup_pence < 0:
        raise InvalidOffer("The set-up charge cannot be negative", field="setup")
    if not 0 <= data.non_member_uplift_bp <= 10_000:
        raise InvalidOffer(
            "The extra for non-member schools must be between 0% and 100%",
            field="non_member_uplift",
        )
    _check_tiers(data)
    _check_capacities(data, allowed_terms)
    unknown = sorted(set(data.areas) - set(known_areas()))
    if unknown:
        raise InvalidOffer(f"Unknown area: {', '.join(unknown)}", field="areas")
    return service, _excluded_ids(data.excluded_school_urns)


def _check_tiers(data: OfferInput) -> None:
    _check_bands(data.tiers, data.min_quantity, "")
    if data.non_member_tiers:
        if data.non_member_uplift_bp:
            raise InvalidOffer(
                "Give either the extra for non-member schools or a non-member price for each "
                "price band, not both",
                field="non_member_uplift",
            )
        problem = non_member_tiers_problem(data.tiers, data.non_member_tiers)
        if problem is not None:
            raise InvalidOffer(problem, field="tiers")
        _check_bands(data.non_member_tiers, data.min_quantity, "non-member ")


def _check_bands(bands: list[Tier], min_quantity: int, whose: str) -> None:
    """One set of all-units bands is well formed (`whose` names non-member prices)."""
    tiers = sorted(bands)
    if not tiers:
        raise InvalidOffer("Enter at least one price", field="tiers")
    if len(tiers) > MAX_TIERS:
        raise InvalidOffer(f"Enter at most {MAX_TIERS} price bands", field="tiers")
    starts = [t.min_quantity for t in tiers]
    if len(set(starts)) != len(starts):
        raise InvalidOffer("Each price band must start at a different quantity", field="tiers")
    if any(t.min_quantity < 0 or t.min_quantity > MAX_CAPACITY for t in tiers):
        raise InvalidOffer("Price bands must start at 0 or more units", field="tiers")
    if any(t.unit_price_pence <= 0 for t in tiers):
        raise InvalidOffer(f"Every {whose}price must be more than £0", field="tiers")
    if tiers[0].min_quantity > min_quantity:
        raise InvalidOffer(
            f"The first price band must start at or below the minimum order ({min_quantity})",
            field="tiers",
        )
    for lower, higher in zip(tiers, tiers[1:], strict=False):
        if higher.unit_price_pence > lower.unit_price_pence:
            raise InvalidOffer(
                f"The {whose}price from {higher.min_quantity} units cannot be more than the "
                f"{whose}price from {lower.min_quantity} units: volume bands are discounts",
                field="tiers",
            )


def _check_capacities(data: OfferInput, allowed_terms: set[str]) -> None:
    if not data.capacities:
        raise InvalidOffer("Enter the capacity for at least one term", field="capacities")
    for key, capacity in data.capacities.items():
        if key not in allowed_terms:
            raise InvalidOffer(f"“{key}” is not a term you can offer", field="capacities")
        term = Term.parse(key)
        if not 0 <= capacity <= MAX_CAPACITY:
            raise InvalidOffer(
                f"{term.label}: capacity must be between 0 and {MAX_CAPACITY:,}",
                field="capacities",
            )
        if term.starts_on > data.valid_to or term.ends_on < data.valid_from:
            raise InvalidOffer(
                f"{term.label} is outside the dates the offer runs; leave its capacity blank",
                field="capacities",
            )


def _excluded_ids(urns: list[int]) -> list[int]:
    if not urns:
        return []
    found = dict(
        db.session.execute(sa.select(School.urn, School.id).where(School.urn.in_(urns))).all()
    )
    missing = [str(urn) for urn in urns if urn not in found]
    if missing:
        raise InvalidOffer(
            f"No school has the URN {', '.join(missing)}", field="excluded_school_urns"
        )
    return sorted({found[urn] for urn in urns})


def _apply_scalars(offer: Offer, data: OfferInput, excluded_ids: list[int]) -> None:
    offer.service_id = data.service_id
    offer.title = data.title.strip()
    offer.description = data.description.strip()
    offer.valid_from = data.valid_from
    offer.valid_to = data.valid_to
    offer.lead_time_days = data.lead_time_days
    offer.notice_days = data.notice_days
    offer.cancellation_charge_bp = data.cancellation_charge_bp
    offer.notice_rules = data.notice_rules.strip()
    offer.areas = sorted(set(data.areas))
    offer.excluded_school_ids = excluded_ids
    offer.min_quantity = data.min_quantity
    offer.setup_pence = data.setup_pence
    offer.non_member_uplift_bp = data.non_member_uplift_bp


def _apply_tiers(offer: Offer, tiers: list[Tier], non_member: list[Tier]) -> None:
    """Change tiers in place by starting quantity (replacing rows would trip the unique key)."""
    existing = {t.min_quantity: t for t in offer.tiers}
    wanted = {t.min_quantity: t.unit_price_pence for t in tiers}
    non_member_prices = {t.min_quantity: t.unit_price_pence for t in non_member}
    for start, row in existing.items():
        if start in wanted:
            row.unit_price_pence = wanted[start]
            row.non_member_unit_price_pence = non_member_prices.get(start)
        else:
            offer.tiers.remove(row)
    for start, price in sorted(wanted.items()):
        if start not in existing:
            offer.tiers.append(
                OfferTier(
                    min_quantity=start,
                    unit_price_pence=price,
                    non_member_unit_price_pence=non_member_prices.get(start),
                )
            )


def _apply_capacities(offer: Offer, capacities: dict[str, int]) -> None:
    """Set capacity per term; never below the units already reserved (rows locked first)."""
    rows = {
        c.term_key: c
        for c in db.session.scalars(
            sa.select(OfferCapacity)
            .where(OfferCapacity.offer_id == offer.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for key, row in rows.items():
        label = Term.parse(key).label
        if key not in capacities:
            if row.reserved:
                raise InvalidOffer(
                    f"{label}: {row.reserved} units are already ordered, so this term cannot be "
                    "removed",
                    field="capacities",
                )
            offer.capacities.remove(row)
        elif capacities[key] < row.reserved:
            raise InvalidOffer(
                f"{label}: {row.reserved} units are already ordered, so capacity cannot be less "
                "than that",
                field="capacities",
            )
        else:
            row.capacity = capacities[key]
    for key, capacity in sorted(capacities.items()):
        if key not in rows:
            offer.capacities.append(OfferCapacity(term_key=key, capacity=capacity, reserved=0))


def _require_compliance(provider_id: int, today: date) -> None:
    """An offer is published only while the provider's compliance documents are in order."""
    problem = publish_problem(provider_id, today)
    if problem is not None:
        raise NotCompliant(problem)


@use_case
def create_offer(
    provider_id: int,
    data: OfferInput,
    actor: User,
    *,
    publish: bool = False,
    today: date | None = None,
) -> Offer:
    """Save a new offer as a draft, or publish it straight away."""
    today = today or london_today()
    _, excluded = _check(data, today, allowed_terms={t.key for t in offer_terms(today)})
    if publish:
        _require_compliance(provider_id, today)
    offer = Offer(provider_id=provider_id, status=OfferStatus.DRAFT, tiers=[], capacities=[])
    _apply_scalars(offer, data, excluded)
    db.session.add(offer)
    _apply_tiers(offer, data.tiers, data.non_member_tiers)
    for key, capacity in sorted(data.capacities.items()):
        offer.capacities.append(OfferCapacity(term_key=key, capacity=capacity, reserved=0))
    db.session.flush()
    _record(actor, offer, "created", None)
    if publish:
        before = snapshot(offer)
        offer.status = OfferStatus.LIVE
        _record(actor, offer, "published", before)
    db.session.commit()
    return offer


@use_case
def update_offer(
    offer_id: int,
    provider_id: int,
    data: OfferInput,
    actor: User,
    *,
    today: date | None = None,
) -> Offer:
    """Change an offer's terms, prices or capacity; orders already placed keep their price."""
    today = today or london_today()
    offer = get_offer_for_provider(offer_id, provider_id, lock=True)
    if offer.status is OfferStatus.WITHDRAWN:
        raise OfferStateConflict("This offer has been withdrawn and can no longer be changed.")
    # Terms already on the offer stay editable even once they are in the past.
    allowed = {t.key for t in offer_terms(today)} | {c.term_key for c in offer.capacities}
    _, excluded = _check(data, today, allowed_terms=allowed)
    if data.service_id != offer.service_id and db.session.scalar(
        sa.select(sa.func.count()).select_from(Order).where(Order.offer_id == offer.id)
    ):
        raise InvalidOffer(
            "Schools have ordered this offer, so it cannot move to another service",
            field="service_id",
        )
    before = snapshot(offer)
    _apply_scalars(offer, data, excluded)
    _apply_tiers(offer, data.tiers, data.non_member_tiers)
    _apply_capacities(offer, data.capacities)
    db.session.flush()
    db.session.refresh(offer, ["tiers", "capacities"])
    _record(actor, offer, "updated", before)
    db.session.commit()
    return offer


@use_case
def publish_offer(
    offer_id: int, provider_id: int, actor: User, *, today: date | None = None
) -> Offer:
    """Put a draft offer in the catalogue."""
    today = today or london_today()
    offer = get_offer_for_provider(offer_id, provider_id, lock=True)
    if offer.status is not OfferStatus.DRAFT:
        raise OfferStateConflict(
            f"This offer is {offer.status.value}; only drafts can be published."
        )
    if offer.valid_to < today:
        raise OfferStateConflict("This offer has expired: change its dates before publishing it.")
    if not offer.tiers or not offer.capacities:
        raise OfferStateConflict("Give the offer prices and capacity before publishing it.")
    ensure_not_retired(offer.service)
    _require_compliance(provider_id, today)
    before = snapshot(offer)
    offer.status = OfferStatus.LIVE
    _record(actor, offer, "published", before)
    db.session.commit()
    return offer


@use_case
def withdraw_offer(offer_id: int, provider_id: int, actor: User) -> Offer:
    """Take an offer out of the catalogue; orders already placed stand."""
    offer = get_offer_for_provider(offer_id, provider_id, lock=True)
    if offer.status is OfferStatus.WITHDRAWN:
        raise OfferStateConflict("This offer has already been withdrawn.")
    before = snapshot(offer)
    offer.status = OfferStatus.WITHDRAWN
    _record(actor, offer, "withdrawn", before)
    db.session.commit()
    return offer
