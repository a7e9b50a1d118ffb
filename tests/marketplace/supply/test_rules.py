"""The supply rules, pure: rate parts, vetting, fees, release order and London weighting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from marketplace.supply import rules
from marketplace.supply.rules import CheckKind, RateParts, SupplyRole


@pytest.mark.parametrize(
    "parts",
    [
        RateParts(15_000, 1_500, 1_000, 1_812, 4_500),
        RateParts(7_501, 733, 417, 905, 2_251),
        RateParts(1, 0, 0, 0, 0),
        RateParts(13_633, 1_109, 409, 1_646, 3_299),
    ],
)
def test_the_charge_is_pay_plus_on_costs_plus_fee_to_the_penny(parts):
    assert parts.charge_pence == (
        parts.pay_pence
        + parts.ni_pence
        + parts.pension_pence
        + parts.holiday_pence
        + parts.fee_pence
    )
    assert parts.oncost_pence == parts.ni_pence + parts.pension_pence + parts.holiday_pence


def test_a_negative_part_is_refused():
    with pytest.raises(ValueError, match="fee cannot be negative"):
        RateParts(15_000, 1_500, 1_000, 1_812, -1)


def test_parity_pay_scales_the_on_costs_and_keeps_the_fee():
    parts = RateParts(15_000, 1_500, 1_000, 1_812, 4_500)
    raised = parts.at_pay(18_000)
    assert raised.pay_pence == 18_000
    assert (raised.ni_pence, raised.pension_pence, raised.holiday_pence) == (1_800, 1_200, 2_174)
    assert raised.fee_pence == 4_500
    assert raised.charge_pence == 18_000 + 1_800 + 1_200 + 2_174 + 4_500


def test_an_introduced_worker_pays_the_contracts_share_of_the_fee_rounded_half_up():
    parts = RateParts(15_000, 1_500, 1_000, 1_812, 4_501)
    cheaper = rules.priced(parts, introduced=True, introduced_fee_bp=5_000)
    assert cheaper.fee_pence == 2_251  # 2,250.5 rounds up
    assert cheaper.charge_pence == parts.charge_pence - 4_501 + 2_251
    assert rules.priced(parts, introduced=False, introduced_fee_bp=5_000) == parts


def _all_checks(expires: date) -> list[rules.Check]:
    return [rules.Check(kind, date(2026, 1, 1), expires) for kind in CheckKind]


def test_a_worker_with_every_check_in_date_is_cleared():
    assert (
        rules.vetting_problems(SupplyRole.TEACHER, _all_checks(date(2027, 1, 1)), date(2026, 9, 7))
        == []
    )


@pytest.mark.parametrize("kind", sorted(rules.required_checks(SupplyRole.TEACHER)))
def test_a_missing_check_blocks_a_teacher(kind):
    checks = [c for c in _all_checks(date(2027, 1, 1)) if c.kind is not kind]
    problems = rules.vetting_problems(SupplyRole.TEACHER, checks, date(2026, 9, 7))
    assert problems == [f"{kind.label}: missing"]


def test_a_teaching_assistant_needs_no_qts_or_trn():
    checks = [
        c for c in _all_checks(date(2027, 1, 1)) if c.kind not in (CheckKind.QTS, CheckKind.TRN)
    ]
    assert rules.vetting_problems(SupplyRole.TEACHING_ASSISTANT, checks, date(2026, 9, 7)) == []
    assert len(rules.vetting_problems(SupplyRole.TEACHER, checks, date(2026, 9, 7))) == 2


def test_a_check_that_lapses_during_the_booking_blocks_it():
    checks = _all_checks(date(2026, 10, 1))
    assert (
        rules.vetting_problems(SupplyRole.TEACHER, checks, date(2026, 9, 7), date(2026, 9, 30))
        == []
    )
    problems = rules.vetting_problems(
        SupplyRole.TEACHER, checks, date(2026, 9, 7), date(2026, 10, 2)
    )
    assert len(problems) == 7 and all("expires on 2026-10-01" in p for p in problems)


def test_cancelling_inside_the_notice_period_costs_the_fee_share_of_the_first_day():
    start = datetime(2026, 9, 8, 7, 0, tzinfo=UTC)
    assert rules.cancellation_fee(23_812, start - timedelta(hours=24), start, 24, 10_000) == 0
    assert (
        rules.cancellation_fee(23_812, start - timedelta(hours=23, minutes=59), start, 24, 10_000)
        == 23_812
    )
    assert rules.cancellation_fee(23_813, start - timedelta(hours=2), start, 24, 5_000) == 11_907


@pytest.mark.parametrize(
    ("weeks", "fee"),
    [(0, 600_000), (1, 550_000), (6, 300_000), (11, 50_000), (12, 0), (40, 0)],
)
def test_the_temp_to_perm_fee_slides_to_nothing_at_twelve_weeks(weeks, fee):
    # 20% of a £30,000 salary in week 0, down in twelve equal steps.
    assert rules.temp_to_perm_fee(3_000_000, weeks, 12, 2_000) == fee


def test_the_temp_to_perm_fee_rounds_half_up():
    assert rules.temp_to_perm_fee(3_100_001, 7, 12, 2_000) == 258_333  # 258,333.4


def test_ranked_release_gives_each_agency_a_window_in_turn():
    posted = datetime(2026, 9, 7, 7, 0, tzinfo=UTC)
    assert rules.released_at(posted, rules.ReleaseMode.RANKED, 1, 30) == posted
    assert rules.released_at(posted, rules.ReleaseMode.RANKED, 3, 30) == posted + timedelta(hours=1)
    assert rules.released_at(posted, rules.ReleaseMode.ALL_AT_ONCE, 3, 30) == posted


@pytest.mark.parametrize(
    ("la", "weighting"),
    [
        ("307", rules.Weighting.OUTER),
        ("202", rules.Weighting.INNER),
        ("213", rules.Weighting.INNER),
        ("935", rules.Weighting.NONE),
    ],
)
def test_london_weighting_follows_the_local_authority(la, weighting):
    assert rules.weighting_for(la) is weighting
