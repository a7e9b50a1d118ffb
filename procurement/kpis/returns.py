"""Providers' quarterly returns for the KPIs Pooled cannot work out itself.

A return is one figure (and a note) per KPI and quarter. The provider of the contract makes it
from the quarter's first day and may change it until the quarter's return deadline (20 working
days after the quarter ends, procurement.kpis.rules); after that it is locked. A figure below
target raises the committee's action at once (once per KPI and quarter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Role, User
from app.time import format_date, london_today, utcnow
from app.use_case import use_case
from procurement.contracts.models import Contract, ContractStatus
from procurement.kpis import rules
from procurement.kpis.access import get_kpi_for_provider, record
from procurement.kpis.actions import raise_if_below
from procurement.kpis.errors import InvalidKpi, KpiNotAllowed, KpiStateConflict, ReturnLocked
from procurement.kpis.figures import returns_for
from procurement.kpis.models import ContractKpi, KpiReturn
from procurement.kpis.rules import KpiSource, Quarter

NOTE_MAX = 2_000


def parse_quarter(key: str) -> Quarter:
    try:
        return Quarter.parse(key)
    except ValueError as exc:
        raise InvalidKpi(str(exc), field="quarter") from None


def check_quarter(kpi: ContractKpi, quarter: Quarter, today: date) -> None:
    """Refuse a quarter outside the contract, or whose return is not open today."""
    contract = kpi.contract
    if quarter.ends_on < contract.starts_on or quarter.starts_on > contract.ends_on:
        raise InvalidKpi(
            f"Contract {contract.reference} does not run in {quarter.label}.", field="quarter"
        )
    if today < quarter.starts_on:
        raise ReturnLocked(
            f"The return for {quarter.label} opens on {format_date(quarter.starts_on)}."
        )
    if today > quarter.return_deadline:
        raise ReturnLocked(
            f"The return for {quarter.label} was due by {format_date(quarter.return_deadline)}; "
            "it is locked now. Contact the partnership office to correct it."
        )


@use_case
def submit_return(
    kpi_id: int,
    quarter_key: str,
    value: str,
    note: str,
    actor: User,
    *,
    today: date | None = None,
    now: datetime | None = None,
) -> KpiReturn:
    """The contract's provider returns (or changes) its figure for a KPI and quarter."""
    today = today or london_today()
    now = now or utcnow()
    if actor.role is not Role.PROVIDER:
        raise KpiNotAllowed("Only the contract’s provider makes its KPI returns.")
    kpi = get_kpi_for_provider(kpi_id, actor.provider_id)
    if kpi.source is not KpiSource.PROVIDER_RETURN:
        raise KpiStateConflict(f"Pooled works out “{kpi.name}” itself: there is no return to make.")
    quarter = parse_quarter(quarter_key)
    check_quarter(kpi, quarter, today)
    try:
        figure = rules.parse_value(value, kpi.unit)
    except ValueError as exc:
        raise InvalidKpi(str(exc), field="value") from None
    text = note.strip()
    if len(text) > NOTE_MAX:
        raise InvalidKpi(f"Keep the note to {NOTE_MAX:,} characters", field="note")
    found = sa.select(KpiReturn).where(KpiReturn.kpi_id == kpi.id, KpiReturn.quarter == quarter.key)
    row = db.session.scalar(found.with_for_update())
    before = None if row is None else {"value_hundredths": row.value_hundredths, "note": row.note}
    if row is None:
        row = KpiReturn(
            kpi_id=kpi.id,
            provider_id=kpi.contract.provider_id,
            quarter=quarter.key,
            value_hundredths=figure,
            note=text,
            submitted_by_id=actor.id,
            submitted_at=now,
            updated_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # made at the same moment by a colleague: change theirs
            row = db.session.scalars(found.with_for_update()).one()
    row.value_hundredths = figure
    row.note = text
    row.submitted_by_id = actor.id
    row.updated_at = now
    db.session.flush()
    record(
        actor,
        "kpi_return",
        row.id,
        "returned",
        kpi.contract_id,
        before=before,
        after={"quarter": quarter.key, "value_hundredths": figure},
    )
    raise_if_below(kpi, quarter, figure, now)
    db.session.commit()
    return row


@dataclass(frozen=True)
class DueReturn:
    kpi: ContractKpi
    contract: Contract
    quarter: Quarter
    returned: KpiReturn | None
    figure: str
    target: str


def open_quarters(today: date) -> list[Quarter]:
    """The quarters whose returns can be made today: this one, and the last until its deadline."""
    current = Quarter.containing(today)
    previous = current.previous()
    return [previous, current] if rules.return_open(previous, today) else [current]


def returns_due(provider_id: int, today: date) -> list[DueReturn]:
    """The provider's returns that can be made or changed today, by contract and quarter."""
    quarters = open_quarters(today)
    kpis = list(
        db.session.scalars(
            sa.select(ContractKpi)
            .join(Contract, Contract.id == ContractKpi.contract_id)
            .where(
                Contract.provider_id == provider_id,
                Contract.status.in_([ContractStatus.ACTIVE, ContractStatus.EXPIRED]),
                ContractKpi.source == KpiSource.PROVIDER_RETURN,
                ContractKpi.removed_at.is_(None),
            )
            .options(selectinload(ContractKpi.contract))
            .order_by(Contract.reference, ContractKpi.id)
        )
    )
    returned = returns_for([k.id for k in kpis], quarters)
    rows = []
    for kpi in kpis:
        contract = kpi.contract
        for quarter in quarters:
            if quarter.ends_on < contract.starts_on or quarter.starts_on > contract.ends_on:
                continue
            row = returned.get((kpi.id, quarter.key))
            rows.append(
                DueReturn(
                    kpi=kpi,
                    contract=contract,
                    quarter=quarter,
                    returned=row,
                    figure=rules.format_value(row.value_hundredths if row else None, kpi.unit),
                    target=rules.format_target(kpi.target_hundredths, kpi.unit, kpi.direction),
                )
            )
    return rows


def return_for(kpi: ContractKpi, quarter: Quarter) -> KpiReturn | None:
    return returns_for([kpi.id], [quarter]).get((kpi.id, quarter.key))
