"""Comparing two runs of a round: figures from the stored answers, and named refusals."""

from __future__ import annotations

import csv
import io

import pytest

from procurement.rounds.comparison import (
    Change,
    comparable_runs,
    compare_runs,
    csv_text,
    default_pair,
    ordered,
)
from procurement.rounds.errors import RoundError, RoundStateConflict, RunStateConflict
from procurement.rounds.lifecycle import change_rules
from procurement.rounds.models import RunStatus
from procurement.rounds.runs import queue_run
from tests.procurement.rounds.factories import (
    close,
    make_round_world,
    pledge,
    pledging_schools,
    run_now,
)


def two_runs(rw):
    """The same pledges run cheapest-first, then with two providers at most 60% each."""
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    pledging_schools(rw, [12, 7])
    close(rw)
    first = run_now(rw)
    change_rules(
        rw.buying_round.id,
        max_share_percent=60,
        min_providers=2,
        single_source=True,
        actor=rw.world.committee,
    )
    second = run_now(rw, time_limit_seconds=30)
    return first, second


def test_the_comparison_shows_each_runs_rules_and_the_differences_add_up(rw):
    first, second = two_runs(rw)
    comparison = compare_runs(rw.buying_round.id, first.id, second.id)
    a, b = comparison.a, comparison.b
    assert (a.number, b.number) == (first.number, second.number)
    assert (a.single_source, a.max_share_percent, a.min_providers) == (False, 100, 1)
    assert (b.single_source, b.max_share_percent, b.min_providers) == (True, 60, 2)
    assert b.time_limit_seconds == 30 and a.outcome == b.outcome == "optimal"
    figures = {f.label: f.change for f in comparison.figures}
    # Every school's charge adds up to the run's pooled cost, so the differences add up too.
    assert figures["Pooled cost"] == comparison.charge_total
    assert sum(s.charge.difference for s in comparison.schools) == (
        figures["Pooled cost"].difference
    )
    assert figures["Pooled cost"].a == first.objective_pence
    assert figures["Pooled cost"].b == second.objective_pence
    assert figures["Pooled cost"].difference > 0  # keeping two providers costs something
    assert figures["Providers used"] == Change(1, 2)
    assert figures["Saving against buying alone"].difference == (
        figures["Buying alone"].difference - figures["Pooled cost"].difference
    )
    assert figures["Units unmet"] == Change(0, 0)
    # What each offer wins, under each run, adds up to the run's cost.
    assert sum(o.cost.a for o in comparison.offers) == figures["Pooled cost"].a
    assert sum(o.cost.b for o in comparison.offers) == figures["Pooled cost"].b
    assert sum(o.units.b for o in comparison.offers) == 30 + 25 + 12 + 7
    assert {s.school_id for s in comparison.schools} >= {
        rw.world.school_a.id,
        rw.world.school_b.id,
    }


def test_the_difference_in_percent_is_of_the_first_run_and_none_without_a_base():
    assert Change(20_000, 23_000).percent == pytest.approx(15.0)
    assert Change(20_000, 15_000).percent == pytest.approx(-25.0)
    assert Change(0, 500).percent is None and Change(0, 500).difference == 500


def test_schools_are_ordered_by_the_biggest_difference_rise_fall_or_name(rw):
    first, second = two_runs(rw)
    schools = compare_runs(rw.buying_round.id, first.id, second.id).schools
    by_size = [abs(s.charge.difference) for s in ordered(schools, "difference")]
    assert by_size == sorted(by_size, reverse=True)
    rises = [s.charge.difference for s in ordered(schools, "rise")]
    assert rises == sorted(rises, reverse=True)
    falls = [s.charge.difference for s in ordered(schools, "fall")]
    assert falls == sorted(falls)
    names = [s.school_name for s in ordered(schools, "school")]
    assert names == sorted(names)
    unknown = compare_runs(rw.buying_round.id, first.id, second.id, sort="nonsense")
    assert unknown.sort == "difference"


def test_the_chart_scales_each_measure_to_the_larger_run(rw):
    first, second = two_runs(rw)
    chart = compare_runs(rw.buying_round.id, first.id, second.id).chart
    cost, unmet = chart.groups
    assert [bar.width for bar in cost.bars] == [
        round(first.objective_pence / second.objective_pence * 100, 2),
        100.0,
    ]
    assert [bar.label for bar in cost.bars] == [f"Run {first.number}", f"Run {second.number}"]
    assert [bar.width for bar in unmet.bars] == [0.0, 0.0]  # nothing unmet: no bars
    ys = [bar.bar_y for group in chart.groups for bar in group.bars]
    assert ys == sorted(ys) and chart.height > ys[-1]


def test_the_csv_has_each_schools_charges_in_pounds_in_the_pages_order(rw):
    first, second = two_runs(rw)
    comparison = compare_runs(rw.buying_round.id, first.id, second.id, sort="school")
    rows = list(csv.reader(io.StringIO(csv_text(comparison))))
    assert rows[0][0] == "School" and rows[0][4] == f"Charge, run {first.number} (£)"
    assert [row[0] for row in rows[1:]] == [s.school_name for s in comparison.schools]
    line = comparison.schools[0]
    assert rows[1][4] == f"{line.charge.a // 100}.{line.charge.a % 100:02d}"
    total = sum(round(float(row[6]) * 100) for row in rows[1:])
    assert total == comparison.charge_total.difference


def test_the_same_run_twice_is_refused(rw):
    first, second = two_runs(rw)
    with pytest.raises(RoundError, match="Choose two different runs") as refused:
        compare_runs(rw.buying_round.id, first.id, first.id)
    assert refused.value.field == "b"


def test_a_missing_choice_is_named(rw):
    first, second = two_runs(rw)
    with pytest.raises(RoundError, match="Choose the first run") as refused:
        compare_runs(rw.buying_round.id, None, second.id)
    assert refused.value.field == "a"
    with pytest.raises(RoundError, match="Choose the second run"):
        compare_runs(rw.buying_round.id, first.id, None)


def test_a_run_of_another_round_is_refused(rw, world):
    first, second = two_runs(rw)
    other = make_round_world(world)
    pledge(other, world.sbm_a, 5)
    close(other)
    elsewhere = run_now(other)
    with pytest.raises(RoundError, match="not a run of this round") as refused:
        compare_runs(rw.buying_round.id, first.id, elsewhere.id)
    assert refused.value.field == "b"


def test_a_run_not_finished_or_failed_is_refused(rw):
    first, second = two_runs(rw)
    queued = queue_run(rw.buying_round.id, rw.world.committee)
    with pytest.raises(RunStateConflict, match="has not finished yet") as refused:
        compare_runs(rw.buying_round.id, queued.id, first.id)
    assert refused.value.field == "a"
    queued.status = RunStatus.FAILED
    with pytest.raises(RunStateConflict, match="failed, so it has no answer"):
        compare_runs(rw.buying_round.id, first.id, queued.id)


def test_an_infeasible_run_is_refused(rw):
    pledge(rw, rw.world.sbm_a, 30)
    close(rw)
    first = run_now(rw)
    second = run_now(rw)
    change_rules(
        rw.buying_round.id,
        max_share_percent=100,
        min_providers=3,  # only two offers take part
        single_source=False,
        actor=rw.world.committee,
    )
    infeasible = run_now(rw)
    assert infeasible.outcome == "infeasible"
    assert comparable_runs([first, second, infeasible]) == [second, first]
    with pytest.raises(RunStateConflict, match="found no allocation"):
        compare_runs(rw.buying_round.id, first.id, infeasible.id)


def test_a_round_with_fewer_than_two_finished_runs_has_nothing_to_compare(rw):
    pledge(rw, rw.world.sbm_a, 30)
    close(rw)
    only = run_now(rw)
    assert default_pair(rw.buying_round.id) == (None, None)
    with pytest.raises(RoundStateConflict, match="fewer than two finished runs"):
        compare_runs(rw.buying_round.id, only.id, only.id)


def test_with_no_choice_the_latest_two_runs_are_compared(rw):
    first, second = two_runs(rw)
    third = run_now(rw)
    assert default_pair(rw.buying_round.id) == (second.id, third.id)
