"""Recording payments at the same moment, on PostgreSQL: a bank reference is recorded once per
provider, by hand or by import, and the loser is refused with a sentence, never a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import User
from app.time import london_today
from marketplace.payouts import services
from marketplace.payouts.errors import DuplicatePaymentReference
from marketplace.payouts.models import ProviderPayment, ProviderPaymentImport
from tests import factories
from tests.support.concurrency import race, racing_app

RACERS = 4
pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("payouts-concurrency")
    with racing_app(backend, module_database, tmp, RACERS + 2) as app:
        yield app


@pytest.fixture(scope="module")
def world_ids(live_app: Flask) -> dict[str, int]:
    with live_app.app_context():
        world = factories.make_world()
        db.session.commit()
        return {"provider": world.provider_a.id, "admin": world.admin.id}


def payments(reference: str) -> list[ProviderPayment]:
    return list(
        db.session.scalars(sa.select(ProviderPayment).where(ProviderPayment.reference == reference))
    )


def test_the_same_reference_typed_at_once_is_recorded_once(live_app, world_ids) -> None:
    def job() -> Callable[[], Any]:
        def record() -> Any:
            admin = db.session.get(User, world_ids["admin"])
            return services.record_payment(
                services.PaymentInput(world_ids["provider"], london_today(), 5_000, "RACE-1"),
                admin,
            ).id

        return record

    outcomes = race(live_app, [job() for _ in range(RACERS)], timeout=60)

    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, int | DuplicatePaymentReference) for o in outcomes), outcomes
    with live_app.app_context():
        assert len(payments("RACE-1")) == 1


def test_one_bank_file_imported_twice_at_once_is_recorded_once(live_app, world_ids) -> None:
    day = london_today().isoformat()
    data = (
        "date,amount,reference,payee\n"
        f"{day},10.00,RACE-F1,Alpha Counselling Ltd\n"
        f"{day},20.00,RACE-F2,Beta Therapy Ltd\n"
    ).encode()

    def job() -> Callable[[], Any]:
        def upload() -> Any:
            admin = db.session.get(User, world_ids["admin"])
            return services.import_bank_file(data, filename="bank.csv", actor=admin).recorded

        return upload

    outcomes = race(live_app, [job() for _ in range(2)], timeout=60)

    assert not any(
        isinstance(o, BaseException) and not isinstance(o, DuplicatePaymentReference)
        for o in outcomes
    ), outcomes
    assert sum(o for o in outcomes if isinstance(o, int)) == 2
    with live_app.app_context():
        assert len(payments("RACE-F1")) == len(payments("RACE-F2")) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProviderPaymentImport)) == 1
