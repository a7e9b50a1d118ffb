"""Committee members pressing "Re-tender" at once on PostgreSQL: one draft tender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Role, User
from app.time import london_today
from procurement.pipeline import prefill
from procurement.pipeline.errors import DecisionActedOn
from procurement.pipeline.models import RenewalDecision
from procurement.tenders.models import Tender
from tests import factories
from tests.marketplace.billing.conftest import make_contract
from tests.support.concurrency import race, racing_app

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    with racing_app(
        backend, module_database, tmp_path_factory.mktemp("pipeline-concurrency"), 10
    ) as app:
        yield app


def test_five_committee_members_re_tendering_at_once_make_one_draft(live_app):
    with live_app.app_context():
        world = factories.make_world()
        contract_id = make_contract(world.offer_a).id
        committee = [world.committee.id] + [
            factories.make_user(Role.COMMITTEE).id for _ in range(4)
        ]
        db.session.commit()
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Tender))

    def draft(user_id: int) -> Any:
        return lambda: prefill.draft_tender_from_contract(
            contract_id, db.session.get(User, user_id), london_today()
        )

    results = race(live_app, [draft(user_id) for user_id in committee], timeout=120)
    made = [r for r in results if isinstance(r, Tender)]
    refused = [r for r in results if isinstance(r, DecisionActedOn)]
    assert len(made) == 1 and len(refused) == 4, results
    with live_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tender)) == before + 1
        (decision,) = db.session.scalars(
            sa.select(RenewalDecision).where(RenewalDecision.contract_id == contract_id)
        ).all()
        assert decision.tender_id is not None
