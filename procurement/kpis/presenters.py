"""The KPI section of a contract's page: the table's rows and each KPI's small chart, worked
out here so the template only draws."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.models import PARTNERSHIP_ROLES, Role, User
from procurement.contracts.models import Contract
from procurement.kpis import rules
from procurement.kpis.actions import ActionRow, action_rows
from procurement.kpis.models import ContractKpi
from procurement.kpis.queries import KpiRow, contract_quarters, kpi_rows
from procurement.kpis.rules import KpiSource, KpiStatus, KpiUnit

WIDTH, HEIGHT, PAD = 120, 36, 5


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    status: KpiStatus


@dataclass(frozen=True)
class Sparkline:
    """A KPI's figures over its quarters as points joined by a line, with its target dashed."""

    width: int
    height: int
    line: str  # SVG polyline points, "" for fewer than two figures
    dots: list[Dot]
    target_y: float
    description: str


def _scale_top(kpi: ContractKpi, values: list[int]) -> int:
    if kpi.unit is KpiUnit.COUNT:
        return max([kpi.target_hundredths, *values, 100]) * 5 // 4
    return rules.MAXIMUM[kpi.unit]


def sparkline(row: KpiRow) -> Sparkline:
    """The geometry of one KPI's chart: x by quarter, y from 0 to the unit's maximum."""
    kpi = row.kpi
    values = [r.value for r in row.results if r.value is not None]
    top = _scale_top(kpi, values)
    count = max(len(row.results), 1)
    step = (WIDTH - 2 * PAD) / max(count - 1, 1)

    def y(value: int) -> float:
        return round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * min(value, top) / top, 1)

    dots = [
        Dot(round(PAD + i * step, 1), y(r.value), r.status)
        for i, r in enumerate(row.results)
        if r.value is not None
    ]
    line = " ".join(f"{d.x},{d.y}" for d in dots) if len(dots) >= 2 else ""
    described = ", ".join(f"{r.quarter.short_label}: {r.figure}" for r in row.results)
    return Sparkline(
        width=WIDTH,
        height=HEIGHT,
        line=line,
        dots=dots,
        target_y=y(kpi.target_hundredths),
        description=f"{kpi.name}, target {row.target}. {described or 'No quarters yet'}.",
    )


@dataclass(frozen=True)
class ContractKpis:
    contract: Contract
    quarters: list[rules.Quarter]
    rows: list[KpiRow]
    charts: dict[int, Sparkline]
    actions: list[ActionRow]
    can_edit: bool
    can_return: bool
    overall: KpiStatus


def contract_kpis(contract: Contract, user: User, today: date) -> ContractKpis:
    """The contract's KPIs for this reader: everyone who sees the contract sees its KPIs (their
    performance is published); the committee and the office also see its actions and change
    its KPIs; its provider makes the returns."""
    quarters = contract_quarters(contract, today)
    rows = kpi_rows(contract, quarters, today)
    partnership = user.role in PARTNERSHIP_ROLES
    own_provider = user.role is Role.PROVIDER and user.provider_id == contract.provider_id
    recent = quarters[-1:] if quarters else []
    return ContractKpis(
        contract=contract,
        quarters=quarters,
        rows=rows,
        charts={row.kpi.id: sparkline(row) for row in rows},
        actions=action_rows(contract.id) if partnership else [],
        can_edit=partnership,
        can_return=own_provider
        and any(row.kpi.source is KpiSource.PROVIDER_RETURN for row in rows),
        overall=rules.overall([row.results[-1].status for row in rows if recent]),
    )
