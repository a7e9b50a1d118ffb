"""Races on PostgreSQL: real threads, each with its own connection, really committing.

A return is one row per KPI and quarter even when two of the provider's people send it at the
same moment, and the committee's action on a KPI below target is raised (and told) once when
the morning job runs twice at once, or races a return below target.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Role, User
from app.notifications.models import Notification
from procurement.kpis import actions, returns
from procurement.kpis.models import KpiAction, KpiReturn
from procurement.kpis.rules import KpiKind, Quarter
from tests import factories
from tests.procurement.kpis.conftest import kpi_of, make_kpi_contract
from tests.support.concurrency import race, racing_app

pytestmark = pytest.mark.postgres_only
Q2 = Quarter(2026, 2)


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    with racing_app(backend, module_database, tmp_path_factory.mktemp("kpi-races"), 6) as app:
        yield app


@pytest.fixture(scope="module")
def world_ids(live_app: Flask) -> factories.World:
    """One committed world for the module (its names are unique in the database)."""
    with live_app.app_context():
        world = factories.make_world()
        db.session.commit()
        db.session.expunge_all()
        return world


def _reload(world: factories.World) -> factories.World:
    return factories.World(
        **{name: db.session.merge(value, load=True) for name, value in vars(world).items()}
    )


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_returns_sent_at_once_are_one_return_and_one_action(live_app, world_ids):
    with live_app.app_context():
        world = _reload(world_ids)
        colleague = factories.make_user(Role.PROVIDER, provider=world.provider_a)
        kpi = kpi_of(make_kpi_contract(world, reference="KPI-RACE-1"), KpiKind.CUSTOM)
        db.session.commit()
        kpi_id, people = kpi.id, (world.provider_user_a.id, colleague.id)

    def send(user_id: int, figure: str) -> Any:
        user = db.session.get(User, user_id)
        return returns.submit_return(kpi_id, Q2.key, figure, "", user, today=date(2026, 10, 5)).id

    results = race(live_app, [lambda: send(people[0], "80"), lambda: send(people[1], "81")])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    with live_app.app_context():
        assert _count(KpiReturn, KpiReturn.kpi_id == kpi_id) == 1
        assert _count(KpiAction, KpiAction.kpi_id == kpi_id) == 1
        told = _count(Notification, Notification.key == f"kpi-{kpi_id}-{Q2.key}-below")
        assert told == db.session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.role == Role.COMMITTEE, User.active.is_(True))
        )


def test_the_morning_job_run_twice_at_once_raises_each_action_once(live_app, world_ids):
    with live_app.app_context():
        world = _reload(world_ids)
        kpis = []
        for n in range(3):
            contract = make_kpi_contract(world, reference=f"KPI-RACE-JOB-{n}")
            kpi = kpi_of(contract, KpiKind.CUSTOM)
            returns.submit_return(
                kpi.id, Q2.key, "95", "", world.provider_user_a, today=date(2026, 10, 5)
            )
            kpi.target_hundredths = 9900  # raised after the return: only the job finds it
            kpis.append(kpi.id)
        db.session.commit()
    after = Q2.return_deadline + timedelta(days=1)
    results = race(
        live_app, [lambda: actions.raise_actions_past_deadline(today=after) for _ in range(3)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    with live_app.app_context():
        for kpi_id in kpis:
            assert _count(KpiAction, KpiAction.kpi_id == kpi_id) == 1
