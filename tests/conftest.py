"""Fixtures: the app on each database backend, per-test transactions, users and clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from app import create_app
from app.extensions import db
from tests import factories
from tests.databases import BACKENDS, fresh_database, migrate, skip_or_fail_without_postgres

pytest_plugins = ["tests.support.browser", "tests.support.stripe_fixtures", "tests.support.smtp"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that touches the database runs once per backend."""
    if request.param == "postgresql":
        skip_or_fail_without_postgres()
    return request.param


def make_app(database_url: str, tmp_path: Any, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "LOGIN_MAX_FAILURES": 5,
        # Tests roll their transactions back behind the session's back: no figures cache here
        # (tests/app/test_cache.py tests it on databases of its own).
        "CACHE_TYPE": "NullCache",
        "CACHE_NO_NULL_WARNING": True,
        "MAIL_FOLDER": str(Path(tmp_path) / "mail"),
        # Jobs run inline when their session commits; tests/app/jobs run a real consumer.
        "JOBS_IMMEDIATE": True,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One migrated database per backend for the whole session; tests roll back."""
    tmp = tmp_path_factory.mktemp(f"app-{backend}")
    with fresh_database(backend, tmp) as url:
        application = make_app(url, tmp)
        migrate(application)
        yield application
        with application.app_context():
            db.engine.dispose()


class ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks an engine itself; this one keeps the test's connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    """Run the test inside a transaction that is rolled back; commits become savepoints."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        session = db._make_scoped_session(
            {
                "class_": ConnectionBoundSession,
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
            }
        )
        original = db.session
        db.session = session
        try:
            yield session
        finally:
            session.remove()
            db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, db_session: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask, db_session: Any):
    return app.test_cli_runner()


@pytest.fixture
def csrf_enabled(app: Flask) -> Iterator[None]:
    """Turn CSRF protection on, as it is in production, for one test."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = factories.PASSWORD):
        return self._client.post("/sign-in", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/sign-out")

    def as_user(self, user: Any) -> Any:
        response = self.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def world(db_session: Any) -> factories.World:
    """Two schools, two providers, an offer each and a user of every role."""
    return factories.make_world()


@pytest.fixture(scope="module")
def module_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of its own for tests that must really commit (servers, threads)."""
    tmp = tmp_path_factory.mktemp(f"module-{backend}")
    with fresh_database(backend, tmp) as url:
        migrate(make_app(url, tmp))
        yield url


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front which suites run here and which are skipped, and why."""
    import os

    from tests.databases import postgres_base_url
    from tests.support.browser import CHROMIUM

    lines = []
    if postgres_base_url():
        lines.append("PostgreSQL suite: runs (TEST_DATABASE_URL is set)")
    else:
        lines.append("PostgreSQL suite: SKIPPED — set TEST_DATABASE_URL to run it")
    if os.path.exists(CHROMIUM):
        lines.append(f"browser suite: runs ({CHROMIUM})")
    else:
        lines.append(f"browser suite: SKIPPED — {CHROMIUM} is not installed")
    return lines
