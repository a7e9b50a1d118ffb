"""KPI fixtures: a contract with the standard KPIs, and its KPIs by kind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Provider, School
from marketplace.catalogue.models import Service
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus
from procurement.kpis.models import ContractKpi
from procurement.kpis.rules import KpiKind
from procurement.kpis.targets import install_default_kpis
from tests import factories

STARTS = date(2026, 4, 1)
ENDS = date(2028, 3, 31)


def make_kpi_contract(
    world: factories.World,
    *,
    provider: Provider | None = None,
    service: Service | None = None,
    schools: Iterable[School] | None = None,
    starts_on: date = STARTS,
    ends_on: date = ENDS,
    reference: str | None = None,
) -> Contract:
    """An active contract (provider A's counselling, for school A by default) with the
    standard KPIs, committed."""
    provider = provider or world.provider_a
    service = service or world.service
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Contract)) or 0
    contract = Contract(
        reference=reference or f"KPI-TEST-{n + 1}",
        title=f"{service.name} from {provider.name}",
        provider_id=provider.id,
        service_id=service.id,
        source=ContractSource.ROUND,
        source_id=1,
        status=ContractStatus.ACTIVE,
        starts_on=starts_on,
        ends_on=ends_on,
        schools=[ContractSchool(school_id=s.id) for s in (schools or [world.school_a])],
    )
    db.session.add(contract)
    db.session.flush()
    install_default_kpis([contract])
    db.session.commit()
    return contract


def kpi_of(contract: Contract, kind: KpiKind) -> ContractKpi:
    return db.session.scalars(
        sa.select(ContractKpi).where(
            ContractKpi.contract_id == contract.id,
            ContractKpi.kind == kind,
            ContractKpi.removed_at.is_(None),
        )
    ).one()
