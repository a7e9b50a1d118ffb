"""A contract's KPIs, providers' quarterly returns, and the committee's actions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import User, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from procurement.contracts.models import Contract
from procurement.kpis.rules import Direction, KpiKind, KpiSource, KpiUnit


class ContractKpi(Model):
    """One KPI of a contract and its target (hundredths: 95% is 9500, 4.0 out of 5 is 400).

    A removed KPI keeps its returns and actions (removed_at is set); it leaves the contract's
    table and is no longer checked.
    """

    __tablename__ = "contract_kpis"
    __table_args__ = (sa.CheckConstraint("target_hundredths >= 0", name="target_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    kind: Mapped[KpiKind] = enum_column(KpiKind)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[KpiUnit] = enum_column(KpiUnit)
    target_hundredths: Mapped[int] = mapped_column(sa.BigInteger)
    direction: Mapped[Direction] = enum_column(Direction, default=Direction.HIGHER)
    source: Mapped[KpiSource] = enum_column(KpiSource)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contract: Mapped[Contract] = relationship()

    def snapshot(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "unit": self.unit.value,
            "target_hundredths": self.target_hundredths,
            "direction": self.direction.value,
            "source": self.source.value,
        }


class KpiReturn(Model):
    """A provider's figure for one KPI and quarter ("2026-Q3"): one per KPI and quarter."""

    __tablename__ = "kpi_returns"
    __table_args__ = (
        sa.UniqueConstraint("kpi_id", "quarter", name="uq_kpi_returns_kpi_quarter"),
        sa.CheckConstraint("value_hundredths >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("contract_kpis.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    quarter: Mapped[str] = mapped_column(sa.String(7))
    value_hundredths: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    kpi: Mapped[ContractKpi] = relationship()
    submitted_by: Mapped[User | None] = relationship()


class ActionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class KpiAction(Model):
    """The committee's action on a KPI below its target in a quarter: raised once per KPI and
    quarter (the unique key), closed with a note."""

    __tablename__ = "kpi_actions"
    __table_args__ = (sa.UniqueConstraint("kpi_id", "quarter", name="uq_kpi_actions_kpi_quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("contract_kpis.id"), index=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    quarter: Mapped[str] = mapped_column(sa.String(7))
    # The figure and target when it was raised.
    value_hundredths: Mapped[int] = mapped_column(sa.BigInteger)
    target_hundredths: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[ActionStatus] = enum_column(ActionStatus, default=ActionStatus.OPEN, index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    kpi: Mapped[ContractKpi] = relationship()
    contract: Mapped[Contract] = relationship()
    closed_by: Mapped[User | None] = relationship()
