"""Races on PostgreSQL: the contract row is locked by every change, so two people approving
the same proposal at the same moment apply it once, and an approval racing a termination
either applies before it or is refused after it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import User
from app.time import london_today
from procurement.contracts import amendments, termination
from procurement.contracts.errors import ContractChangeConflict
from procurement.contracts.models import AmendmentStatus, Contract, ContractAmendment
from procurement.tenders.models import TenderRelease
from tests import factories
from tests.procurement.contracts.factories import propose, tender_contract
from tests.support.concurrency import race, racing_app

pytestmark = pytest.mark.postgres_only
ROUNDS = 3


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    with racing_app(backend, module_database, tmp_path_factory.mktemp("contract-races"), 10) as app:
        yield app


@pytest.fixture(scope="module")
def world_ids(live_app: Flask) -> factories.World:
    """One committed world for the module (its names are unique in the database)."""
    with live_app.app_context():
        world = factories.make_world()
        db.session.commit()
        db.session.expunge_all()
        return world


def _case(live_app: Flask, world_ids: factories.World) -> tuple[int, int, int, int, int]:
    """A new tender contract with a proposal: (contract, proposal, tender, committee2, admin)
    ids."""
    with live_app.app_context():
        world = factories.World(
            **{name: db.session.merge(value, load=True) for name, value in vars(world_ids).items()}
        )
        cw = tender_contract(world)
        proposal = propose(cw.contract, cw.committee)
        return cw.contract.id, proposal.id, cw.tw.tender.id, cw.committee2.id, world.admin.id


def _approve(contract_id: int, amendment_id: int, user_id: int) -> Any:
    user = db.session.get(User, user_id)
    return amendments.approve_amendment(contract_id, amendment_id, user).status


def _terminate(contract_id: int, user_id: int) -> Any:
    user = db.session.get(User, user_id)
    return termination.terminate_contract(
        contract_id, user, "Provider closing", london_today()
    ).status


def test_two_people_approving_at_once_apply_the_change_once(live_app, world_ids):
    for _ in range(ROUNDS):
        contract_id, amendment_id, tender_id, second, admin = _case(live_app, world_ids)
        results = race(
            live_app,
            [
                partial(_approve, contract_id, amendment_id, second),
                partial(_approve, contract_id, amendment_id, admin),
            ],
        )
        assert sorted(type(r).__name__ for r in results) == [
            "AmendmentStatus",
            "ContractChangeConflict",
        ], results
        assert AmendmentStatus.APPROVED in results
        with live_app.app_context():
            contract = db.session.get(Contract, contract_id)
            assert [t.unit_price_pence for t in contract.tiers] == [24_208, 22_686]  # once
            releases = db.session.scalars(
                sa.select(TenderRelease.tag).where(TenderRelease.tender_id == tender_id)
            ).all()
            assert releases.count("contractAmendment") == 1


def test_an_approval_racing_a_termination_applies_before_it_or_not_at_all(live_app, world_ids):
    for _ in range(ROUNDS):
        contract_id, amendment_id, _tender, second, admin = _case(live_app, world_ids)
        results = race(
            live_app,
            [
                partial(_approve, contract_id, amendment_id, second),
                partial(_terminate, contract_id, admin),
            ],
        )
        assert not isinstance(results[1], Exception), results
        with live_app.app_context():
            amendment = db.session.get(ContractAmendment, amendment_id)
            contract = db.session.get(Contract, contract_id)
            prices = [t.unit_price_pence for t in contract.tiers]
            if isinstance(results[0], ContractChangeConflict):
                assert amendment.status is AmendmentStatus.WITHDRAWN
                assert prices == [23_457, 21_983]
            else:
                assert amendment.status is AmendmentStatus.APPROVED
                assert prices == [24_208, 22_686]
