"""Races on PostgreSQL: an app with a connection per thread, and jobs started at one moment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.extensions import db

SQLITE_HAS_NO_RACE = (
    "PostgreSQL only: SQLite serialises writers and refuses a second writer outright "
    "(SQLITE_BUSY) instead of queueing it, so there is no concurrent race to test there"
)


@contextmanager
def racing_app(
    backend: str, database_url: str, tmp_path: Path, connections: int, **config: Any
) -> Iterator[Flask]:
    """The app on a database of its own with `connections` pooled connections (PostgreSQL)."""
    if backend != "postgresql":
        pytest.skip(SQLITE_HAS_NO_RACE)
    from tests.conftest import make_app

    app = make_app(
        database_url,
        tmp_path,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": connections, "max_overflow": 0},
        **config,
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def race(app: Flask, jobs: list[Callable[[], Any]], timeout: float = 60) -> list[Any]:
    """Run every job at the same moment, each in its own thread, app context and session.

    Returns each job's result, or the exception it raised, in the order of `jobs`.
    """
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[index] = jobs[index]()
            except Exception as exc:  # noqa: BLE001 - every outcome is asserted by the caller
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a job hung"
    return results
