"""Sign-in, roles and organisation scoping."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, Response, abort, current_app, g, request
from flask_login import current_user, login_required
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit
from app.errors import DomainError
from app.extensions import db, login_manager
from app.models import LoginThrottle, Role, User
from app.time import to_london, utcnow

F = TypeVar("F", bound=Callable[..., Any])

# An email's HTML as the email carries it (inline styles, for mail clients) on the admin's
# Outbox page: its own policy, styles only, in a sandbox where nothing can run.
EMAIL_PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _own_policy(response: Response) -> Response:
    policy = g.pop("content_security_policy", None)
    if policy:
        response.headers["Content-Security-Policy"] = policy
    return response


@cache
def _dummy_hash() -> str:
    """A real hash of a random password: checking it costs what checking a user's does."""
    return generate_password_hash(secrets.token_hex(16))


class SignInLocked(DomainError):
    code = "sign_in_locked"
    http_status = 429


class SignInFailed(DomainError):
    code = "sign_in_failed"


# Every page works under this policy: no inline script or style, nothing from other sites.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_nul_characters() -> None:
    """No NUL character (U+0000) in a query string or a form field: PostgreSQL cannot store it
    in text and no one types it, so the request is refused with a reason before any view
    reads it (400, nothing changed)."""
    values = list(request.args.values())
    if request.mimetype in FORM_MIMETYPES:
        values.extend(value for _, value in request.form.items(multi=True))
    if any("\x00" in value for value in values):
        raise DomainError(
            "Something you sent contains a NUL character (U+0000), which cannot be stored. "
            "Remove it and try again. Nothing has been changed.",
            code="nul_character",
        )


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Behind N reverse proxies: the client's address and the scheme come from their headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    secure = app.config["SESSION_COOKIE_SECURE"]
    # Registered before Talisman's, so it runs after it: a view that set its own policy
    # (g.content_security_policy) has it replace the site's.
    app.after_request(_own_policy)
    Talisman(
        app,
        force_https=False,  # TLS ends at the proxy in front of gunicorn
        strict_transport_security=secure,  # HSTS on HTTPS responses when cookies are HTTPS-only
        strict_transport_security_max_age=31_536_000,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
        x_xss_protection=False,  # obsolete; the CSP does this job
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, if the cookie's "<id>:<session version>" is still current."""
    number, _, version = user_id.partition(":")
    if not (number.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(number))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


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


ANY_ADDRESS = "*"  # the LoginThrottle row that counts one client's failures at every address


def _throttle(email: str, client: str) -> LoginThrottle | None:
    return db.session.execute(
        sa.select(LoginThrottle)
        .where(LoginThrottle.email == email, LoginThrottle.client == client)
        .with_for_update()
    ).scalar_one_or_none()


def _count_failure(
    throttle: LoginThrottle | None, email: str, client: str, limit: int, now: datetime
) -> tuple[LoginThrottle, bool]:
    """Count one failure on a throttle row (made if missing); True when it now locks."""
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    if throttle is None:
        throttle = LoginThrottle(email=email, client=client, failures=0, window_started_at=now)
        db.session.add(throttle)
    elif throttle.window_started_at + window < now or throttle.locked_until is not None:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures < limit:
        return throttle, False
    throttle.locked_until = now + timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    audit.record(
        None,
        "sign_in",
        email,
        "locked",
        after={
            "client": client,
            "failures": throttle.failures,
            "until": throttle.locked_until.isoformat(),
        },
        scope="sign-in",
    )
    return throttle, True


def authenticate(email: str, password: str, client: str, now: datetime | None = None) -> User:
    """Check an email and password from a client (its IP address), counting failures; commits
    the throttle state.

    Failures are counted per address *and* client: LOGIN_MAX_FAILURES within
    LOGIN_WINDOW_MINUTES lock that address for that client only, for LOGIN_LOCK_MINUTES, so a
    stranger guessing someone's password cannot lock its owner out of their own client. A
    client that fails LOGIN_CLIENT_MAX_FAILURES times across all addresses is locked as a
    whole. Unknown addresses count like real ones (locks reveal nothing); every lock is
    recorded in the audit trail.
    """
    now = now or utcnow()
    email = email.strip().lower()
    client = (client or "unknown")[:64]
    config = current_app.config
    pair = _throttle(email, client)
    whole = _throttle(ANY_ADDRESS, client)
    for throttle in (pair, whole):
        if (
            throttle is not None
            and throttle.locked_until is not None
            and throttle.locked_until > now
        ):
            raise SignInLocked(_locked_message(throttle.locked_until, throttle is whole))

    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and user.check_password(password) and user.active:
        if pair is not None:
            db.session.delete(pair)
        user.last_login_at = now
        db.session.commit()
        return user
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same time as a wrong password

    pair, pair_locked = _count_failure(pair, email, client, config["LOGIN_MAX_FAILURES"], now)
    whole, whole_locked = _count_failure(
        whole, ANY_ADDRESS, client, config["LOGIN_CLIENT_MAX_FAILURES"], now
    )
    db.session.commit()
    if pair_locked or whole_locked:
        locked = pair if pair_locked else whole
        assert locked.locked_until is not None
        raise SignInLocked(_locked_message(locked.locked_until, not pair_locked))
    if user is not None and not user.active and user.check_password(password):
        raise SignInFailed("This account has been deactivated. Ask the partnership office.")
    left = config["LOGIN_MAX_FAILURES"] - pair.failures
    raise SignInFailed(
        "Email address or password is not right. "
        + (f"{left} more tries before sign-in is locked for a while." if left <= 2 else "")
    )


def _locked_message(until: datetime, whole_client: bool) -> str:
    what = "from your network" if whole_client else "for this email address"
    return (
        f"Too many failed sign-in attempts {what}. "
        f"Try again after {to_london(until):%H:%M} (UK time)."
    )
