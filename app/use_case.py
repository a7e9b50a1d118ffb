"""The one `use_case` decorator: a use case that refuses writes nothing. And `writes_on_get`,
for the few views that write when they are fetched."""

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


WRITES_ON_GET = "writes_on_get"


def writes_on_get(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that writes when it is fetched (opening a notification marks it read): on
    SQLite its transactions start as writers (BEGIN IMMEDIATE, see `app._configure_engine`),
    waiting their turn for the write lock, instead of reading first and failing with "database
    is locked" when the job consumer is writing at the same moment."""
    setattr(view, WRITES_ON_GET, True)
    return view
