"""Indicative prices while pledging: the tier the pool reaches and each school's share."""

from __future__ import annotations

from procurement.rounds.estimates import indicative
from tests.factories import make_school
from tests.procurement.rounds.factories import pledge


def test_the_indicative_price_shows_the_tier_reached_and_the_share_against_buying_alone(rw):
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    estimate = indicative(rw.buying_round, rw.world.school_a.id)
    assert estimate is not None
    # 55 days: Beta's £210 tier (from 50) beats Alpha's £230 tier (from 20).
    (award,) = estimate.answer.awards
    assert (award.provider_name, award.units, award.tier_number, award.unit_price_pence) == (
        "Beta Therapy Ltd",
        55,
        2,
        21_000,
    )
    assert estimate.answer.objective_pence == 55 * 21_000
    (line,) = estimate.answer.lines
    # Alone, 30 days cost 30 × £230 at Alpha; school B alone 25 × £230 = £5,750.
    assert line.basis_pence == line.standalone_pence == 30 * 23_000
    assert abs(line.charge_pence - 55 * 21_000 * 690_000 / (690_000 + 575_000)) < 1
    assert line.saving_pence > 0
    # A school that has not pledged sees the pool but no share.
    assert indicative(rw.buying_round, make_school().id).answer.lines == ()
