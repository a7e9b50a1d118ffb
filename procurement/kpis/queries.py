"""What other parts read of contract KPIs: a contract's KPIs quarter by quarter, its overall
status (for the renewal pipeline) and a provider's KPI history (for tender evaluators)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.time import london_today
from procurement.contracts.models import Contract, ContractStatus
from procurement.kpis import figures, rules
from procurement.kpis.access import active_kpis
from procurement.kpis.models import ContractKpi
from procurement.kpis.rules import KpiStatus, Quarter


@dataclass(frozen=True)
class QuarterResult:
    quarter: Quarter
    value: int | None  # hundredths; None: no data
    figure: str
    status: KpiStatus


@dataclass(frozen=True)
class KpiRow:
    kpi: ContractKpi
    target: str
    source_text: str
    results: list[QuarterResult]

    @property
    def met(self) -> int:
        return sum(r.status is KpiStatus.MET for r in self.results)

    @property
    def below(self) -> int:
        return sum(r.status is KpiStatus.BELOW for r in self.results)


def kpi_rows(
    contract: Contract, quarters: list[Quarter], today: date, kpis: list[ContractKpi] | None = None
) -> list[KpiRow]:
    """Each KPI of the contract with its figure and status in each quarter."""
    kpis = active_kpis(contract.id) if kpis is None else kpis
    found = figures.figures(contract, kpis, quarters, today)
    rows = []
    for kpi in kpis:
        results = []
        for quarter in quarters:
            value = found[(kpi.id, quarter.key)]
            results.append(
                QuarterResult(
                    quarter=quarter,
                    value=value,
                    figure=rules.format_value(value, kpi.unit),
                    status=rules.status(value, kpi.target_hundredths, kpi.direction),
                )
            )
        rows.append(
            KpiRow(
                kpi=kpi,
                target=rules.format_target(kpi.target_hundredths, kpi.unit, kpi.direction),
                source_text=rules.SOURCE_TEXT[kpi.source],
                results=results,
            )
        )
    return rows


def contract_quarters(contract: Contract, today: date) -> list[Quarter]:
    """The contract's last four quarters that have begun by today, oldest first."""
    return rules.quarters_of(contract.starts_on, contract.ends_on, today)


def kpi_status_for_contract(contract_id: int, today: date | None = None) -> str:
    """ "met", "below" or "no data": the contract's KPIs in the latest quarter that has ended
    by `today` (and in which the contract ran). Below when any KPI is below its target, met when
    none is and at least one has a figure, else no data (a contract with no KPIs, no quarter
    ended yet, or no figures)."""
    today = today or london_today()
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        return KpiStatus.NO_DATA.value
    quarter = Quarter.containing(today).previous()
    if quarter.ends_on < contract.starts_on or quarter.starts_on > contract.ends_on:
        return KpiStatus.NO_DATA.value
    rows = kpi_rows(contract, [quarter], today)
    return rules.overall([row.results[0].status for row in rows]).value


@dataclass(frozen=True)
class ContractHistory:
    contract: Contract
    quarters: list[Quarter]
    rows: list[KpiRow]

    @property
    def met(self) -> int:
        return sum(row.met for row in self.rows)

    @property
    def below(self) -> int:
        return sum(row.below for row in self.rows)


def kpi_history_for_provider(provider_id: int, today: date | None = None) -> list[ContractHistory]:
    """The provider's contracts that have KPIs, latest first, with each KPI's last four
    quarters (for evaluators of its bids: information, not scored)."""
    today = today or london_today()
    contracts = db.session.scalars(
        sa.select(Contract)
        .where(
            Contract.provider_id == provider_id,
            Contract.status != ContractStatus.PENDING,
            Contract.starts_on <= today,
            sa.select(ContractKpi.id)
            .where(ContractKpi.contract_id == Contract.id, ContractKpi.removed_at.is_(None))
            .exists(),
        )
        .order_by(Contract.starts_on.desc(), Contract.id.desc())
    ).all()
    history = []
    for contract in contracts:
        quarters = contract_quarters(contract, today)
        history.append(ContractHistory(contract, quarters, kpi_rows(contract, quarters, today)))
    return history
