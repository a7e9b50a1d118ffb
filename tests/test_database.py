"""The schema comes from migrations on both backends, and tests are isolated from each other."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.models import School
from marketplace.catalogue.search import is_unmapped_table
from tests import factories


def test_models_and_migrations_agree(app):
    # Its own connection, outside any test transaction: on SQLite a writer transaction (which
    # the test's is) holds the one write lock. The catalogue's full-text index is left out: it
    # is no model but dialect-specific DDL in 0013_search (a tsvector table with a GIN index on
    # PostgreSQL; an FTS5 virtual table and its shadow tables on SQLite), kept by triggers, which
    # Alembic does not compare; test_catalogue_search.py tests it on both databases instead.
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": lambda name, type_, parents: (
                    not (type_ == "table" and is_unmapped_table(name))
                ),
            },
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_reach_a_single_head(app, db_session):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_each_test_starts_with_an_empty_database_whatever_ran_before(db_session, attempt):
    # Each attempt commits the same unique URN; if anything leaked from an earlier
    # test, the count would be over one or the insert would violate the unique URN.
    assert db_session.scalar(sa.select(sa.func.count()).select_from(School)) == 0
    factories.make_school(urn=123456)
    db.session.commit()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(School)) == 1


def test_the_backend_under_test_is_the_configured_one(app, backend, db_session):
    assert db.engine.dialect.name == backend
