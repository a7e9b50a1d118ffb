"""What providers are owed: delivered work less the partnership's fee, in SQL, to the penny."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from app.extensions import db
from app.time import utcnow
from marketplace.billing import payables
from marketplace.billing import rules as billing_rules
from marketplace.orders.models import OrderStatus
from tests.marketplace.billing.conftest import make_contract, make_order, previous_term

AWKWARD_PRICES = [1, 9, 10, 29, 30, 8_333, 12_345, 99_999]


@pytest.fixture
def delivered(world):
    """Orders in every state for both providers; only some are owed."""
    last = previous_term().key
    contract = make_contract(world.offer_b)
    owed = [
        make_order(world.school_a, world.offer_a, 3, unit_price_pence=p, po_number=f"PO-{p}")
        for p in AWKWARD_PRICES
    ]
    owed.append(make_order(world.school_b, world.offer_a, 2, status=OrderStatus.INVOICED))
    owed.append(make_order(world.school_a, world.offer_b, 7, contract=contract, term_key=last))
    late_cancel = make_order(
        world.school_b,
        world.offer_b,
        4,
        status=OrderStatus.CANCELLED,
        cancellation_charge_pence=4_321,
    )
    late_cancel.delivered_at = utcnow()
    owed.append(late_cancel)
    for status in (OrderStatus.CONFIRMED, OrderStatus.APPROVED, OrderStatus.DRAFT):
        make_order(world.school_a, world.offer_a, 5, status=status)
    make_order(  # cancelled before delivery: nothing delivered, nothing owed
        world.school_a,
        world.offer_b,
        1,
        status=OrderStatus.CANCELLED,
        cancellation_charge_pence=500,
    )
    make_order(world.school_a, world.offer_a, 2, entitled=2)  # £0: covered by membership
    db.session.flush()
    return owed


def gross_of(order) -> int:
    return (
        order.cancellation_charge_pence
        if order.status is OrderStatus.CANCELLED
        else order.total_pence
    )


def test_each_delivered_order_is_owed_less_the_fee_rounded_half_up(delivered) -> None:
    items = {i.order_id: i for i in payables.items(500)}

    assert set(items) == {o.id for o in delivered}
    for order in delivered:
        item = items[order.id]
        assert item.gross_pence == gross_of(order)
        assert item.fee_pence == billing_rules.fee_pence(gross_of(order), 500)
        assert item.owed_pence == item.gross_pence - item.fee_pence


def test_the_ledger_per_provider_and_term_adds_up_to_the_penny(world, delivered) -> None:
    rows = payables.ledger(500)

    expected: dict[tuple[int, str], list[int]] = {}
    for order in delivered:
        key = (order.provider_id, order.term_key)
        gross = gross_of(order)
        fee = billing_rules.fee_pence(gross, 500)
        sums = expected.setdefault(key, [0, 0, 0, 0])
        sums[0] += 1
        sums[1] += gross
        sums[2] += fee
        sums[3] += gross - fee
    assert {
        (r.provider_id, r.period): [r.orders, r.gross_pence, r.fee_pence, r.owed_pence]
        for r in rows
    } == expected
    total = payables.totals(rows)
    assert total.owed_pence == total.gross_pence - total.fee_pence
    assert total.gross_pence == sum(gross_of(o) for o in delivered)


def test_the_fee_follows_partnership_fee_bp(app, delivered) -> None:
    saved = app.config["PARTNERSHIP_FEE_BP"]
    app.config["PARTNERSHIP_FEE_BP"] = 750
    try:
        assert payables.fee_bp() == 750
        item = payables.items(payables.fee_bp())[0]
        assert item.fee_pence == billing_rules.fee_pence(item.gross_pence, 750)
    finally:
        app.config["PARTNERSHIP_FEE_BP"] = saved  # not popped: later tests read it
    assert payables.fee_bp() == 500


def test_a_very_large_order_does_not_overflow(world) -> None:
    order = make_order(world.school_a, world.offer_a, 1, unit_price_pence=2_000_000_000)

    [item] = payables.items(500)

    assert item.order_id == order.id
    assert (item.fee_pence, item.owed_pence) == (100_000_000, 1_900_000_000)


def test_one_providers_ledger_shows_only_its_own_orders(world, delivered) -> None:
    rows = payables.ledger(500, provider_id=world.provider_b.id)

    assert {r.provider_id for r in rows} == {world.provider_b.id}
    assert all(
        i.provider_id == world.provider_b.id
        for i in payables.items(500, provider_id=world.provider_b.id)
    )


def test_the_csv_adds_up_to_the_delivered_work_less_the_fee(delivered) -> None:
    text = payables.csv_text(payables.items(500))

    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(delivered)
    pence = lambda value: int(Decimal(value) * 100)  # noqa: E731
    gross = sum(pence(r["Value (£, excl. VAT)"]) for r in rows)
    fee = sum(pence(r["Partnership fee (£)"]) for r in rows)
    owed = sum(pence(r["Owed to provider (£)"]) for r in rows)
    delivered_work = sum(gross_of(o) for o in delivered)
    expected_fee = sum(billing_rules.fee_pence(gross_of(o), 500) for o in delivered)
    assert (gross, fee, owed) == (delivered_work, expected_fee, delivered_work - expected_fee)


@pytest.mark.usefixtures("delivered")
def test_admins_download_every_providers_payables(client, auth, world) -> None:
    auth.as_user(world.admin)

    response = client.get("/billing/payables.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert world.provider_a.name in body and world.provider_b.name in body


@pytest.mark.usefixtures("delivered")
def test_a_provider_sees_what_it_is_owed_and_nobody_elses(client, auth, world) -> None:
    auth.as_user(world.provider_user_b)

    page = client.get("/payments").get_data(as_text=True)
    own_csv = client.get("/payments.csv").get_data(as_text=True)

    assert world.provider_b.name in page
    assert world.provider_a.name not in own_csv
    assert world.provider_b.name in own_csv
    owed = sum(i.owed_pence for i in payables.items(500, provider_id=world.provider_b.id))
    from app.money import format_pence

    assert f'id="owed-total">{format_pence(owed)}' in page
