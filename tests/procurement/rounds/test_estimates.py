"""Indicative prices while pledging: the tier the pool reaches and each school's share."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from procurement.rounds import estimates
from procurement.rounds.estimates import indicative
from procurement.rounds.models import Pledge, RoundEstimate
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


def no_solving(monkeypatch):
    def refuse(_inputs):
        raise AssertionError("the optimizer ran")

    monkeypatch.setattr(estimates, "_solve", refuse)


def test_pages_read_the_stored_estimate_and_never_run_the_optimizer(rw, client, auth, monkeypatch):
    pledge(rw, rw.world.sbm_a, 30)  # the pledge's job works the estimate out (inline here)
    stored = db.session.scalar(sa.select(RoundEstimate))
    assert stored is not None and stored.round_id == rw.buying_round.id
    no_solving(monkeypatch)
    for user, path in (
        (rw.world.committee, f"/rounds/{rw.buying_round.id}"),
        (rw.world.sbm_a, f"/rounds/{rw.buying_round.id}"),
        (rw.world.sbm_a, f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges"),
    ):
        auth.as_user(user)
        page = client.get(path).get_data(as_text=True)
        assert 'id="indicative-price"' in page, path
        assert "would supply 30 days" in page, path
        assert 'id="estimate-updating"' not in page and 'id="estimate-pending"' not in page


def test_a_change_the_job_has_not_seen_yet_is_said_and_the_minute_job_catches_up(
    rw, client, auth, monkeypatch
):
    pledge(rw, rw.world.sbm_a, 30)
    changed = db.session.scalar(sa.select(Pledge).where(Pledge.school_id == rw.world.school_a.id))
    changed.quantity = 40  # behind the use cases' back: no job asked for
    db.session.commit()
    auth.as_user(rw.world.committee)
    page = client.get(f"/rounds/{rw.buying_round.id}").get_data(as_text=True)
    assert 'id="estimate-updating"' in page and "would supply 30 days" in page
    estimates.refresh_stale_estimates()
    page = client.get(f"/rounds/{rw.buying_round.id}").get_data(as_text=True)
    assert 'id="estimate-updating"' not in page and "would supply 40 days" in page
    no_solving(monkeypatch)
    assert estimates.refresh(rw.buying_round.id) is False  # up to date: nothing to solve


def test_before_the_first_estimate_the_page_says_it_is_being_worked_out(rw, client, auth):
    pledge(rw, rw.world.sbm_a, 30)
    db.session.execute(sa.delete(RoundEstimate))
    db.session.commit()
    auth.as_user(rw.world.committee)
    page = client.get(f"/rounds/{rw.buying_round.id}").get_data(as_text=True)
    assert 'id="estimate-pending"' in page
