"""Flask extensions, created unbound and initialised in the factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from flask import abort, request
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, Executable, MetaData, Select
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def count_rows(statement: Select[Any]) -> int:
    """How many rows a SELECT would return, counted in SQL."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0


# The furthest page a list may be asked for: far beyond any real list, well within what the
# database's OFFSET takes (a page of 2**63 would overflow it).
PAGE_MAX = 100_000


def paginate(statement: Select[Any], per_page: int) -> Any:
    """`db.paginate` for the `page` in the query string; a page that is not a whole number
    from 1 to PAGE_MAX is "Page not found" (404), like an empty page beyond the end."""
    text = request.args.get("page", "1").strip() or "1"
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not 1 <= int(text) <= PAGE_MAX:
        abort(404)
    return db.paginate(statement, page=int(text), per_page=per_page, error_out=True)


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session and say how many rows it changed."""
    result = db.session.execute(statement)
    return cast("CursorResult[Any]", result).rowcount


# Every model subclasses `Model`. At run time it is Flask-SQLAlchemy's `db.Model` (Base with the
# session and table-name conveniences); a type checker cannot see through that attribute, so it
# is told the declarative Base it derives from.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
