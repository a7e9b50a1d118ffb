"""The demo's contract KPIs: every contract has its KPIs; the educational psychology contract
has its provider's quarterly returns, one below target with the committee's action open."""

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.notifications.models import Notification
from procurement.contracts.models import Contract
from procurement.kpis.models import ActionStatus, ContractKpi, KpiAction, KpiReturn


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_the_demo_has_kpis_returns_and_an_action_and_seeding_again_adds_none(runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    for contract_id in db.session.scalars(sa.select(Contract.id)):
        live = _count(
            ContractKpi, ContractKpi.contract_id == contract_id, ContractKpi.removed_at.is_(None)
        )
        assert live >= 3
    returned = db.session.scalars(sa.select(KpiReturn)).all()
    assert len(returned) >= 2
    # Made by a demo login of the contract's provider (eps@demo.pooled.test).
    makers = {r.submitted_by_id for r in returned}
    emails = set(db.session.scalars(sa.select(User.email).where(User.id.in_(makers))))
    assert emails and all(e.endswith("@demo.pooled.test") for e in emails)
    assert {r.value_hundredths for r in returned} >= {8400}
    action = db.session.scalars(
        sa.select(KpiAction).where(KpiAction.status == ActionStatus.OPEN)
    ).first()
    assert action is not None and action.value_hundredths == 8400
    assert _count(Notification, Notification.kind == "kpi_action") >= 2  # both committee members
    before = (_count(KpiReturn), _count(KpiAction), _count(ContractKpi))
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0, again.output
    assert (_count(KpiReturn), _count(KpiAction), _count(ContractKpi)) == before
