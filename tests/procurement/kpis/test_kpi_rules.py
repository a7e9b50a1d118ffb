"""The pure rules of contract KPIs: financial quarters, return deadlines, met or below either
way round, figures typed by people, and the standard KPIs."""

from __future__ import annotations

from datetime import date

import pytest

from app.calendar import Term, TermName
from procurement.kpis import rules
from procurement.kpis.rules import (
    Direction,
    KpiKind,
    KpiSource,
    KpiStatus,
    KpiUnit,
    Quarter,
)


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (date(2026, 4, 1), "2026-Q1"),
        (date(2026, 6, 30), "2026-Q1"),
        (date(2026, 7, 1), "2026-Q2"),
        (date(2026, 9, 30), "2026-Q2"),
        (date(2026, 10, 1), "2026-Q3"),
        (date(2026, 12, 31), "2026-Q3"),
        (date(2027, 1, 1), "2026-Q4"),
        (date(2027, 3, 31), "2026-Q4"),
        (date(2027, 4, 1), "2027-Q1"),
    ],
)
def test_a_day_falls_in_its_financial_quarter(day, key):
    assert Quarter.containing(day).key == key


def test_a_quarter_runs_from_its_first_to_its_last_day_and_links_to_its_neighbours():
    q4 = Quarter.parse("2026-Q4")
    assert (q4.starts_on, q4.ends_on) == (date(2027, 1, 1), date(2027, 3, 31))
    assert q4.next() == Quarter(2027, 1) and q4.previous() == Quarter(2026, 3)
    assert Quarter(2027, 1).previous() == q4
    assert Quarter(2026, 3).label == "Q3 2026/27 (Oct–Dec 2026)"
    assert Quarter(2026, 3).short_label == "Oct–Dec 2026"


@pytest.mark.parametrize(
    "text", ["2026-Q5", "2026-Q0", "26-Q1", "2026Q1", "", "x" * 100, "1999-Q1"]
)
def test_only_a_quarter_like_2026_q3_is_read(text):
    with pytest.raises(ValueError, match="is not a quarter like 2026-Q3"):
        Quarter.parse(text)


def test_the_return_deadline_is_20_working_days_after_the_quarter_skipping_bank_holidays():
    # Oct–Dec 2026 ends on a Thursday; Christmas, Boxing Day (substitute 28 Dec) and New
    # Year's Day are not working days.
    assert Quarter(2026, 3).return_deadline == date(2027, 1, 29)
    # Jul–Sep 2026 ends on a Wednesday: four plain weeks.
    assert Quarter(2026, 2).return_deadline == date(2026, 10, 28)


def test_a_return_is_open_from_the_quarters_first_day_until_its_deadline():
    quarter = Quarter(2026, 2)
    assert not rules.return_open(quarter, date(2026, 6, 30))
    assert rules.return_open(quarter, date(2026, 7, 1))
    assert rules.return_open(quarter, date(2026, 10, 28))
    assert not rules.return_open(quarter, date(2026, 10, 29))


def test_the_latest_quarter_past_its_deadline_moves_on_the_day_after_the_deadline():
    assert rules.latest_quarter_past_deadline(date(2026, 10, 28)) == Quarter(2026, 1)
    assert rules.latest_quarter_past_deadline(date(2026, 10, 29)) == Quarter(2026, 2)
    assert rules.latest_quarter_past_deadline(date(2026, 12, 6)) == Quarter(2026, 2)


def test_a_contract_shows_its_last_four_quarters_begun_by_today():
    quarters = rules.quarters_of(date(2026, 7, 1), date(2028, 6, 30), date(2026, 12, 6))
    assert [q.key for q in quarters] == ["2026-Q2", "2026-Q3"]
    later = rules.quarters_of(date(2026, 7, 1), date(2028, 6, 30), date(2028, 1, 15))
    assert [q.key for q in later] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    ended = rules.quarters_of(date(2024, 9, 1), date(2025, 8, 31), date(2026, 12, 6), count=2)
    assert [q.key for q in ended] == ["2025-Q1", "2025-Q2"]
    assert rules.quarters_of(date(2027, 9, 1), date(2028, 8, 31), date(2026, 12, 6)) == []


def test_each_term_ends_in_a_quarter_of_its_own():
    assert rules.term_ending_in(Quarter(2026, 3)) == Term(2026, TermName.AUTUMN)
    assert rules.term_ending_in(Quarter(2026, 4)) == Term(2026, TermName.SPRING)
    assert rules.term_ending_in(Quarter(2026, 2)) == Term(2025, TermName.SUMMER)
    assert rules.term_ending_in(Quarter(2026, 1)) is None


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (9500, 9500, Direction.HIGHER, KpiStatus.MET),
        (9499, 9500, Direction.HIGHER, KpiStatus.BELOW),
        (10000, 9500, Direction.HIGHER, KpiStatus.MET),
        (300, 300, Direction.LOWER, KpiStatus.MET),
        (301, 300, Direction.LOWER, KpiStatus.BELOW),
        (0, 300, Direction.LOWER, KpiStatus.MET),
        (0, 9500, Direction.HIGHER, KpiStatus.BELOW),
        (None, 9500, Direction.HIGHER, KpiStatus.NO_DATA),
        (None, 300, Direction.LOWER, KpiStatus.NO_DATA),
    ],
)
def test_a_figure_meets_its_target_the_right_way_round_and_no_data_is_not_zero(
    value, target, direction, expected
):
    assert rules.status(value, target, direction) is expected


def test_a_contracts_overall_status_is_below_if_any_kpi_is_below():
    assert rules.overall([KpiStatus.MET, KpiStatus.BELOW]) is KpiStatus.BELOW
    assert rules.overall([KpiStatus.NO_DATA, KpiStatus.MET]) is KpiStatus.MET
    assert rules.overall([KpiStatus.NO_DATA]) is KpiStatus.NO_DATA
    assert rules.overall([]) is KpiStatus.NO_DATA


def test_a_rate_is_in_hundredths_of_a_per_cent_rounded_half_up_and_none_of_nothing():
    assert rules.rate(2, 3) == 6667
    assert rules.rate(1, 8) == 1250
    assert rules.rate(1, 1) == 10000
    assert rules.rate(0, 0) is None


@pytest.mark.parametrize(
    ("text", "unit", "hundredths"),
    [
        ("95", KpiUnit.PERCENT, 9500),
        ("95.5%", KpiUnit.PERCENT, 9550),
        (" 4.25 ", KpiUnit.SCORE, 425),
        ("12", KpiUnit.COUNT, 1200),
        ("1,200", KpiUnit.COUNT, 120000),
        ("0", KpiUnit.PERCENT, 0),
    ],
)
def test_figures_typed_by_people_are_read_as_hundredths(text, unit, hundredths):
    assert rules.parse_value(text, unit) == hundredths


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("", KpiUnit.PERCENT),
        ("-1", KpiUnit.PERCENT),
        ("1e309", KpiUnit.PERCENT),
        ("101", KpiUnit.PERCENT),
        ("5.01", KpiUnit.SCORE),
        ("2.5", KpiUnit.COUNT),
        ("²", KpiUnit.COUNT),
        ("95.555", KpiUnit.PERCENT),
        (str(2**63), KpiUnit.COUNT),
    ],
)
def test_anything_else_is_refused_with_a_message(text, unit):
    with pytest.raises(ValueError, match="Enter"):
        rules.parse_value(text, unit)


def test_figures_and_targets_read_as_people_write_them():
    assert rules.format_value(9550, KpiUnit.PERCENT) == "95.5%"
    assert rules.format_value(400, KpiUnit.SCORE) == "4 / 5"
    assert rules.format_value(None, KpiUnit.SCORE) == "No data"
    assert rules.format_target(9500, KpiUnit.PERCENT, Direction.HIGHER) == "≥ 95%"
    assert rules.format_target(300, KpiUnit.COUNT, Direction.LOWER) == "≤ 3"
    assert rules.plain(9550) == "95.5" and rules.plain(100_000_000) == "1000000"


def test_pooled_works_out_only_the_kpis_it_has_figures_for_in_their_own_unit():
    assert rules.check_kpi(KpiKind.CUSTOM, KpiUnit.PERCENT, KpiSource.COMPUTED) is not None
    assert rules.check_kpi(KpiKind.SATISFACTION, KpiUnit.PERCENT, KpiSource.COMPUTED)[0] == "unit"
    assert rules.check_kpi(KpiKind.FILL_RATE, KpiUnit.PERCENT, KpiSource.COMPUTED) is None
    assert rules.check_kpi(KpiKind.CUSTOM, KpiUnit.COUNT, KpiSource.PROVIDER_RETURN) is None


def test_every_contract_gets_three_standard_kpis_fill_rate_only_for_supply_staff():
    supply = rules.default_kpis(supply_staff=True)
    other = rules.default_kpis(supply_staff=False)
    assert len(supply) == len(other) == rules.MINIMUM_KPIS
    assert {s.kind for s in supply} == {
        KpiKind.ON_TIME_DELIVERY,
        KpiKind.SATISFACTION,
        KpiKind.FILL_RATE,
    }
    custom = [s for s in other if s.kind is KpiKind.CUSTOM]
    assert len(custom) == 1 and custom[0].source is KpiSource.PROVIDER_RETURN
    assert custom[0].target == 9000
    targets = {s.kind: s.target for s in supply}
    assert targets[KpiKind.ON_TIME_DELIVERY] == 9500 and targets[KpiKind.SATISFACTION] == 400
    assert targets[KpiKind.FILL_RATE] == 9000
