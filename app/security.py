"""Sign-in, roles and organisation scoping."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app
from flask_login import current_user, login_required
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import DomainError
from app.extensions import db, login_manager
from app.models import LoginThrottle, Role, User
from app.time import to_london, utcnow

F = TypeVar("F", bound=Callable[..., Any])


@cache
def _dummy_hash() -> str:
    """A real hash of a random password: checking it costs what checking a user's does."""
    return generate_password_hash(secrets.token_hex(16))


class SignInLocked(DomainError):
    code = "sign_in_locked"
    http_status = 429


class SignInFailed(DomainError):
    code = "sign_in_failed"


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Only signed-in users with one of these roles may use the view (others get 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def authenticate(email: str, password: str, now: datetime | None = None) -> User:
    """Check an email and password, counting failures; commits the throttle state.

    After LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_MINUTES the address is locked for
    LOGIN_LOCK_MINUTES, whether or not the account exists (so locks reveal nothing).
    """
    now = now or utcnow()
    email = email.strip().lower()
    config = current_app.config
    throttle = db.session.execute(
        sa.select(LoginThrottle).where(LoginThrottle.email == email).with_for_update()
    ).scalar_one_or_none()
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        raise SignInLocked(_locked_message(throttle.locked_until))

    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and user.check_password(password) and user.active:
        if throttle is not None:
            db.session.delete(throttle)
        user.last_login_at = now
        db.session.commit()
        return user
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same time as a wrong password

    window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    if throttle is None:
        throttle = LoginThrottle(email=email, failures=0, window_started_at=now)
        db.session.add(throttle)
    elif throttle.window_started_at + window < now or throttle.locked_until is not None:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    throttle.failures += 1
    locked = throttle.failures >= config["LOGIN_MAX_FAILURES"]
    if locked:
        throttle.locked_until = now + timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    db.session.commit()
    if locked:
        raise SignInLocked(_locked_message(throttle.locked_until))  # type: ignore[arg-type]
    if user is not None and not user.active and user.check_password(password):
        raise SignInFailed("This account has been deactivated. Ask the partnership office.")
    left = config["LOGIN_MAX_FAILURES"] - throttle.failures
    raise SignInFailed(
        "Email address or password is not right. "
        + (f"{left} more tries before sign-in is locked for a while." if left <= 2 else "")
    )


def _locked_message(until: datetime) -> str:
    return (
        "Too many failed sign-in attempts for this email address. "
        f"Try again after {to_london(until):%H:%M} (UK time)."
    )
