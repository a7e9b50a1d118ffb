"""Loading a KPI for the person asking, and the audit trail of KPI changes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, User
from procurement.contracts.models import Contract
from procurement.kpis.errors import KpiNotAllowed, KpiNotFound
from procurement.kpis.models import ContractKpi


def require_partnership(actor: User, doing: str) -> None:
    """Only the committee and the partnership office set KPIs and handle actions."""
    if actor.role not in PARTNERSHIP_ROLES:
        raise KpiNotAllowed(f"Only the committee and the partnership office {doing}.")


def get_contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise KpiNotFound()
    return contract


def get_kpi(contract_id: int, kpi_id: int) -> ContractKpi:
    """A contract's KPI (not removed); anything else is not found."""
    kpi = db.session.scalar(
        sa.select(ContractKpi).where(
            ContractKpi.id == kpi_id,
            ContractKpi.contract_id == contract_id,
            ContractKpi.removed_at.is_(None),
        )
    )
    if kpi is None:
        raise KpiNotFound()
    return kpi


def get_kpi_for_provider(kpi_id: int, provider_id: int | None) -> ContractKpi:
    """A KPI of one of this provider's contracts; another provider's does not exist for it."""
    kpi = db.session.scalar(
        sa.select(ContractKpi)
        .join(Contract, Contract.id == ContractKpi.contract_id)
        .where(
            ContractKpi.id == kpi_id,
            ContractKpi.removed_at.is_(None),
            Contract.provider_id == (provider_id or -1),
        )
    )
    if kpi is None:
        raise KpiNotFound()
    return kpi


def active_kpis(contract_id: int) -> list[ContractKpi]:
    """The contract's KPIs in the order they were added."""
    return list(
        db.session.scalars(
            sa.select(ContractKpi)
            .where(ContractKpi.contract_id == contract_id, ContractKpi.removed_at.is_(None))
            .order_by(ContractKpi.id)
        )
    )


def record(
    actor: User | None,
    entity_type: str,
    entity_id: int,
    action: str,
    contract_id: int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event in the contract's scope."""
    audit.record(
        actor,
        entity_type,
        entity_id,
        action,
        before=before,
        after=after,
        scope=f"contract:{contract_id}",
    )
