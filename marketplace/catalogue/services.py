"""The catalogue: finding a service, and the live offers for it with prices and capacity left."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.accounts import provider_for_school
from app.calendar import Term, add_working_days
from app.extensions import db
from app.models import Provider, School
from marketplace.catalogue import prices
from marketplace.catalogue import search as full_text
from marketplace.catalogue.errors import ServiceNotFound
from marketplace.catalogue.models import Service, ServiceCategory, ServiceKind, Unit
from marketplace.entitlements import services as entitlement_service
from marketplace.offers import tiers as offer_tiers
from marketplace.offers.loading import load_tiers_and_capacities
from marketplace.offers.models import Offer, OfferStatus, OfferTier
from marketplace.offers.pricing import PriceAtQuantity, Tier
from marketplace.orders import rules
from marketplace.orders.savings import (
    MembershipChange,
    MembershipSaving,
    is_member,
    membership_change,
    membership_saving,
    this_and_next_year,
)


@dataclass(frozen=True)
class CatalogueFilters:
    """What a school is looking for. Prices filter on any tier's unit price, in pence."""

    q: str = ""
    category: str | None = None  # a category's slug
    kind: ServiceKind | None = None
    unit: Unit | None = None
    min_price_pence: int | None = None
    max_price_pence: int | None = None
    provider_id: int | None = None

    @property
    def narrows_offers(self) -> bool:
        return (
            self.provider_id is not None
            or self.min_price_pence is not None
            or self.max_price_pence is not None
        )


@dataclass(frozen=True)
class CatalogueEntry:
    service: Service
    offer_count: int
    lowest_price_pence: int | None
    headline: prices.ServiceHeadline | None = None  # what this school would pay, and from what


def live_offer_conditions(today: date) -> list[sa.ColumnElement[bool]]:
    """Published and not expired (an offer starting later can be ordered for a later term)."""
    return [Offer.status == OfferStatus.LIVE, Offer.valid_to >= today]


def search(
    filters: CatalogueFilters,
    today: date,
    school_id: int | None = None,
    members: Collection[int] | None = None,
) -> list[CatalogueEntry]:
    """Services matching the search and every filter, with live offers, lowest price and the
    headline prices for the school: best match first when there are words to search for, else
    by category. `members`: the years the school is a member in, if the caller has read them
    (`member_years`, this academic year at least)."""
    offer_ids = sa.select(Offer.id).where(*live_offer_conditions(today))
    if filters.provider_id is not None:
        offer_ids = offer_ids.where(Offer.provider_id == filters.provider_id)
    if filters.min_price_pence is not None or filters.max_price_pence is not None:
        tier_in_range = sa.select(OfferTier.id).where(OfferTier.offer_id == Offer.id)
        if filters.min_price_pence is not None:
            tier_in_range = tier_in_range.where(
                OfferTier.unit_price_pence >= filters.min_price_pence
            )
        if filters.max_price_pence is not None:
            tier_in_range = tier_in_range.where(
                OfferTier.unit_price_pence <= filters.max_price_pence
            )
        offer_ids = offer_ids.where(tier_in_range.exists())
    stats = (
        sa.select(
            Offer.service_id.label("service_id"),
            sa.func.count(sa.distinct(Offer.id)).label("offer_count"),
            sa.func.min(OfferTier.unit_price_pence).label("lowest"),
        )
        .join(OfferTier, OfferTier.offer_id == Offer.id)
        .where(Offer.id.in_(offer_ids))
        .group_by(Offer.service_id)
        .subquery()
    )
    stmt = (
        sa.select(Service, stats.c.offer_count, stats.c.lowest)
        .outerjoin(stats, stats.c.service_id == Service.id)
        .where(Service.active.is_(True))
        .order_by(Service.name)
        .options(joinedload(Service.category, innerjoin=True))
    )
    if filters.narrows_offers:
        stmt = stmt.where(stats.c.offer_count > 0)
    if filters.category is not None:
        stmt = stmt.where(
            Service.category_id.in_(
                sa.select(ServiceCategory.id).where(ServiceCategory.slug == filters.category)
            )
        )
    if filters.kind is not None:
        stmt = stmt.where(Service.kind == filters.kind)
    if filters.unit is not None:
        stmt = stmt.where(Service.unit == filters.unit)
    found = full_text.matching_services(filters.q)
    if found is not None:
        stmt = stmt.join(found, found.c.service_id == Service.id).add_columns(found.c.rank)
    rows = db.session.execute(stmt).all()
    headlines = _headlines(
        offer_ids, [row[0].id for row in rows if row[1]], school_id, today, members
    )
    entries = [
        CatalogueEntry(
            service=row[0],
            offer_count=row[1] or 0,
            lowest_price_pence=row[2],
            headline=headlines.get(row[0].id),
        )
        for row in rows
    ]
    if found is not None:  # best match first (ties by name)
        ranks = [row[3] for row in rows]
        return [e for _, e in sorted(zip(ranks, entries, strict=True), key=lambda p: -p[0])]
    return sorted(
        entries,
        key=lambda e: (e.service.category.name.lower(), e.service.kind.value, e.service.name),
    )


def _this_year(today: date) -> int:
    return Term.containing(today).academic_year.start_year


def _headlines(
    offer_ids: sa.Select,
    service_ids: list[int],
    school_id: int | None,
    today: date,
    members: Collection[int] | None = None,
) -> dict[int, prices.ServiceHeadline]:
    """Per service: the headline prices over its offers that passed the filters, at the
    school's prices this academic year (member or not)."""
    if not service_ids:
        return {}
    # Only what prices read of each offer, with its tiers, in one statement of plain rows.
    rows = db.session.execute(
        sa.select(
            Offer.id,
            Offer.service_id,
            Offer.min_quantity,
            Offer.non_member_uplift_bp,
            OfferTier.min_quantity,
            OfferTier.unit_price_pence,
            OfferTier.non_member_unit_price_pence,
        )
        .outerjoin(OfferTier, OfferTier.offer_id == Offer.id)
        .where(Offer.id.in_(offer_ids), Offer.service_id.in_(service_ids))
        .order_by(Offer.id, OfferTier.min_quantity)
    )
    tiers: dict[int, list[offer_tiers.PricedTier]] = {}
    fields: dict[int, tuple[int, int, int]] = {}
    for offer_id, service_id, min_quantity, uplift_bp, tier_from, unit_price, non_member in rows:
        fields[offer_id] = (service_id, min_quantity, uplift_bp)
        offer_tiers_so_far = tiers.setdefault(offer_id, [])
        if tier_from is not None:  # an offer without tiers has no prices
            offer_tiers_so_far.append(offer_tiers.PricedTier(tier_from, unit_price, non_member))
    by_service: dict[int, list[offer_tiers.PricedOffer]] = {}
    for offer_id, (service_id, min_quantity, uplift_bp) in fields.items():
        by_service.setdefault(service_id, []).append(
            offer_tiers.PricedOffer(
                offer_id, service_id, min_quantity, uplift_bp, tuple(tiers[offer_id])
            )
        )
    last = prices.last_order_quantities(school_id)
    if school_id is None:
        member = True
    elif members is None:
        member = is_member(school_id, _this_year(today))
    else:
        member = _this_year(today) in members
    found = {}
    for service_id, service_offers in by_service.items():
        line = prices.headline(service_offers, school_id, last.get(service_id), member=member)
        if line is not None:
            found[service_id] = line
    return found


def providers_with_live_offers(today: date) -> list[tuple[int, str]]:
    """For the provider filter: (id, name) of each provider with a live offer, by name."""
    return [
        (provider_id, name)
        for provider_id, name in db.session.execute(
            sa.select(Provider.id, Provider.name)
            .where(
                Provider.id.in_(sa.select(Offer.provider_id).where(*live_offer_conditions(today)))
            )
            .order_by(Provider.name)
        )
    ]


@dataclass(frozen=True)
class TermCapacity:
    term: Term
    capacity: int
    reserved: int
    problem: str | None = None  # why this term cannot be ordered now, if it cannot

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.reserved)


@dataclass(frozen=True)
class OfferView:
    """One live offer as a school sees it."""

    offer: Offer
    tiers: list[Tier]
    terms: list[TermCapacity]
    earliest_start: date
    problem: str | None = None  # why this school cannot order it, if it cannot
    price: PriceAtQuantity | None = None  # at the quantity the school would typically buy
    # `tiers` are the prices this school pays; for a school that is not a member they are the
    # non-member prices, and `member_tiers` the member prices it would pay as a member.
    member_tiers: list[Tier] = field(default_factory=list)
    non_member: bool = False

    @property
    def orderable_terms(self) -> list[TermCapacity]:
        return [t for t in self.terms if t.problem is None and t.left > 0]

    @property
    def can_order(self) -> bool:
        return self.problem is None and bool(self.orderable_terms)


@dataclass(frozen=True)
class ServicePage:
    service: Service
    offers: list[OfferView]
    entitlement_left: int | None = None  # for a member school and a core service
    last_ordered: int | None = None  # the quantity of the school's last order of the service
    notes: list[str] = field(default_factory=list)
    saving: MembershipSaving | None = None  # for a school that is not a member this year
    # The term the school chose to see prices for (None: this academic year's prices), the
    # terms it can choose from, and how its prices change next year when no term is chosen.
    term: Term | None = None
    terms: list[Term] = field(default_factory=list)
    change: MembershipChange | None = None
    member: bool = True  # the school pays member prices in the priced year


def term_capacities(offer: Offer, today: date) -> list[TermCapacity]:
    """Capacity per term from the current term on, and why a term cannot be ordered."""
    earliest = add_working_days(today, offer.lead_time_days)
    current = Term.containing(today)
    rows = []
    for capacity in offer.capacities:
        try:
            term = Term.parse(capacity.term_key)
        except ValueError:
            continue
        if term < current:
            continue
        problem = rules.term_problem(
            term_label=term.label,
            term_starts_on=term.starts_on,
            term_ends_on=term.ends_on,
            valid_from=offer.valid_from,
            valid_to=offer.valid_to,
            earliest_start=earliest,
        )
        rows.append(TermCapacity(term, capacity.capacity, capacity.reserved, problem))
    return sorted(rows, key=lambda row: row.term)


_LOOK_UP: Any = object()


def offer_view(
    offer: Offer,
    today: date,
    school: School | None,
    *,
    own_provider_id: Any = _LOOK_UP,
    quantity: int | None = None,
    member: bool | None = None,
    term: Term | None = None,
) -> OfferView:
    """An offer with its tiers at this school's prices, capacity per term, whether this school
    may order it and its price at `quantity` (default: the offer's smallest order).

    `own_provider_id`: the school's own provider id when it sells too (looked up if omitted).
    `member`: whether the school is a member in the academic year of `term` (default: this
    academic year; looked up if omitted). A school that is not sees non-member prices, and
    cannot order core services.
    """
    problem = rules.offer_problem(
        status=offer.status.value, valid_from=offer.valid_from, valid_to=offer.valid_to, today=today
    )
    if problem is None and school is not None:
        own = provider_for_school(school.id) if own_provider_id is _LOOK_UP else own_provider_id
        problem = rules.eligibility_problem(
            areas=offer.areas or [],
            excluded_school_ids=offer.excluded_school_ids or [],
            school_id=school.id,
            school_area=school.area,
            school_provider_id=own,
            offer_provider_id=offer.provider_id,
        )
    year = (term or Term.containing(today)).academic_year
    if school is not None and member is None:
        member = is_member(school.id, year.start_year)
    non_member = school is not None and not member
    if problem is None and non_member and offer.service.kind is ServiceKind.CORE:
        problem = "Core services are for member schools: your school is not a member " + (
            "this year" if term is None else f"in {year.label}"
        )
    tiers = offer_tiers.member_tiers(offer)
    return OfferView(
        offer=offer,
        tiers=offer_tiers.non_member_tiers(offer) if non_member else tiers,
        terms=term_capacities(offer, today),
        earliest_start=add_working_days(today, offer.lead_time_days),
        problem=problem,
        price=prices.price_for_school(
            offer,
            school.id if school is not None else None,
            quantity if quantity is not None else prices.quantity_for(offer, None),
            member=not non_member,
        ),
        member_tiers=tiers,
        non_member=non_member,
    )


def service_page(
    service_id: int, today: date, school: School | None = None, term_key: str | None = None
) -> ServicePage:
    """A service and every live offer for it, cheapest first, at the school's prices for the
    term it chose (`term_key`; an unknown or past term is ignored), else for this academic
    year, with how its prices change next year."""
    service = db.session.get(
        Service, service_id, options=[joinedload(Service.category, innerjoin=True)]
    )
    if service is None or not service.active:
        raise ServiceNotFound("There is no such service in the catalogue.")
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .where(Offer.service_id == service.id, *live_offer_conditions(today))
            .options(joinedload(Offer.provider, innerjoin=True))
            .order_by(Offer.id)
        )
    )
    load_tiers_and_capacities(offers)
    own = provider_for_school(school.id) if school is not None else None
    last = prices.last_order_quantities(school.id if school is not None else None).get(service.id)
    terms = _offered_terms(offers, today)
    term = next((t for t in terms if t.key == term_key), None)
    this_year, next_year = this_and_next_year(today)
    # The school's memberships this year, next year and in the chosen term's year, read once.
    memberships = (
        entitlement_service.memberships_by_year(
            school.id,
            {this_year.start_year, next_year.start_year}
            | ({term.start_year} if term is not None else set()),
        )
        if school is not None
        else {}
    )
    saving = membership_saving(school.id, today, memberships) if school is not None else None
    member = saving is None
    if school is not None and term is not None:
        member = term.start_year in memberships
    views = [
        offer_view(
            offer,
            today,
            school,
            own_provider_id=own,
            quantity=prices.quantity_for(offer, last),
            member=member,
            term=term,
        )
        for offer in offers
    ]
    views.sort(key=lambda v: (v.tiers[0].unit_price_pence if v.tiers else 0, v.offer.id))
    left = None
    if school is not None and service.kind is ServiceKind.CORE:
        membership = memberships.get(this_year.start_year)
        if membership is not None:
            left = entitlement_service.left_under(membership, service.id, this_year.start_year)
    return ServicePage(
        service=service,
        offers=views,
        entitlement_left=left,
        last_ordered=last,
        saving=saving
        if term is None or term.academic_year == Term.containing(today).academic_year
        else None,
        term=term,
        terms=terms,
        change=(
            membership_change(school.id, today, memberships)
            if school is not None and term is None
            else None
        ),
        member=member,
    )


def _offered_terms(offers: list[Offer], today: date) -> list[Term]:
    """The terms from this one on that any of the offers has capacity for."""
    current = Term.containing(today)
    found = set()
    for offer in offers:
        for capacity in offer.capacities:
            try:
                term = Term.parse(capacity.term_key)
            except ValueError:
                continue
            if term >= current:
                found.add(term)
    return sorted(found)
