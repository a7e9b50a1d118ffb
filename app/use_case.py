"""The one `use_case` decorator: a use case that refuses writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from app.errors import DomainError
from app.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def use_case(function: Callable[P, R]) -> Callable[P, R]:
    """Run a use case; when it refuses (a DomainError), roll the session back, which undoes
    anything it wrote and releases the row locks it took, then let the error through."""

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            raise

    return wrapped
