"""TEST ONLY: the live server's database, for a browser test to write behind the server's back
(the clocks that move a tender, a cover request or a mini-competition into the past)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.extensions import db
from tests.conftest import make_app


@contextmanager
def live_database(database_url: str, tmp_path: object) -> Iterator[None]:
    """An app context on the database at `database_url`; what was written is committed on
    leaving, and the connections are closed either way."""
    app = make_app(database_url, tmp_path)
    with app.app_context():
        try:
            yield
            db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()
