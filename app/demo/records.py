"""Demo rows looked up by their natural key first, so that seeding again adds nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db


def get_or_create(model: type, lookup: dict[str, Any], **values: Any) -> tuple[Any, bool]:
    """The row with these key values, or a new one (added to the session); and whether it is new."""
    row = db.session.scalar(sa.select(model).filter_by(**lookup))
    if row is not None:
        return row, False
    row = model(**lookup, **values)
    db.session.add(row)
    return row, True
