"""The pure rules of calling off under a contract: what is left, and who may call off when."""

from __future__ import annotations

from datetime import date

from app.calendar import Term, TermName
from procurement.contracts import rules

AUTUMN = Term(2026, TermName.AUTUMN)
SPRING = Term(2026, TermName.SPRING)
SUMMER = Term(2026, TermName.SUMMER)


def test_drawdown_sums_call_offs_by_term_in_term_order_with_what_was_left_after_each():
    drawdown = rules.drawdown(
        100,
        1_000_000,
        [(SPRING.key, 10, 250_000), (AUTUMN.key, 30, 600_000), (SPRING.key, 5, 125_000)],
    )
    assert (drawdown.used_units, drawdown.used_pence) == (45, 975_000)
    assert (drawdown.units_left, drawdown.value_left_pence) == (55, 25_000)
    assert [(t.term_key, t.units, t.value_pence) for t in drawdown.by_term] == [
        (AUTUMN.key, 30, 600_000),
        (SPRING.key, 15, 375_000),
    ]
    assert [(t.units_left_after, t.value_left_after_pence) for t in drawdown.by_term] == [
        (70, 400_000),
        (55, 25_000),
    ]
    assert drawdown.by_term[0].term_label == "Autumn 2026/27"


def test_a_contract_with_no_caps_has_nothing_limited_left():
    drawdown = rules.drawdown(None, None, [(AUTUMN.key, 500, 9_000_000)])
    assert drawdown.units_left is None and drawdown.value_left_pence is None
    assert drawdown.by_term[0].units_left_after is None
    assert (
        rules.drawdown_problem(
            drawdown, quantity=10_000, total_pence=10**9, unit="day", reference="C-1"
        )
        is None
    )


def test_nothing_left_is_never_negative_when_a_cap_was_lowered_below_use():
    drawdown = rules.drawdown(10, 100, [(AUTUMN.key, 12, 150)])
    assert (drawdown.units_left, drawdown.value_left_pence) == (0, 0)


def test_a_call_off_beyond_the_units_left_is_refused_naming_what_remains():
    drawdown = rules.drawdown(30, None, [(AUTUMN.key, 24, 0)])
    problem = rules.drawdown_problem(
        drawdown, quantity=10, total_pence=1, unit="day", reference="ELP-T-1"
    )
    assert problem == (
        "Contract ELP-T-1 has only 6 days left to call off, and this call-off needs 10"
    )
    assert (
        rules.drawdown_problem(drawdown, quantity=6, total_pence=1, unit="day", reference="X")
        is None
    )
    full = rules.drawdown(24, None, [(AUTUMN.key, 24, 0)])
    assert rules.drawdown_problem(
        full, quantity=1, total_pence=1, unit="day", reference="ELP-T-1"
    ) == ("Contract ELP-T-1 has no days left to call off")


def test_a_call_off_beyond_the_value_left_is_refused_naming_the_money_left():
    drawdown = rules.drawdown(None, 100_000, [(AUTUMN.key, 2, 55_000)])
    problem = rules.drawdown_problem(
        drawdown, quantity=2, total_pence=50_000, unit="day", reference="ELP-T-2"
    )
    assert problem == (
        "Contract ELP-T-2 has only £450.00 of its maximum value left, and this call-off costs "
        "£500.00"
    )
    assert (
        rules.drawdown_problem(
            drawdown, quantity=2, total_pence=45_000, unit="day", reference="ELP-T-2"
        )
        is None
    )


def test_call_offs_need_an_active_contract_running_in_a_term_that_is_not_over():
    today = date(2026, 10, 5)
    ok = {"status": "active", "starts_on": date(2026, 9, 1), "ends_on": date(2027, 3, 31)}
    assert rules.period_problem(**ok, term=AUTUMN, today=today) is None
    assert rules.period_problem(**ok, term=SPRING, today=today) is None
    assert "does not include Summer 2026/27" in rules.period_problem(**ok, term=SUMMER, today=today)
    assert "is over" in rules.period_problem(**ok, term=Term(2025, TermName.SUMMER), today=today)
    ended = {**ok, "ends_on": date(2026, 9, 30)}
    assert "ended on 30 September 2026" in rules.period_problem(**ended, term=AUTUMN, today=today)
    assert "not been entered into" in rules.period_problem(
        **{**ok, "status": "pending"}, term=AUTUMN, today=today
    )
    assert "terminated" in rules.period_problem(
        **{**ok, "status": "terminated"}, term=AUTUMN, today=today
    )


def test_only_schools_taking_part_call_off_unless_the_contract_is_open():
    assert rules.participation_problem(takes_part=True, open_to_new_schools=False) is None
    assert rules.participation_problem(takes_part=False, open_to_new_schools=True) is None
    assert "does not take part" in rules.participation_problem(
        takes_part=False, open_to_new_schools=False
    )


def test_the_terms_to_call_off_in_run_from_todays_term_to_the_contracts_end():
    terms = rules.call_off_terms(date(2025, 9, 1), date(2027, 1, 15), date(2026, 5, 2))
    assert [t.key for t in terms] == ["2025-summer", "2026-autumn", "2026-spring"]
    later = rules.call_off_terms(date(2026, 9, 1), date(2026, 12, 31), date(2026, 5, 2))
    assert [t.key for t in later] == ["2026-autumn"]
    assert rules.call_off_terms(date(2025, 9, 1), date(2026, 3, 31), date(2026, 5, 2)) == []
