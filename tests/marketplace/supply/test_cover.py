"""Cover requests to bookings: vetting blocks offers, release order, acceptance, cancellation,
and who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from marketplace.supply import access, cover, setup
from marketplace.supply.errors import (
    InvalidSupply,
    NotReleased,
    SupplyStateConflict,
    VettingIncomplete,
)
from marketplace.supply.models import (
    Booking,
    BookingStatus,
    Proposal,
    ProposalStatus,
    RequestStatus,
    Session,
)
from marketplace.supply.rules import CheckKind, ReleaseMode, SupplyRole, Weighting
from tests.marketplace.supply.conftest import NOW, TODAY, book, make_supply, post


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    )


def test_a_request_takes_the_schools_london_weighting(supply):
    request = post(supply)
    assert request.weighting is Weighting.OUTER
    assert request.status is RequestStatus.OPEN
    assert request.fill_by_at < cover.starts_at(request.starts_on)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_on": TODAY - timedelta(days=1)}, "starts_on"),
        ({"ends_on": TODAY}, "ends_on"),  # before the start (8 Sep)
        ({"role": SupplyRole.NURSERY_NURSE}, "role"),  # no rate on the card
    ],
)
def test_a_bad_request_is_refused_with_its_field(supply, changes, field):
    with pytest.raises(InvalidSupply) as refused:
        post(supply, **changes)
    assert refused.value.field == field


def test_a_worker_with_a_lapsed_check_cannot_be_proposed(supply):
    request = post(supply)
    before = _counts()
    with pytest.raises(
        VettingIncomplete, match="Enhanced DBS with children's barred list: expired"
    ):
        cover.propose(
            request.id, supply.world.provider_a.id, supply.lapsed_a.id, None, today=TODAY, now=NOW
        )
    assert _counts() == before


def test_a_missing_check_blocks_the_offer_and_renewing_it_unblocks(supply):
    worker = setup.add_worker(
        supply.world.provider_a.id, "New Starter", SupplyRole.TEACHER, None, trn="1111111"
    )
    request = post(supply)
    with pytest.raises(VettingIncomplete, match="missing"):
        cover.propose(request.id, supply.world.provider_a.id, worker.id, None, today=TODAY, now=NOW)
    for kind in CheckKind:
        setup.record_check(
            worker.id, supply.world.provider_a.id, kind, TODAY, TODAY + timedelta(days=365), None
        )
    proposal = cover.propose(
        request.id, supply.world.provider_a.id, worker.id, None, today=TODAY, now=NOW
    )
    assert proposal.status is ProposalStatus.PROPOSED


def test_a_check_lapsing_before_the_school_accepts_blocks_the_booking(supply):
    request = post(supply, starts_on=TODAY + timedelta(days=30))
    proposal = cover.propose(
        request.id, supply.world.provider_a.id, supply.teacher_a.id, None, today=TODAY, now=NOW
    )
    setup.record_check(
        supply.teacher_a.id,
        supply.world.provider_a.id,
        CheckKind.RIGHT_TO_WORK,
        TODAY,
        TODAY + timedelta(days=10),
        None,
    )
    with pytest.raises(VettingIncomplete):
        cover.accept(
            proposal.id, supply.world.school_a.id, supply.world.sbm_a, today=TODAY, now=NOW
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_accepting_confirms_one_booking_and_closes_the_other_proposals(supply):
    request = post(supply)
    mine = cover.propose(
        request.id, supply.world.provider_a.id, supply.teacher_a.id, None, today=TODAY, now=NOW
    )
    theirs = cover.propose(
        request.id, supply.world.provider_b.id, supply.teacher_b.id, None, today=TODAY, now=NOW
    )
    booking = cover.accept(
        theirs.id, supply.world.school_a.id, supply.world.sbm_a, today=TODAY, now=NOW
    )
    assert booking.status is BookingStatus.CONFIRMED and booking.worker_id == supply.teacher_b.id
    assert request.status is RequestStatus.FILLED and request.filled_at == NOW
    assert mine.status is ProposalStatus.NOT_CHOSEN and theirs.status is ProposalStatus.ACCEPTED
    with pytest.raises(SupplyStateConflict):
        cover.accept(mine.id, supply.world.school_a.id, supply.world.sbm_a, today=TODAY, now=NOW)


def test_a_worker_cannot_be_booked_twice_on_the_same_day(supply):
    book(supply, post(supply))
    second = post(supply)
    with pytest.raises(SupplyStateConflict, match="already booked"):
        cover.propose(
            second.id, supply.world.provider_a.id, supply.teacher_a.id, None, today=TODAY, now=NOW
        )


def test_an_introduced_worker_is_quoted_the_lower_fee(supply):
    worker = setup.add_worker(
        supply.world.provider_a.id,
        "Known To Us",
        SupplyRole.TEACHER,
        None,
        trn="3333333",
        introduced_by_school_id=supply.world.school_a.id,
    )
    for kind in CheckKind:
        setup.record_check(
            worker.id, supply.world.provider_a.id, kind, TODAY, TODAY + timedelta(days=365), None
        )
    proposal = cover.propose(
        post(supply).id, supply.world.provider_a.id, worker.id, None, today=TODAY, now=NOW
    )
    quoted = cover.quote(proposal)
    assert proposal.introduced
    assert quoted.day.fee_pence == 2_250  # half the card's £45.00
    assert quoted.day.charge_pence == 23_812 - 2_250


def test_ranked_release_shows_the_request_to_each_agency_in_turn(world):
    ranked = make_supply(world, ReleaseMode.RANKED)
    request = post(ranked)
    a, b, c = world.provider_a.id, world.provider_b.id, ranked.agency_c.id
    assert [r.id for r in access.agency_requests(a, NOW)] == [request.id]
    assert access.agency_requests(b, NOW) == []
    assert access.agency_requests(b, NOW + timedelta(minutes=30)) == [request]
    assert access.agency_requests(c, NOW + timedelta(minutes=59)) == []
    assert access.agency_requests(c, NOW + timedelta(minutes=60)) == [request]
    with pytest.raises(NotReleased):
        cover.propose(
            request.id, b, ranked.teacher_b.id, None, today=TODAY, now=NOW + timedelta(minutes=29)
        )
    assert cover.propose(
        request.id, b, ranked.teacher_b.id, None, today=TODAY, now=NOW + timedelta(minutes=31)
    )


def test_cancelling_within_24_hours_charges_the_first_day_and_earlier_is_free(supply):
    early = book(supply, post(supply, starts_on=TODAY + timedelta(days=3)))
    cancelled = cover.cancel_booking(
        early.id, supply.world.school_a.id, supply.world.sbm_a, now=NOW
    )
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.cancellation_fee_pence == 0
    late = book(supply, post(supply))  # starts tomorrow 08:00; cancelled 12 hours before
    cancelled = cover.cancel_booking(
        late.id, supply.world.school_a.id, supply.world.sbm_a, now=NOW + timedelta(hours=13)
    )
    assert cancelled.cancellation_fee_pence == 23_812


def test_half_day_cancellation_charges_the_half_day_rate(supply):
    booking = book(supply, post(supply, session=Session.MORNING))
    cancelled = cover.cancel_booking(
        booking.id, supply.world.school_a.id, supply.world.sbm_a, now=NOW + timedelta(hours=20)
    )
    assert cancelled.cancellation_fee_pence == 11_906


def test_a_request_nobody_fills_in_time_is_flagged(supply):
    request = post(supply)
    assert not cover.is_unfilled_late(request, NOW)
    assert cover.is_unfilled_late(request, request.fill_by_at)
    book(supply, request)
    assert not cover.is_unfilled_late(request, request.fill_by_at + timedelta(days=1))
