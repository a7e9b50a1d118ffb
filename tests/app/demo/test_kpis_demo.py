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
    provider = db.session.scalar(sa.select(User).where(User.email == "psychology@demo.pooled.test"))
    assert provider is not None
    returned = db.session.scalars(
        sa.select(KpiReturn).where(KpiReturn.provider_id == provider.provider_id)
    ).all()
    assert len(returned) >= 2
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
