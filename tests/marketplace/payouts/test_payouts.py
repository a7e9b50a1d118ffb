"""Recording payments to providers, and each provider's statement: owed − paid = outstanding,
to the penny, with what is overdue by date; a bank file imported all or nothing, and once."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import audit, partnership
from app.extensions import db
from app.time import london_today
from marketplace.billing import payables
from marketplace.payouts import rules, services, statement
from marketplace.payouts.errors import (
    BankFileRefused,
    DuplicatePaymentReference,
    PaymentInvalid,
)
from marketplace.payouts.models import PaymentSource, ProviderPayment, ProviderPaymentImport
from tests.marketplace.payouts.conftest import pay
from tests.support.outbox import emails


def owed_to(provider_id: int) -> int:
    return sum(i.owed_pence for i in payables.items(500, provider_id=provider_id))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_statement_is_owed_less_paid_to_the_penny(owed):
    world = owed.world
    pay(world, world.provider_a, 12_345, "ELP-1")
    pay(world, world.provider_a, 1, "ELP-2")

    s = statement.statement(world.provider_a)

    assert s.position.owed_pence == owed_to(world.provider_a.id)
    assert s.position.paid_pence == 12_346
    assert s.position.outstanding_pence == owed_to(world.provider_a.id) - 12_346
    assert sum(line.outstanding_pence for line in s.lines) == s.position.outstanding_pence
    assert s.position.overdue_pence + s.position.due_pence == s.position.outstanding_pence
    assert [p.reference for p in s.payments] == ["ELP-2", "ELP-1"]  # newest first


def test_payments_settle_the_oldest_items_and_the_rest_is_overdue_by_date(owed):
    world = owed.world
    september = next(i for i in payables.items(500) if i.order_id == owed.september.id)
    pay(world, world.provider_a, september.owed_pence + 1, "ELP-SEP")
    october_due = rules.due_on(owed.october.delivered_at.date(), 30)

    on_due_day = statement.statement(world.provider_a, today=october_due)
    day_after = statement.statement(world.provider_a, today=october_due + timedelta(days=1))

    lines = {line.record_id: line for line in day_after.lines}
    assert lines[owed.september.id].state is rules.ItemState.PAID
    assert lines[owed.october.id].paid_pence == 1
    assert lines[owed.october.id].due_on == october_due
    assert {line.record_id: line.state for line in on_due_day.lines}[owed.october.id] == (
        rules.ItemState.PART_PAID
    )
    assert lines[owed.october.id].state is rules.ItemState.OVERDUE
    assert day_after.position.overdue_pence == lines[owed.october.id].outstanding_pence
    assert on_due_day.position.overdue_pence == 0
    assert lines[owed.today_order.id].state is rules.ItemState.DUE


def test_the_payment_term_follows_provider_payment_days(app, owed):
    app.config["PROVIDER_PAYMENT_DAYS"] = 60
    try:
        s = statement.statement(owed.world.provider_a)
    finally:
        app.config["PROVIDER_PAYMENT_DAYS"] = 30
    september = next(line for line in s.lines if line.record_id == owed.september.id)
    assert september.due_on == rules.due_on(september.delivered_on, 60)


def test_the_payment_term_is_the_partnerships_setting_once_it_has_settings(owed):
    partnership.create_settings(partnership.SettingsInput(name="P", provider_payment_days=14))

    assert statement.payment_days() == 14
    [september] = [
        line
        for line in statement.statement(owed.world.provider_a).lines
        if line.record_id == owed.september.id
    ]
    assert september.due_on == rules.month_end(september.delivered_on) + timedelta(days=14)


def test_the_partnership_sees_what_it_owes_every_provider(owed):
    world = owed.world
    pay(world, world.provider_b, 500, "B-1")

    statements = {s.provider_id: s for s in statement.statements()}
    total = statement.totals(statements.values())

    assert set(statements) == {world.provider_a.id, world.provider_b.id}
    assert statements[world.provider_b.id].position.paid_pence == 500
    assert total.owed_pence == owed_to(world.provider_a.id) + owed_to(world.provider_b.id)
    assert total.outstanding_pence == total.owed_pence - 500


def test_recording_a_payment_tells_the_provider_and_is_audited(owed):
    world = owed.world

    payment = pay(world, world.provider_a, 100_000, " elp  pay-7 ")

    assert payment.reference == "ELP PAY-7" and payment.source is PaymentSource.MANUAL
    assert payment.recorded_by_id == world.admin.id
    [told] = emails("payment_sent")
    assert told.recipient == world.provider_user_a.email
    assert "£1,000.00" in told.subject and "ELP PAY-7" in told.subject
    [event] = audit.history("provider_payment", payment.id)
    assert event.action == "recorded" and event.after["amount_pence"] == 100_000


def test_a_reference_is_recorded_once_per_provider(owed):
    world = owed.world
    pay(world, world.provider_a, 100, "ELP-1")

    with pytest.raises(DuplicatePaymentReference, match="already recorded for Alpha"):
        pay(world, world.provider_a, 200, "elp-1")
    pay(world, world.provider_b, 200, "ELP-1")  # another provider's reference

    assert count(ProviderPayment) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"paid_on": london_today() + timedelta(days=1)}, "paid_on"),
        ({"amount_pence": 0}, "amount"),
        ({"reference": "   "}, "reference"),
        ({"reference": "R" * 61}, "reference"),
        ({"note": "n" * 501}, "note"),
    ],
)
def test_a_bad_payment_is_refused_and_writes_nothing(owed, change, field):
    values = {
        "provider_id": owed.world.provider_a.id,
        "paid_on": london_today(),
        "amount_pence": 100,
        "reference": "R1",
    } | change

    with pytest.raises(PaymentInvalid) as refused:
        services.record_payment(services.PaymentInput(**values), owed.world.admin)

    assert refused.value.field == field
    assert count(ProviderPayment) == 0 and emails("payment_sent") == []


def test_deleting_a_payment_is_audited_and_the_item_is_owed_again(owed):
    world = owed.world
    payment = pay(world, world.provider_a, 5_000, "ELP-1")
    payment_id = payment.id

    services.delete_payment(payment_id, world.admin, "Typed against the wrong provider")

    assert db.session.get(ProviderPayment, payment_id) is None
    assert statement.statement(world.provider_a).position.paid_pence == 0
    recorded, deleted = audit.history("provider_payment", payment_id)
    assert deleted.action == "deleted" and deleted.actor_id == world.admin.id
    assert deleted.before["reference"] == "ELP-1"
    assert deleted.after == {"reason": "Typed against the wrong provider"}


def bank_file(*lines: str) -> bytes:
    return ("date,amount,reference,payee\n" + "\n".join(lines) + "\n").encode()


def test_a_good_bank_file_is_imported_once(owed):
    world = owed.world
    day = (london_today() - timedelta(days=3)).isoformat()
    data = bank_file(
        f"{day},250.00,BANK-1,ALPHA COUNSELLING LIMITED",
        f'{day},"1,000.01",BANK-2,Beta Therapy',
    )

    result = services.import_bank_file(data, filename="nov.csv", actor=world.admin)

    assert (result.recorded, result.already_recorded, result.total_pence) == (2, 0, 125_001)
    batch = db.session.scalar(sa.select(ProviderPaymentImport))
    assert batch.filename == "nov.csv" and batch.payments == 2
    payments = db.session.scalars(sa.select(ProviderPayment).order_by(ProviderPayment.id)).all()
    assert [(p.provider_id, p.reference, p.source, p.import_id) for p in payments] == [
        (world.provider_a.id, "BANK-1", PaymentSource.IMPORT, batch.id),
        (world.provider_b.id, "BANK-2", PaymentSource.IMPORT, batch.id),
    ]
    assert len(emails("payment_sent")) == 2

    again = services.import_bank_file(data, filename="nov.csv", actor=world.admin)

    assert (again.recorded, again.already_recorded, again.batch) == (0, 2, None)
    assert count(ProviderPayment) == 2 and count(ProviderPaymentImport) == 1


def test_a_bank_file_with_any_problem_records_nothing(owed):
    world = owed.world
    pay(world, world.provider_a, 100, "ALREADY")
    day = london_today().isoformat()
    data = bank_file(
        f"{day},250.00,GOOD-1,Alpha Counselling",
        f"{day},abc,GOOD-2,Alpha Counselling",
        f"{day},5.00,ALREADY,Alpha Counselling",
        f"{day},5.00,DUP,Beta Therapy",
        f"{day},6.00,dup,Beta Therapy",
        f"{day},7.00,X-1,Nobody Ltd",
    )

    with pytest.raises(BankFileRefused) as refused:
        services.import_bank_file(data, filename="bad.csv", actor=world.admin)

    problems = "\n".join(refused.value.problems)
    assert "Line 3: the amount “abc” is not accepted" in problems
    assert "Line 4: the reference ALREADY is already recorded for Alpha Counselling Ltd" in problems
    assert "Line 6: the reference DUP for Beta Therapy Ltd is also on line 5" in problems
    assert "Line 7: unknown payee “Nobody Ltd”" in problems
    assert count(ProviderPayment) == 1 and count(ProviderPaymentImport) == 0
    assert len(emails("payment_sent")) == 1  # the earlier payment's only


def test_an_import_of_a_file_other_than_the_previewed_one_is_refused(owed):
    data = bank_file(f"{london_today().isoformat()},1.00,R-1,Alpha Counselling")

    with pytest.raises(PaymentInvalid, match="not the one previewed"):
        services.import_bank_file(data, filename="x.csv", actor=owed.world.admin, sha256="0" * 64)

    assert count(ProviderPayment) == 0


def test_the_payables_csv_lists_due_dates_and_payments(owed):
    world = owed.world
    pay(world, world.provider_a, 4_321, "ELP-CSV", london_today() - timedelta(days=1))
    items = payables.items(500)

    text = payables.csv_text(
        items,
        payables.supply_items(500),
        [
            payables.PaymentLine(
                p.provider.name, p.paid_on, p.reference, p.source.value, p.amount_pence
            )
            for p in statement.payments()
        ],
        statement.due_dates(),
    )

    rows = list(csv.DictReader(io.StringIO(text)))
    [payment] = [r for r in rows if r["Kind"] == "payment"]
    assert payment["Paid to provider (£)"] == "43.21" and "ELP-CSV" in payment["Service"]
    september = next(r for r in rows if r["Order"] == str(owed.september.id))
    assert september["Due on"] == rules.due_on(owed.september.delivered_at.date(), 30).isoformat()
    owed_total = sum(Decimal(r["Owed to provider (£)"] or 0) for r in rows)
    assert owed_total * 100 == sum(i.owed_pence for i in items)


def test_the_statement_is_the_same_on_a_day_whatever_the_order_of_payments(owed):
    world = owed.world
    pay(world, world.provider_a, 700, "B", date(2020, 1, 2))
    pay(world, world.provider_a, 300, "A", date(2020, 1, 1))

    s = statement.statement(world.provider_a)

    assert s.last_paid_on == date(2020, 1, 2)
    assert sum(line.paid_pence for line in s.lines) == 1_000
