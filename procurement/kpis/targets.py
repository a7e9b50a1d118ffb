"""Setting a contract's KPIs: the standard ones when it is entered into, and the committee's
(or partnership office's) additions, changes and removals. Each use case commits once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.time import utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service, ServiceCategory
from procurement.contracts.models import Contract
from procurement.kpis import rules
from procurement.kpis.access import active_kpis, get_contract, get_kpi, record, require_partnership
from procurement.kpis.errors import InvalidKpi, KpiStateConflict
from procurement.kpis.models import ContractKpi
from procurement.kpis.rules import Direction, KpiKind, KpiSource, KpiUnit

NAME_MAX = 200
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class KpiInput:
    kind: str
    name: str
    unit: str
    target: str
    direction: str
    source: str


def _is_supply_staff(service_id: int) -> bool:
    slug = db.session.scalar(
        sa.select(ServiceCategory.slug)
        .join(Service, Service.category_id == ServiceCategory.id)
        .where(Service.id == service_id)
    )
    return slug == rules.SUPPLY_CATEGORY


def install_default_kpis(contracts: list[Contract]) -> int:
    """Give each newly entered contract the standard KPIs (rules.default_kpis), in the caller's
    transaction (the award use cases call it before they commit); how many were added."""
    added = 0
    for contract in contracts:
        for spec in rules.default_kpis(_is_supply_staff(contract.service_id)):
            db.session.add(
                ContractKpi(
                    contract_id=contract.id,
                    kind=spec.kind,
                    name=spec.name,
                    unit=spec.unit,
                    target_hundredths=spec.target,
                    direction=spec.direction,
                    source=spec.source,
                )
            )
            added += 1
    db.session.flush()
    return added


@use_case
def add_standard_kpis(contract_id: int, actor: User) -> int:
    """The standard KPIs for a contract that has none (one entered into before KPIs existed)."""
    require_partnership(actor, "set a contract’s KPIs")
    contract = get_contract(contract_id)
    if active_kpis(contract.id):
        raise KpiStateConflict(f"Contract {contract.reference} already has KPIs.")
    added = install_default_kpis([contract])
    record(actor, "contract", contract.id, "standard_kpis", contract.id, after={"kpis": added})
    db.session.commit()
    return added


def _choice(enum: type[E], text: str, field: str, message: str) -> E:
    try:
        return enum(text)
    except ValueError:
        raise InvalidKpi(message, field=field) from None


def _values(data: KpiInput) -> dict[str, object]:
    kind = _choice(KpiKind, data.kind, "kind", "Choose what the KPI measures")
    unit = _choice(KpiUnit, data.unit, "unit", "Choose the unit the KPI is measured in")
    direction = _choice(Direction, data.direction, "direction", "Choose which way is better")
    source = _choice(KpiSource, data.source, "source", "Choose where the figures come from")
    name = " ".join(data.name.split())
    if not name:
        raise InvalidKpi("Enter the KPI’s name", field="name")
    if len(name) > NAME_MAX:
        raise InvalidKpi(f"Keep the name to {NAME_MAX} characters", field="name")
    problem = rules.check_kpi(kind, unit, source)
    if problem is not None:
        raise InvalidKpi(problem[1], field=problem[0])
    try:
        target = rules.parse_value(data.target, unit)
    except ValueError as exc:
        raise InvalidKpi(f"Target: {exc}", field="target") from None
    return {
        "kind": kind,
        "name": name,
        "unit": unit,
        "target_hundredths": target,
        "direction": direction,
        "source": source,
    }


def _named_twice(contract_id: int, name: str, kpi_id: int | None) -> None:
    for other in active_kpis(contract_id):
        if other.id != kpi_id and other.name.casefold() == name.casefold():
            raise InvalidKpi(f"This contract already has a KPI called “{name}”", field="name")


@use_case
def add_kpi(contract_id: int, data: KpiInput, actor: User) -> ContractKpi:
    """Add a KPI with its target to a contract."""
    require_partnership(actor, "set a contract’s KPIs")
    contract = get_contract(contract_id)
    values = _values(data)
    _named_twice(contract.id, str(values["name"]), None)
    kpi = ContractKpi(contract_id=contract.id, **values)
    db.session.add(kpi)
    db.session.flush()
    record(actor, "contract_kpi", kpi.id, "added", contract.id, after=kpi.snapshot())
    db.session.commit()
    return kpi


@use_case
def update_kpi(contract_id: int, kpi_id: int, data: KpiInput, actor: User) -> ContractKpi:
    """Change a KPI or its target. Its past quarters are judged against the new target; actions
    already raised stay as they are."""
    require_partnership(actor, "set a contract’s KPIs")
    kpi = get_kpi(contract_id, kpi_id)
    values = _values(data)
    _named_twice(contract_id, str(values["name"]), kpi.id)
    before = kpi.snapshot()
    for name, value in values.items():
        setattr(kpi, name, value)
    db.session.flush()
    record(
        actor, "contract_kpi", kpi.id, "changed", contract_id, before=before, after=kpi.snapshot()
    )
    db.session.commit()
    return kpi


@use_case
def remove_kpi(contract_id: int, kpi_id: int, actor: User, now: datetime | None = None) -> None:
    """Remove a KPI (its returns and actions stay on record); a contract keeps three at least."""
    require_partnership(actor, "set a contract’s KPIs")
    kpi = get_kpi(contract_id, kpi_id)
    if len(active_kpis(contract_id)) <= rules.MINIMUM_KPIS:
        raise KpiStateConflict(
            f"A contract keeps at least {rules.MINIMUM_KPIS} KPIs: add another before removing "
            f"“{kpi.name}”, or change it instead."
        )
    kpi.removed_at = now or utcnow()
    record(actor, "contract_kpi", kpi.id, "removed", contract_id, before=kpi.snapshot())
    db.session.commit()
