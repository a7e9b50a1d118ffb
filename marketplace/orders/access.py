"""Reaching orders: loading one, always scoped to the organisation asking; the lists a school
or a provider pages through; and the audit trail every change to an order writes.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app import audit
from app.accounts import provider_for_user
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role, School, User
from marketplace.catalogue.models import Service
from marketplace.orders.errors import OrderNotFound
from marketplace.orders.models import Order, OrderStatus

# What the order page shows of the order, joined into the one query that reads it.
_PAGE_LOADS = (
    joinedload(Order.school),
    joinedload(Order.provider),
    joinedload(Order.service).joinedload(Service.category),
    joinedload(Order.offer),
)


def _load(
    order_id: int, *conditions: sa.ColumnElement[bool], lock: bool = False, for_page: bool = False
) -> Order:
    stmt = sa.select(Order).where(Order.id == order_id, *conditions)
    if for_page:
        stmt = stmt.options(*_PAGE_LOADS)
    if lock:
        # Wait for anyone else changing this order, then read its latest committed state.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = db.session.scalar(stmt)
    if order is None:
        raise OrderNotFound("There is no such order.")
    return order


def get_order_for_school(order_id: int, school_id: int, *, lock: bool = False) -> Order:
    """One of the school's own orders (404 for anyone else's)."""
    return _load(order_id, Order.school_id == school_id, lock=lock)


def get_order_for_provider(order_id: int, provider_id: int, *, lock: bool = False) -> Order:
    """An order placed with this provider (404 for anyone else's)."""
    return _load(order_id, Order.provider_id == provider_id, lock=lock)


def trust_school_ids(trust_id: int) -> sa.Select:
    """The ids of a trust's schools (a subquery for scoping)."""
    return sa.select(School.id).where(School.trust_id == trust_id)


def approver_scope(user: User) -> sa.ColumnElement[bool] | None:
    """Which orders this person may approve: a head's or second approver's own school's, a
    trust finance lead's schools'; None for anyone else."""
    if user.role in (Role.HEAD, Role.GOVERNOR) and user.school_id is not None:
        return Order.school_id == user.school_id
    if user.role is Role.TRUST and user.trust_id is not None:
        return Order.school_id.in_(trust_school_ids(user.trust_id))
    return None


def get_order_for_approver(order_id: int, user: User, *, lock: bool = False) -> Order:
    """An order of a school this person approves for (404 for any other)."""
    scope = approver_scope(user)
    if scope is None:
        raise OrderNotFound("There is no such order.")
    return _load(order_id, scope, lock=lock)


def get_order_for_user(order_id: int, user: User) -> Order:
    """An order the user may read: their school's, their trust's schools', their provider's,
    or any for the partnership.

    Read-only (never locked), so its school, provider, service and offer are loaded with it.
    """
    if user.role in PARTNERSHIP_ROLES:
        return _load(order_id, for_page=True)
    conditions = []
    if user.role in SCHOOL_ROLES and user.school_id is not None:
        conditions.append(Order.school_id == user.school_id)
    approvable = approver_scope(user)
    if approvable is not None:
        conditions.append(approvable)
    provider = provider_for_user(user)
    if provider is not None:
        conditions.append(Order.provider_id == provider.id)
    if not conditions:
        raise OrderNotFound("There is no such order.")
    return _load(order_id, sa.or_(*conditions), for_page=True)


# What a list of orders shows, joined into the query that reads the page of orders rather than
# three queries per row (or one per relationship).
_LIST_LOADS = (
    joinedload(Order.school, innerjoin=True),
    joinedload(Order.provider, innerjoin=True),
    joinedload(Order.service, innerjoin=True).joinedload(Service.category, innerjoin=True),
)


def school_orders(school_id: int, status: OrderStatus | None = None) -> sa.Select:
    """The school's orders, newest first (a statement for pagination)."""
    stmt = sa.select(Order).where(Order.school_id == school_id).options(*_LIST_LOADS)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def trust_orders(trust_id: int, status: OrderStatus | None = None) -> sa.Select:
    """Orders of every school in the trust (drafts are each school's business), newest first."""
    stmt = (
        sa.select(Order)
        .where(Order.school_id.in_(trust_school_ids(trust_id)), Order.status != OrderStatus.DRAFT)
        .options(*_LIST_LOADS)
    )
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def provider_orders(provider_id: int, status: OrderStatus | None = None) -> sa.Select:
    """Orders placed with the provider (drafts are the school's business), newest first."""
    stmt = (
        sa.select(Order)
        .where(Order.provider_id == provider_id, Order.status != OrderStatus.DRAFT)
        .options(*_LIST_LOADS)
    )
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return stmt.order_by(Order.submitted_at.desc(), Order.id.desc())


def history(order: Order) -> list[audit.AuditEvent]:
    """The order's audit trail, oldest first."""
    return audit.history("order", order.id)


def record(
    actor: User | None, order: Order, action: str, before: dict | None, **extra: object
) -> None:
    """Write the order's audit event for a change, in the caller's transaction."""
    audit.record(
        actor,
        "order",
        order.id,
        action,
        before=before,
        after={**order.snapshot(), **extra},
        scope=f"school:{order.school_id}",
    )
