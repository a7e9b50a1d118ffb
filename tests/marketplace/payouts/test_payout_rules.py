"""The pure rules of paying providers: due dates, oldest-first settling, the bank file's checks."""

from __future__ import annotations

from datetime import date

import pytest

from marketplace.payouts import bankfile, rules
from marketplace.payouts.bankfile import Payee, Recorded

TODAY = date(2026, 12, 6)


def item(key: str, delivered: date, owed: int, days: int = 30) -> rules.OwedItem:
    return rules.OwedItem(key, delivered, rules.due_on(delivered, days), owed)


@pytest.mark.parametrize(
    ("delivered", "days", "due"),
    [
        (date(2026, 3, 12), 30, date(2026, 4, 30)),
        (date(2026, 1, 31), 30, date(2026, 3, 2)),
        (date(2028, 2, 1), 0, date(2028, 2, 29)),  # a leap year's February
        (date(2026, 12, 31), 14, date(2027, 1, 14)),
    ],
)
def test_an_item_is_due_days_after_the_end_of_its_month_of_delivery(delivered, days, due):
    assert rules.due_on(delivered, days) == due


def test_a_negative_payment_term_is_refused():
    with pytest.raises(ValueError):
        rules.due_on(TODAY, -1)


def test_payments_settle_the_oldest_due_items_first_to_the_penny():
    items = [
        item("order-3", date(2026, 11, 2), 10_001),
        item("order-1", date(2026, 9, 20), 33_333),
        item("order-2", date(2026, 10, 5), 25_000),
    ]

    settled = rules.settle(items, 40_000, TODAY)

    assert [(s.item.key, s.paid_pence, s.outstanding_pence) for s in settled] == [
        ("order-1", 33_333, 0),
        ("order-2", 6_667, 18_333),
        ("order-3", 0, 10_001),
    ]
    assert [s.state for s in settled] == [
        rules.ItemState.PAID,
        rules.ItemState.OVERDUE,  # due 30 November, part paid
        rules.ItemState.DUE,  # due 30 December
    ]
    position = rules.position(settled, 40_000)
    assert position.owed_pence == 68_334
    assert position.outstanding_pence == 68_334 - 40_000 == 28_334
    assert position.overdue_pence == 18_333 and position.due_pence == 10_001
    assert position.overdue_pence + position.due_pence == position.outstanding_pence


def test_an_item_is_overdue_only_after_its_due_date():
    [owed] = [item("order-1", date(2026, 10, 5), 500)]  # due 30 November

    assert not rules.settle([owed], 0, date(2026, 11, 30))[0].overdue
    assert rules.settle([owed], 0, date(2026, 12, 1))[0].overdue
    assert rules.settle([owed], 0, date(2026, 12, 1))[0].state is rules.ItemState.OVERDUE
    assert rules.settle([owed], 200, date(2026, 11, 1))[0].state is rules.ItemState.PART_PAID


def test_paying_more_than_is_owed_leaves_the_provider_in_credit():
    settled = rules.settle([item("order-1", date(2026, 9, 1), 1_000)], 1_500, TODAY)

    position = rules.position(settled, 1_500)

    assert position.outstanding_pence == -500 and position.credit_pence == 500
    assert position.overdue_pence == position.due_pence == 0


@pytest.mark.parametrize(
    ("typed", "provider"),
    [
        ("ALPHA COUNSELLING LTD", "Alpha Counselling Ltd"),
        ("Alpha Counselling Limited", "Alpha Counselling Ltd"),
        ("alpha  counselling", "Alpha Counselling Ltd"),
        ("St. Mary's Speech & Language", "St Mary's Speech and Language"),
    ],
)
def test_payee_names_match_whatever_the_case_spacing_and_company_ending(typed, provider):
    same = rules.normalise_payee(typed) == rules.normalise_payee(provider)
    assert same == ("&" not in typed)


PROVIDERS = [Payee(1, "Alpha Counselling Ltd"), Payee(2, "Beta Therapy Ltd")]


def check(text: str, recorded=None, providers=PROVIDERS) -> bankfile.BankFile:
    return bankfile.check(text.encode(), providers=providers, recorded=recorded or {}, today=TODAY)


def test_a_good_bank_file_matches_each_line_to_its_provider():
    checked = check(
        "Date,Amount,Reference,Payee,Balance\n"
        '2026-11-30,"1,250.50",elp-pay-0001,ALPHA COUNSELLING LIMITED,9000\n'
        "01/12/2026,£99.99,ELP-PAY-0002,beta therapy,8000\n"
        "\n"
    )

    assert checked.ok, checked.problems
    assert [
        (r.line, r.paid_on, r.amount_pence, r.reference, r.provider.id) for r in checked.rows
    ] == [
        (2, date(2026, 11, 30), 125_050, "ELP-PAY-0001", 1),
        (3, date(2026, 12, 1), 9_999, "ELP-PAY-0002", 2),
    ]
    assert checked.total_pence == 135_049


def test_every_problem_of_a_bank_file_is_named_with_its_line():
    checked = check(
        "date,amount,reference,payee\n"
        "2026-13-01,100,R1,Alpha Counselling\n"
        "yesterday,100,R2,Alpha Counselling\n"
        "2026-11-01,-5,R3,Alpha Counselling\n"
        "2026-11-01,0,R4,Alpha Counselling\n"
        "2026-11-01,1.005,R5,Alpha Counselling\n"
        "2026-11-01,10,,Alpha Counselling\n"
        "2026-11-01,10,R7,Gamma Supply\n"
        "2026-11-01,10,R8,Alpha Counselling\n"
        "2026-11-02,11,r8,Alpha Counselling Ltd\n"
        "2027-01-01,10,R10,Alpha Counselling\n"
    )

    problems = "\n".join(checked.problems)
    assert not checked.ok
    assert "Line 2: the date “2026-13-01” is not a real date" in problems
    assert "Line 3: the date “yesterday” is not a date like 2026-11-30" in problems
    assert "Line 4: the amount “-5” is not accepted" in problems
    assert "Line 5: the amount “0” is not accepted" in problems
    assert "Line 6: the amount “1.005” is not accepted" in problems
    assert "Line 7: no bank reference" in problems
    assert "Line 8: unknown payee “Gamma Supply”" in problems
    assert "Line 10: the reference R8 for Alpha Counselling Ltd is also on line 9" in problems
    assert "Line 11: the date 2027-01-01 is after today" in problems
    assert [r.line for r in checked.rows if r.good] == [9]


def test_a_reference_already_recorded_is_skipped_if_the_same_and_refused_if_not():
    recorded = {
        (1, "R1"): Recorded(date(2026, 11, 30), 10_000),
        (2, "R2"): Recorded(date(2026, 11, 30), 10_000),
    }

    checked = check(
        "date,amount,reference,payee\n"
        "2026-11-30,100.00,R1,Alpha Counselling\n"
        "2026-11-30,100.01,R2,Beta Therapy\n"
        "2026-11-30,100.00,R2,Alpha Counselling\n",
        recorded,
    )

    [same, different, other_provider] = checked.rows
    assert same.already_recorded and same.good and not same.to_record
    assert different.problems == [
        "the reference R2 is already recorded for Beta Therapy Ltd: £100.00 paid on 2026-11-30"
    ]
    assert other_provider.to_record  # references are unique per provider


def test_a_provider_id_column_decides_who_was_paid():
    checked = check(
        "date,amount,reference,payee,provider_id\n"
        "2026-11-30,10,R1,ALPHA CNSLG,1\n"
        "2026-11-30,10,R2,Beta,99\n"
    )

    assert checked.rows[0].provider == PROVIDERS[0] and checked.rows[0].payee == "ALPHA CNSLG"
    assert checked.rows[1].problems == ["no provider has the provider_id “99”"]


def test_a_bank_file_without_the_columns_or_lines_is_refused_as_a_whole():
    assert check("when,how much\n2026-11-30,10\n").problems == [
        "Line 1: the header row lacks the column(s) date, amount, reference, payee (or "
        "provider_id)."
    ]
    assert check("date,amount,reference,payee\n").problems == [
        "The file has no payments under its header row."
    ]
    assert check("date,amount,reference,payee\n2026-11-30,1,R,Alpha,extra\n").problems == [
        "Line 2: more values than the header row has columns."
    ]


def test_a_payee_two_providers_could_be_is_refused():
    twins = [Payee(1, "Acme Ltd"), Payee(2, "ACME Limited")]

    checked = check("date,amount,reference,payee\n2026-11-30,1,R,acme\n", providers=twins)

    assert checked.rows[0].problems == [
        "the payee “acme” could be Acme Ltd and ACME Limited: add a provider_id column"
    ]
