"""The Pooled application factory."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# No Flask import at module level: the pure modules of this package (money, calendar,
# membership, gias) must import without pulling in the web framework.


# The modules that define tables, core first; the factory imports them all so that the metadata
# (and Alembic) sees the whole schema.
MODEL_MODULES = (
    "app.models",
    "app.audit",
    "app.jobs.models",
    "app.notifications.models",
    "marketplace.catalogue.models",
    "marketplace.offers.models",
    "marketplace.orders.models",
    "marketplace.entitlements.models",
    "marketplace.billing.models",
    "marketplace.supply.models",
    "marketplace.documents.models",
    "marketplace.providers.models",
    "marketplace.ratings.models",
    "marketplace.payouts.models",
    "procurement.contracts.models",
    "procurement.pipeline.models",
    "procurement.kpis.models",
    "procurement.rounds.models",
    "procurement.tenders.models",
    "procurement.minicomps.models",
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app; blueprints are imported here, inside the factory."""
    from flask import Flask

    app = Flask(
        __name__,
        instance_path=os.environ.get("POOLED_INSTANCE_PATH") or None,
        template_folder="../templates",
        static_folder="static",
    )
    from app.config import Config, database_url_from_env, secret_key_from_env

    app.config.from_object(Config)
    os.makedirs(app.instance_path, exist_ok=True)
    if test_config is None:
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url_from_env(app.instance_path)
        app.config["SECRET_KEY"] = secret_key_from_env(app.instance_path)
    else:
        app.config.update(test_config)
        if not app.config.get("SQLALCHEMY_DATABASE_URI"):
            app.config["SQLALCHEMY_DATABASE_URI"] = database_url_from_env(app.instance_path)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = secret_key_from_env(app.instance_path)

    from app.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.normpath(os.path.join(app.root_path, "..", "migrations")),
        render_as_batch=True,
        compare_type=True,
    )
    login_manager.init_app(app)
    with app.app_context():
        _configure_engine(db.engine)
    csrf.init_app(app)
    from app import jobs

    jobs.init_app(app)

    # Every model, so metadata (and Alembic) sees the whole schema.
    for module in MODEL_MODULES:
        importlib.import_module(module)

    from app import admin, assets, audit, auth, cache, cli, errors, home, security, templating
    from app.dashboards import views as dashboards
    from app.guidance import bp as guidance_bp
    from app.notifications import views as notifications
    from app.trusts import views as trusts
    from marketplace.blueprint import blueprint as marketplace_blueprint
    from marketplace.catalogue import coverage
    from marketplace.orders import contract_prices
    from procurement.blueprint import blueprint as procurement_blueprint
    from procurement.contracts.prices import ContractRegisterPrices
    from procurement.rounds.coverage import OpenRoundCoverage

    contract_prices.install(ContractRegisterPrices())
    coverage.install(OpenRoundCoverage())
    audit.install_guards()
    security.init_app(app)
    assets.init_app(app)
    cache.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    for blueprint in (
        auth.bp,
        home.bp,
        guidance_bp,
        admin.bp,
        marketplace_blueprint(),
        procurement_blueprint(),
        dashboards.bp,
        notifications.bp,
        trusts.bp,
    ):
        app.register_blueprint(blueprint)
    from app import worker

    worker.import_tasks(tuple(app.config["JOBS_EXTRA_MODULES"]))
    return app


def _reading_request() -> bool:
    """A GET or HEAD request, unless its view writes (`writes_on_get`)."""
    from flask import current_app, has_request_context, request

    from app.use_case import WRITES_ON_GET

    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, WRITES_ON_GET, False)


def _configure_engine(engine: Any) -> None:
    """SQLite: enforce foreign keys, wait for locks, and let SQLAlchemy own transactions."""
    import sqlalchemy as sa

    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (savepoints work)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A transaction that will write starts as a writer (BEGIN IMMEDIATE): it waits its turn
        # (busy_timeout) for the write lock up front, instead of reading first and then failing
        # with "database is locked" when it tries to upgrade while another writer holds it.
        # Only the reads of a GET or HEAD request start as plain readers.
        connection.exec_driver_sql("BEGIN" if _reading_request() else "BEGIN IMMEDIATE")
