"""Billing's settings and what it keeps between runs.

Whether Stripe is configured and the gateway for it; the key/values billing keeps in
`billing_state` (this database's namespace for Stripe keys and metadata, reconciliation's
cursors); and the write lock billing's transactions take first on SQLite.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from marketplace.billing.models import BillingState
from marketplace.billing.stripe_gateway import StripeGateway


def stripe_configured() -> bool:
    """True when STRIPE_API_KEY is set."""
    return bool(current_app.config.get("STRIPE_API_KEY"))


def gateway_from_config() -> StripeGateway | None:
    """The Stripe gateway for this app's settings, or None when Stripe is not configured."""
    key = current_app.config.get("STRIPE_API_KEY") or ""
    if not key:
        return None
    return StripeGateway.from_settings(key, current_app.config.get("STRIPE_API_BASE") or "")


@contextmanager
def sqlite_writer() -> Iterator[None]:
    """On SQLite, every transaction begun inside the block takes the write lock first.

    In SQLite's WAL mode a transaction that has read cannot then write if another process
    wrote in between ("database is locked", at once, whatever the busy timeout). Billing runs
    and webhooks write the same rows from different processes, so on SQLite their transactions
    start as writers (what BEGIN IMMEDIATE does). PostgreSQL needs nothing: it locks rows.
    """
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        yield
        return

    def take_write_lock(_session: Any, _transaction: Any, connection: Any) -> None:
        connection.exec_driver_sql("UPDATE billing_state SET key = key WHERE 0 = 1")

    sa.event.listen(session, "after_begin", take_write_lock)
    try:
        yield
    finally:
        sa.event.remove(session, "after_begin", take_write_lock)


def _state(key: str) -> BillingState | None:
    return db.session.get(BillingState, key)


def get_state(key: str, default: str = "") -> str:
    """A value billing keeps (e.g. a reconciliation cursor)."""
    row = _state(key)
    return row.value if row is not None else default


def set_state(key: str, value: str) -> None:
    """Set a kept value; the caller commits."""
    row = _state(key)
    if row is None:
        db.session.add(BillingState(key=key, value=value))
    else:
        row.value = value


def namespace() -> str:
    """This database's prefix for Stripe idempotency keys and metadata (made once, kept)."""
    value = get_state("namespace")
    if value:
        return value
    db.session.add(BillingState(key="namespace", value="pooled-" + secrets.token_hex(4)))
    try:
        db.session.commit()
    except IntegrityError:  # another process made it first
        db.session.rollback()
    return get_state("namespace")
