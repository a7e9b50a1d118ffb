"""A cache for figures that change only when the data behind them does (dashboards).

Flask-Caching, shared by every worker: a file cache in the instance folder by default (all
gunicorn workers on one host see it), Redis when `REDIS_URL` is set (all hosts).

Pages too (`cached_page`): a page a signed-in person has just seen is served again from the cache
while nothing has been written, to the same person in the same session only.

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

import functools
import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, request, session
from flask_caching import Cache
from flask_login import current_user
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
    app.config.setdefault("PAGE_CACHE_SECONDS", 60)
    if app.config["PAGE_CACHE_SECONDS"] < 1:  # 0 would mean "forever" to Flask-Caching
        raise ValueError("PAGE_CACHE_SECONDS must be at least 1 (PAGE_CACHE=0 turns it off)")
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


def _page_cacheable() -> bool:
    """Whether this request's page may come from (and go to) the cache: a GET by someone signed
    in, with no message waiting to be shown (it is shown once)."""
    return bool(
        current_app.config.get("PAGE_CACHE", True)
        and request.method == "GET"
        and current_user.is_authenticated
        and not session.get("_flashes")
    )


def _page_key() -> str | None:
    """The cache key of this request's page: who is asking, as the header shows them (a change
    to their own name or role is a write to `users`, which does not change the token), the
    session's CSRF secret (the page's forms carry a token made from it, valid in this session
    only) and the address. None while the session has no secret yet."""
    secret = session.get("csrf_token")
    if not secret:
        return None
    who = (
        current_user.id,
        current_user.role.value,
        current_user.school_id,
        current_user.name,
        current_user.email,
        secret,
        request.full_path,
    )
    return "page:" + hashlib.sha256(repr(who).encode()).hexdigest()


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve a read-only page from the cache to the person who has just seen it, until the next
    write anywhere (the figures token) or PAGE_CACHE_SECONDS (60 s: what only the clock changes,
    such as a deadline passing, shows within a minute). Put it under the view's access check:
    every request is still authorised before the cache is read. Only 200 HTML answers are
    kept."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not _page_cacheable():
            return view(*args, **kwargs)
        key = _page_key()
        try:
            token = figures_token()  # read before rendering: a write meanwhile outdates it
            hit = cache.get(f"figures:{token}:{key}") if key else None
        except Exception:  # noqa: BLE001 - no cache (Redis down): render, as without one
            logging.getLogger(__name__).exception("page cache unreachable")
            return view(*args, **kwargs)
        if hit is not None:
            body, mimetype = hit
            return current_app.response_class(body, mimetype=mimetype)
        response = current_app.make_response(view(*args, **kwargs))
        rendered_key = _page_key()  # the first page of a session makes its secret
        if (
            response.status_code == 200
            and response.mimetype == "text/html"
            and not response.direct_passthrough
            and rendered_key is not None
            and key in (None, rendered_key)
        ):
            try:
                cache.set(
                    f"figures:{token}:{rendered_key}",
                    (response.get_data(), response.mimetype),
                    timeout=current_app.config["PAGE_CACHE_SECONDS"],
                )
            except Exception:  # noqa: BLE001
                logging.getLogger(__name__).exception("page cache unreachable")
        return response

    return wrapped


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
