"""The providers' side: capacity used and contracts ending."""

from __future__ import annotations

from datetime import timedelta

from app.dashboards.supply import capacity_use, expiring_contracts
from app.extensions import db
from app.time import london_today
from procurement.contracts.models import ContractSchool, ContractStatus
from tests.app.dashboards.support import booked, make_contract


def test_capacity_use_per_provider_and_term(market, year):
    order = booked(market, quantity=20)
    table = capacity_use(year, market.provider_a.id)
    (row,) = table.rows
    terms = [t.key for t in year.terms()]
    at = 1 + 2 * terms.index(order.term_key)
    assert row[0] == market.provider_a.name
    assert (row[at], row[at + 1]) == (20, 100)
    offered = sum(row[2:8:2])
    assert row[-1] == round(100 * 20 / offered, 1)


def test_contracts_ending_in_the_next_twelve_months(market):
    today = london_today()
    soon = make_contract(market, today + timedelta(days=180))
    make_contract(market, today + timedelta(days=400))  # later
    make_contract(market, today - timedelta(days=1))  # over
    make_contract(market, today + timedelta(days=30), status=ContractStatus.TERMINATED)
    db.session.add(ContractSchool(contract_id=soon.id, school_id=market.school_a.id))
    db.session.commit()
    table = expiring_contracts(today)
    assert [row[0] for row in table.rows] == [soon.reference]
    assert table.rows[0][3:] == (soon.ends_on, 1)
