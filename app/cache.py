"""A cache for figures that change only when the data behind them does (dashboards).

Flask-Caching, shared by every worker: a file cache in the instance folder by default (all
gunicorn workers on one host see it), Redis when `REDIS_URL` is set (all hosts).

Never stale after a write: every cached value is stored under the current **figures token**, a
random string kept in the cache itself. Any database transaction that writes something other
than sign-in bookkeeping (sessions, throttling, the audit trail) replaces the token *after* it
commits (or rolls back: a figure read inside it may have seen its writes), so every later
read misses and recomputes, in every worker. A reader that read the old
token stores its result under the old token, which nobody reads again. Entries also expire after
`FIGURES_CACHE_SECONDS` (10 minutes), in case something writes to the database behind the app's
back.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask
from flask_caching import Cache
from sqlalchemy.orm import ORMExecuteState, Session

T = TypeVar("T")

cache = Cache()
TOKEN_KEY = "figures-token"  # noqa: S105 - a cache key, not a secret
CHANGED = "figures_changed"
# Tables whose writes change no figure: signing in and out, throttling, the audit trail.
UNCOUNTED_TABLES = frozenset({"users", "login_throttles", "audit_events"})


def configure(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL", "")
    if "CACHE_TYPE" not in app.config:
        if redis_url:
            app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url)
        else:
            app.config.update(
                CACHE_TYPE="FileSystemCache",
                CACHE_DIR=os.path.join(app.instance_path, "cache"),
                CACHE_THRESHOLD=5000,
            )
    app.config.setdefault("CACHE_KEY_PREFIX", "pooled:")
    app.config.setdefault("FIGURES_CACHE_SECONDS", 600)
    cache.init_app(app)


def figures_token() -> str:
    token = cache.get(TOKEN_KEY)
    if not token:
        token = secrets.token_hex(8)
        cache.set(TOKEN_KEY, token, timeout=0)
    return str(token)


def figures_changed() -> None:
    """The figures may have changed: a new token, so every cached figure is recomputed."""
    cache.set(TOKEN_KEY, secrets.token_hex(8), timeout=0)


def cached_figures(key: str, compute: Callable[[], T], timeout: int) -> T:
    """The value for `key` under the current token, computed and stored on a miss."""
    try:
        full_key = f"figures:{figures_token()}:{key}"
        value = cache.get(full_key)
    except Exception:  # noqa: BLE001 - no cache (Redis down): compute, as without one
        logging.getLogger(__name__).exception("figures cache unreachable")
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(full_key, value, timeout=timeout)
        except Exception:  # noqa: BLE001
            logging.getLogger(__name__).exception("figures cache unreachable")
    return value


def _counts(instance: object) -> bool:
    table = getattr(instance, "__tablename__", None)
    return table not in UNCOUNTED_TABLES


def _after_flush(session: Session, _context: Any) -> None:
    if any(
        _counts(obj) for group in (session.new, session.dirty, session.deleted) for obj in group
    ):
        session.info[CHANGED] = True


def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in UNCOUNTED_TABLES:
            state.session.info[CHANGED] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(CHANGED, False):
        try:
            figures_changed()
        except Exception:  # noqa: BLE001 - an unreachable cache must not fail a committed write
            logging.getLogger(__name__).exception("could not invalidate cached figures")


def _after_rollback(session: Session) -> None:
    # Something read inside the transaction may have been cached from writes now undone.
    _after_commit(session)


def install_listeners() -> None:
    """Listen to every session (once per process)."""
    if sa.event.contains(Session, "after_commit", _after_commit):
        return
    sa.event.listen(Session, "after_flush", _after_flush)
    sa.event.listen(Session, "do_orm_execute", _on_execute)
    sa.event.listen(Session, "after_commit", _after_commit)
    sa.event.listen(Session, "after_rollback", _after_rollback)


def init_app(app: Flask) -> None:
    configure(app)
    install_listeners()
