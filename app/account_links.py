"""Signed account links: an invitation (7 days) and a password reset (1 hour).

A link carries the user's id and a fingerprint of their current password hash, signed with
SECRET_KEY (itsdangerous) and a salt per purpose. Setting a password changes the hash, so a
link works once; the timestamp in the signature makes it expire.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.extensions import db
from app.models import User


class LinkPurpose(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password-reset"  # noqa: S105 - a link purpose, not a password


LIFETIME = {
    LinkPurpose.INVITATION: timedelta(days=7),
    LinkPurpose.PASSWORD_RESET: timedelta(hours=1),
}


class LinkInvalid(Exception):
    """The link is broken, used, or expired; `expired` says which of the last."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: LinkPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"pooled-{purpose}")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def make_token(user: User, purpose: LinkPurpose) -> str:
    return _serializer(purpose).dumps({"u": user.id, "h": _fingerprint(user)})


def user_for_token(token: str, purpose: LinkPurpose) -> User:
    """The user a link is for, while it is valid; LinkInvalid otherwise."""
    max_age = int(LIFETIME[purpose].total_seconds())
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkInvalid(expired=True) from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise LinkInvalid()
    user = db.session.get(User, payload["u"])
    if user is None or not user.active or payload.get("h") != _fingerprint(user):
        raise LinkInvalid()
    return user
