"""Helpers every marketplace use case shares: today's date, whose provider, clean failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import Provider, Role, User
from app.types import to_london, utcnow

P = ParamSpec("P")
R = TypeVar("R")


def london_today() -> date:
    """Today's date in Europe/London (terms, notice and validity are UK dates)."""
    return to_london(utcnow()).date()


def provider_for_user(user: User) -> Provider | None:
    """The provider a user acts for: a provider user's own, or a school-led hub's SBM's school."""
    if user.role is Role.PROVIDER:
        return user.provider
    if user.role is Role.SBM and user.school_id is not None:
        return db.session.scalar(
            sa.select(Provider).where(Provider.school_id == user.school_id).order_by(Provider.id)
        )
    return None


def provider_for_school(school_id: int) -> int | None:
    """The provider id of a school that also sells (a school-led hub), if it does."""
    return db.session.scalar(
        sa.select(Provider.id).where(Provider.school_id == school_id).order_by(Provider.id)
    )


def use_case(function: Callable[P, R]) -> Callable[P, R]:
    """A use case that fails writes nothing: the session is rolled back (and locks released)."""

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            raise

    return wrapped
