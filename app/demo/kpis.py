"""The demo's contract KPIs, made by the same use cases the pages call: the standard KPIs on
any contract without them, and the educational psychology contract's quarterly returns of
complaints resolved within 10 working days — met in its first quarter, below target in the
latest finished one (which raises the committee's action and notifies committee members), and
this quarter's so far. Dates run back from `today`; `{}` when already seeded.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa

from app.demo.tenders import COMPLETE_TITLE
from app.errors import DomainError
from app.extensions import db
from app.models import Role, User
from app.time import london_instant
from procurement.contracts.models import Contract, ContractSource, ContractStatus
from procurement.kpis import actions, returns, targets
from procurement.kpis.models import ContractKpi, KpiReturn
from procurement.kpis.rules import KpiSource, Quarter, quarters_of
from procurement.tenders.models import Tender

# Complaints resolved within 10 working days, per cent: finished quarters, oldest first (the
# latest finished one is below the 90% target), then the quarter under way.
FINISHED = ("96", "84")
UNDER_WAY = "92"


def _committee() -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.role == Role.COMMITTEE).order_by(User.id).limit(1)
    )


def seed_demo_kpis(today: date) -> dict[str, int]:
    """Standard KPIs where missing, and a provider's returns over the quarters so far."""
    committee = _committee()
    if committee is None:
        return {}
    added: dict[str, int] = {"contract KPIs": 0, "KPI returns": 0, "KPI actions": 0}
    bare = db.session.scalars(
        sa.select(Contract.id)
        .where(~sa.select(ContractKpi.id).where(ContractKpi.contract_id == Contract.id).exists())
        .order_by(Contract.id)
    ).all()
    for contract_id in bare:
        added["contract KPIs"] += targets.add_standard_kpis(contract_id, committee)
    contract = db.session.scalar(
        sa.select(Contract)
        .join(Tender, Tender.id == Contract.source_id)
        .where(
            Contract.source == ContractSource.TENDER,
            Contract.status == ContractStatus.ACTIVE,
            Tender.title == COMPLETE_TITLE,
        )
        .order_by(Contract.id)
        .limit(1)
    )
    if contract is None:
        return added
    kpi = db.session.scalar(
        sa.select(ContractKpi)
        .where(
            ContractKpi.contract_id == contract.id,
            ContractKpi.source == KpiSource.PROVIDER_RETURN,
            ContractKpi.removed_at.is_(None),
        )
        .order_by(ContractKpi.id)
        .limit(1)
    )
    provider_user = db.session.scalar(
        sa.select(User)
        .where(User.role == Role.PROVIDER, User.provider_id == contract.provider_id)
        .order_by(User.id)
        .limit(1)
    )
    if kpi is None or provider_user is None:
        return added
    if db.session.scalar(sa.select(KpiReturn.id).where(KpiReturn.kpi_id == kpi.id).limit(1)):
        return {}
    current = Quarter.containing(today)
    quarters = quarters_of(contract.starts_on, contract.ends_on, today)
    finished = [q for q in quarters if q != current]
    figures = dict(zip(reversed(finished), reversed(FINISHED), strict=False))
    if current in quarters:
        figures[current] = UNDER_WAY
    for quarter in sorted(figures):
        day = min(today, quarter.ends_on + timedelta(days=7))
        try:
            returns.submit_return(
                kpi.id,
                quarter.key,
                figures[quarter],
                "Complaints log reviewed with the head of service.",
                provider_user,
                today=day,
                now=london_instant(day, time(10, 0)),
            )
        except DomainError:
            db.session.rollback()
            continue
        added["KPI returns"] += 1
    actions.raise_actions_past_deadline(today)
    added["KPI actions"] = len(actions.action_rows(contract.id))
    return added
