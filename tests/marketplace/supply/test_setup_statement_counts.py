"""The supply set-up pages' statement counts do not grow with the rows they show (issue 19):
a contract page with more agencies, rates and earlier rates; more contracts; more schools'
pre-contract rates."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.time import utcnow
from marketplace.supply import setup
from marketplace.supply.models import SupplyRate
from marketplace.supply.rules import RateUnit, SupplyRole, Weighting
from tests import factories
from tests.app.test_statement_counts import MORE, assert_does_not_grow
from tests.marketplace.supply.conftest import TEACHER_DAY, TEACHER_HALF, make_supply


def _more_agencies_and_rates(s, world) -> None:
    for n in range(MORE):
        provider = factories.make_provider(f"Agency {n}")
        setup.add_agency(s.contract.id, provider.id, 4 + n, None)
        for unit, parts in ((RateUnit.DAY, TEACHER_DAY), (RateUnit.HALF_DAY, TEACHER_HALF)):
            setup.set_rate(
                s.contract.id, provider.id, SupplyRole.TEACHER, unit, Weighting.OUTER, parts, None
            )
            db.session.add(  # an earlier rate, replaced (the card's history)
                SupplyRate(
                    contract_id=s.contract.id,
                    provider_id=provider.id,
                    role=SupplyRole.TEACHER,
                    unit=unit,
                    weighting=Weighting.OUTER,
                    pay_pence=parts.pay_pence,
                    ni_pence=parts.ni_pence,
                    pension_pence=parts.pension_pence,
                    holiday_pence=parts.holiday_pence,
                    fee_pence=0,
                    charge_pence=parts.charge_pence - parts.fee_pence,
                    replaced_at=utcnow(),
                )
            )
    db.session.commit()


def _more_contracts() -> None:
    for n in range(MORE):
        contract = setup.create_contract(
            title=f"Contract {n}", starts_on=date(2027, 9, 1), ends_on=date(2028, 8, 31), actor=None
        )
        setup.add_agency(contract.id, factories.make_provider(f"Other agency {n}").id, 1, None)


def _more_baselines(world) -> None:
    for n in range(MORE):
        school = factories.make_school(name=f"School {n}")
        for role in (SupplyRole.TEACHER, SupplyRole.TEACHING_ASSISTANT):
            setup.set_baseline(school.id, role, 25_000 + n, None)


def test_the_set_up_pages_run_as_many_statements_for_many_rows(client, login, world):
    supply = make_supply(world)
    login(world.committee)
    c = supply.contract.id
    assert_does_not_grow(
        client, f"/supply/contracts/{c}", lambda: _more_agencies_and_rates(supply, world)
    )
    assert_does_not_grow(client, "/supply/contracts", _more_contracts)
    assert_does_not_grow(client, "/supply/baselines", lambda: _more_baselines(world))
