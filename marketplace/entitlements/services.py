"""Core-offer entitlements: what a year's membership includes, and how much of it is used.

Included: an `Entitlement` row per membership term and core service (e.g. two peer-review
days). Used: the entitled units of the school's orders for that service in that academic year
that hold capacity (submitted, approved, confirmed, delivered or invoiced). Drafts do not use
an entitlement; cancelling or declining an order gives its entitled units back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from app import audit
from app.calendar import AcademicYear
from app.extensions import db
from app.models import Membership, MembershipTerm, User
from app.use_case import use_case
from marketplace.catalogue.models import Service, ServiceKind
from marketplace.entitlements.errors import InvalidEntitlement
from marketplace.entitlements.models import Entitlement
from marketplace.orders.models import ORDER_RESERVING_STATUSES, Order

# What the demo partnership's membership includes each year (service slug → units).
DEMO_ENTITLEMENTS = {
    "link-partner-visit": 1,
    "peer-review": 2,
    "governor-support": 1,
    "assessment-data": 2,
}


@dataclass(frozen=True)
class EntitlementLine:
    service: Service
    included: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.included - self.used)


def _year_term_keys(start_year: int) -> list[str]:
    return [term.key for term in AcademicYear(start_year).terms()]


def _using(school_id: int, start_year: int) -> list[sa.ColumnElement[bool]]:
    """The school's orders that use its entitlements in that academic year."""
    return [
        Order.school_id == school_id,
        Order.term_key.in_(_year_term_keys(start_year)),
        Order.status.in_(ORDER_RESERVING_STATUSES),
    ]


def _used_query(school_id: int, start_year: int) -> sa.Select:
    return (
        sa.select(Order.service_id, sa.func.coalesce(sa.func.sum(Order.entitled_quantity), 0))
        .where(*_using(school_id, start_year))
        .group_by(Order.service_id)
    )


def membership_for_year(
    school_id: int, start_year: int, *, lock: bool = False
) -> Membership | None:
    """The school's membership for an academic year; `lock` holds its row until commit."""
    stmt = (
        sa.select(Membership)
        .join(MembershipTerm, Membership.term_id == MembershipTerm.id)
        .where(Membership.school_id == school_id, MembershipTerm.start_year == start_year)
    )
    if lock:
        stmt = stmt.with_for_update(of=Membership)
    return db.session.scalar(stmt)


def memberships_by_year(school_id: int, start_years: Iterable[int]) -> dict[int, Membership]:
    """The school's memberships for these academic years, by start year, in one statement (a
    year it is not a member in is missing)."""
    years = sorted(set(start_years))
    if not years:
        return {}
    rows = db.session.execute(
        sa.select(MembershipTerm.start_year, Membership)
        .join(MembershipTerm, Membership.term_id == MembershipTerm.id)
        .where(Membership.school_id == school_id, MembershipTerm.start_year.in_(years))
    )
    return {start_year: membership for start_year, membership in rows}


def entitlement_left(
    school_id: int, service_id: int, start_year: int, *, lock: bool = False
) -> int:
    """Units of a core service the school may still order at £0 in that academic year.

    With `lock`, the school's membership row is locked first, so two orders submitted at once
    cannot both use the last entitled unit.
    """
    service = db.session.get(Service, service_id)
    if service is None or service.kind is not ServiceKind.CORE:
        return 0
    membership = membership_for_year(school_id, start_year, lock=lock)
    if membership is None:
        return 0
    return left_under(membership, service_id, start_year)


def left_under(membership: Membership, service_id: int, start_year: int) -> int:
    """`entitlement_left` for a core service under a membership the caller has already read."""
    included = (
        sa.select(Entitlement.included_quantity)
        .where(Entitlement.term_id == membership.term_id, Entitlement.service_id == service_id)
        .scalar_subquery()
    )
    used = (
        sa.select(sa.func.coalesce(sa.func.sum(Order.entitled_quantity), 0))
        .where(*_using(membership.school_id, start_year), Order.service_id == service_id)
        .scalar_subquery()
    )
    # One statement for both figures.
    included_quantity, used_quantity = db.session.execute(sa.select(included, used)).one()
    if not included_quantity:
        return 0
    return max(0, included_quantity - int(used_quantity))


def entitlements_for_school(school_id: int, start_year: int) -> list[EntitlementLine] | None:
    """Included, used and left per core service; None when the school is not a member that year."""
    membership = membership_for_year(school_id, start_year)
    if membership is None:
        return None
    used = dict(db.session.execute(_used_query(school_id, start_year)).all())
    rows = db.session.execute(
        sa.select(Entitlement, Service)
        .join(Service, Entitlement.service_id == Service.id)
        .where(Entitlement.term_id == membership.term_id)
        .order_by(Service.name)
    )
    return [
        EntitlementLine(service=service, included=e.included_quantity, used=used.get(service.id, 0))
        for e, service in rows
    ]


MAX_INCLUDED = 1_000


def core_services() -> list[Service]:
    """Active core services: what a membership can include."""
    return list(
        db.session.scalars(
            sa.select(Service)
            .where(Service.kind == ServiceKind.CORE, Service.active.is_(True))
            .order_by(Service.name)
        )
    )


def included_for_term(term_id: int) -> dict[int, int]:
    """Service id → units included in one membership term."""
    return dict(
        db.session.execute(
            sa.select(Entitlement.service_id, Entitlement.included_quantity).where(
                Entitlement.term_id == term_id
            )
        ).all()
    )


@use_case
def set_included(term_id: int, included: dict[int, int], actor: User) -> int:
    """Set what one year's membership includes of each core service; returns rows changed.

    A school's used units stay as they are; lowering the included quantity below what a
    school has used simply leaves it nothing left.
    """
    term = db.session.get(MembershipTerm, term_id)
    if term is None:
        raise InvalidEntitlement("There is no such membership year.")
    allowed = {service.id for service in core_services()}
    for service_id, quantity in included.items():
        if service_id not in allowed:
            raise InvalidEntitlement("Only core services can be included in the membership.")
        if not 0 <= quantity <= MAX_INCLUDED:
            raise InvalidEntitlement(
                f"Included quantities must be between 0 and {MAX_INCLUDED:,}",
                field=f"service_{service_id}",
            )
    rows = {
        row.service_id: row
        for row in db.session.scalars(sa.select(Entitlement).where(Entitlement.term_id == term_id))
    }
    changed = 0
    for service_id, quantity in sorted(included.items()):
        row = rows.get(service_id)
        before = row.included_quantity if row is not None else 0
        if before == quantity:
            continue
        if row is None:
            row = Entitlement(term_id=term_id, service_id=service_id, included_quantity=quantity)
            db.session.add(row)
        else:
            row.included_quantity = quantity
        db.session.flush()
        audit.record(
            actor,
            "entitlement",
            row.id,
            "updated" if before else "created",
            before={"service_id": service_id, "included_quantity": before},
            after={"service_id": service_id, "included_quantity": quantity},
            scope=f"membership-term:{term_id}",
        )
        changed += 1
    db.session.commit()
    return changed


def seed_demo_entitlements() -> int:
    """Give every membership term the demo core offer; returns how many entitlements were added.

    Safe to run again: existing (term, service) pairs are left alone. The caller commits.
    """
    services = dict(
        db.session.execute(
            sa.select(Service.slug, Service.id).where(Service.slug.in_(DEMO_ENTITLEMENTS))
        ).all()
    )
    existing = {
        (term_id, service_id)
        for term_id, service_id in db.session.execute(
            sa.select(Entitlement.term_id, Entitlement.service_id)
        )
    }
    added = 0
    for term_id in db.session.scalars(sa.select(MembershipTerm.id).order_by(MembershipTerm.id)):
        for slug, included in DEMO_ENTITLEMENTS.items():
            service_id = services.get(slug)
            if service_id is None or (term_id, service_id) in existing:
                continue
            db.session.add(
                Entitlement(term_id=term_id, service_id=service_id, included_quantity=included)
            )
            added += 1
    db.session.flush()
    return added
