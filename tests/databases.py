"""Test databases: a migrated SQLite file or a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgresql")


def required(name: str) -> bool:
    """CI sets REQUIRE_POSTGRES=1 / REQUIRE_BROWSER=1: a missing suite then fails, not skips."""
    return os.environ.get(name, "").strip() in {"1", "true", "yes"}


def postgres_base_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def skip_or_fail_without_postgres() -> str:
    url = postgres_base_url()
    if url is None:
        reason = "PostgreSQL suite skipped: TEST_DATABASE_URL is not set"
        if required("REQUIRE_POSTGRES"):
            pytest.fail(reason + " but REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    return url


@contextmanager
def fresh_database(backend: str, tmp_dir: Path, template: str | None = None) -> Iterator[str]:
    """A new database for one backend, empty or a copy of `template` (a database URL nobody is
    connected to); dropped (or deleted) afterwards."""
    if backend == "sqlite":
        path = tmp_dir / f"pooled-{uuid.uuid4().hex[:8]}.sqlite3"
        if template is not None:
            source = make_url(template).database or ""
            for suffix in ("", "-wal"):  # a write-ahead log left behind holds data too
                if Path(source + suffix).exists():
                    shutil.copyfile(source + suffix, str(path) + suffix)
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    base = make_url(skip_or_fail_without_postgres())
    name = f"pooled_test_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{make_url(template).database}"' if template is not None else ""
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def migrate(app) -> None:
    """Build the schema the only way production does: Alembic migrations."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
