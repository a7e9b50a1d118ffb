"""Supply fixtures: a managed-service contract with two agencies, a rate card, vetted workers.

Dates are fixed in the 2026/27 school year (the AWR term calendar knows it), and every use case
is handed `today`/`now`, so the tests mean the same whatever day they run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Provider, Role, User
from marketplace.supply import cover, setup
from marketplace.supply.models import Booking, CoverRequest, Session, SupplyContract, SupplyWorker
from marketplace.supply.rules import (
    CheckKind,
    RateParts,
    RateUnit,
    ReleaseMode,
    SupplyRole,
    Weighting,
)
from tests import factories

TODAY = date(2026, 9, 7)  # a Monday in term
NOW = datetime(2026, 9, 7, 7, 0, tzinfo=UTC)
TEACHER_DAY = RateParts(15_000, 1_500, 1_000, 1_812, 4_500)  # charge £238.12
TEACHER_HALF = RateParts(7_500, 750, 500, 906, 2_250)  # charge £119.06
TA_DAY = RateParts(9_000, 600, 500, 1_086, 2_700)
TA_HALF = RateParts(4_500, 300, 250, 543, 1_350)


def clear(worker: SupplyWorker, provider_id: int, *, expires: date = date(2029, 8, 31)) -> None:
    for kind in CheckKind:
        setup.record_check(worker.id, provider_id, kind, date(2026, 6, 1), expires, None)


@dataclass
class Supply:
    world: factories.World
    contract: SupplyContract
    agency_c: Provider
    agency_user_c: User
    teacher_a: SupplyWorker  # agency A, every check clear
    lapsed_a: SupplyWorker  # agency A, DBS lapsed
    teacher_b: SupplyWorker  # agency B
    ta_c: SupplyWorker  # agency C (ranked third), a teaching assistant


def make_supply(world: factories.World, mode: ReleaseMode = ReleaseMode.ALL_AT_ONCE) -> Supply:
    contract = setup.create_contract(
        title="Supply staff managed service",
        reference="ELP-2026-007",
        starts_on=date(2026, 9, 1),
        ends_on=date(2028, 8, 31),
        actor=world.admin,
        release_mode=mode,
        release_window_minutes=30,
    )
    agency_c = factories.make_provider("Gamma Education Staffing")
    agency_user_c = factories.make_user(Role.PROVIDER, provider=agency_c)
    for rank, provider in enumerate((world.provider_a, world.provider_b, agency_c), start=1):
        setup.add_agency(contract.id, provider.id, rank, world.admin)
        for role, day, half in (
            (SupplyRole.TEACHER, TEACHER_DAY, TEACHER_HALF),
            (SupplyRole.TEACHING_ASSISTANT, TA_DAY, TA_HALF),
        ):
            setup.set_rate(contract.id, provider.id, role, RateUnit.DAY, Weighting.OUTER, day, None)
            setup.set_rate(
                contract.id, provider.id, role, RateUnit.HALF_DAY, Weighting.OUTER, half, None
            )
    teacher_a = setup.add_worker(
        world.provider_a.id, "Asha Patel", SupplyRole.TEACHER, None, trn="1234567"
    )
    clear(teacher_a, world.provider_a.id)
    lapsed_a = setup.add_worker(
        world.provider_a.id, "Len Lapsed", SupplyRole.TEACHER, None, trn="7654321"
    )
    clear(lapsed_a, world.provider_a.id)
    setup.record_check(
        lapsed_a.id,
        world.provider_a.id,
        CheckKind.DBS_BARRED,
        date(2023, 9, 1),
        date(2026, 9, 1),
        None,
    )
    teacher_b = setup.add_worker(
        world.provider_b.id, "Ben Okafor", SupplyRole.TEACHER, None, trn="2345678"
    )
    clear(teacher_b, world.provider_b.id)
    ta_c = setup.add_worker(agency_c.id, "Cara Nwosu", SupplyRole.TEACHING_ASSISTANT, None)
    clear(ta_c, agency_c.id)
    db.session.commit()
    return Supply(world, contract, agency_c, agency_user_c, teacher_a, lapsed_a, teacher_b, ta_c)


@pytest.fixture
def supply(world: factories.World) -> Supply:
    return make_supply(world)


def post(
    s: Supply,
    *,
    school_id: int | None = None,
    starts_on: date = date(2026, 9, 8),
    ends_on: date | None = None,
    role: SupplyRole = SupplyRole.TEACHER,
    session: Session = Session.FULL_DAY,
    now: datetime = NOW,
) -> CoverRequest:
    return cover.post_request(
        contract_id=s.contract.id,
        school_id=school_id or s.world.school_a.id,
        role=role,
        session=session,
        starts_on=starts_on,
        ends_on=ends_on or starts_on,
        actor=s.world.sbm_a,
        today=now.date(),
        phase="Primary",
        subject="Year 4",
        now=now,
    )


def book(
    s: Supply,
    request: CoverRequest,
    worker: SupplyWorker | None = None,
    *,
    parity: int | None = None,
    now: datetime = NOW,
) -> Booking:
    worker = worker or s.teacher_a
    proposal = cover.propose(
        request.id,
        worker.provider_id,
        worker.id,
        None,
        today=now.date(),
        now=now + timedelta(minutes=1),
    )
    return cover.accept(
        proposal.id,
        request.school_id,
        s.world.sbm_a,
        today=now.date(),
        parity_day_pay_pence=parity,
        now=now + timedelta(minutes=2),
    )
