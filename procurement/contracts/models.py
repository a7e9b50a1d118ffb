"""Contracts awarded by buying rounds and tenders; call-off orders draw on them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, School, User, enum_column
from app.time import utcnow
from app.types import UTCDateTime


class ContractSource(StrEnum):
    ROUND = "round"
    TENDER = "tender"


class ContractStatus(StrEnum):
    PENDING = "pending"  # awarded, not yet entered into (e.g. in standstill)
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class Contract(Model):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    source: Mapped[ContractSource] = enum_column(ContractSource)
    # The buying round or tender that awarded it.
    source_id: Mapped[int | None]
    status: Mapped[ContractStatus] = enum_column(ContractStatus, default=ContractStatus.PENDING)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Units call-offs may draw down in total (None: not limited).
    capacity: Mapped[int | None]
    # Place in a framework (several contracts from one award for the same service): the
    # awarded bid's rank, 1 = best; schools direct-award by it. None when not ranked.
    framework_rank: Mapped[int | None]
    # The contract's maximum value in pence, excluding VAT, that call-offs may draw down in total
    # (None: no cap); see procurement.contracts.rules.Drawdown.
    value_pence: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Whether schools not taking part when it was awarded may call off under it (each call-off
    # then adds the school with no allocated units).
    open_to_new_schools: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The latest end date an approved extension may reach (None: the contract cannot be
    # extended). Tenders carry no such term yet, so the committee or the admin sets it.
    extension_allowed_until: Mapped[date | None]
    # Terminated early: from this day no call-off is priced under the contract.
    terminated_on: Mapped[date | None]
    termination_reason: Mapped[str | None] = mapped_column(sa.Text)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    provider: Mapped[Provider] = relationship()
    tiers: Mapped[list[ContractTier]] = relationship(
        back_populates="contract",
        order_by="ContractTier.min_quantity",
        cascade="all, delete-orphan",
    )
    schools: Mapped[list[ContractSchool]] = relationship(
        back_populates="contract", cascade="all, delete-orphan"
    )


class ContractTier(Model):
    __tablename__ = "contract_tiers"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "min_quantity", name="uq_contract_tiers_contract_min"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    min_quantity: Mapped[int]
    unit_price_pence: Mapped[int]

    contract: Mapped[Contract] = relationship(back_populates="tiers")


class ContractSchool(Model):
    """A school taking part in a contract: its allocated units and agreed charge."""

    __tablename__ = "contract_schools"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "school_id", name="uq_contract_schools_contract_school"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    allocated_quantity: Mapped[int] = mapped_column(default=0)
    unit_price_pence: Mapped[int | None]
    charge_pence: Mapped[int | None]
    # What the same units would have cost the school buying alone (None when not known):
    # charge_pence below it is the school's saving from buying together.
    standalone_pence: Mapped[int | None] = mapped_column(sa.BigInteger)

    contract: Mapped[Contract] = relationship(back_populates="schools")
    school: Mapped[School] = relationship()


class AmendmentKind(StrEnum):
    PRICE_INDEXATION = "price_indexation"  # a percentage on every price
    NEW_PRICES = "new_prices"  # a new price for each tier
    EXTENSION = "extension"  # a later end date
    VOLUME_CHANGE = "volume_change"  # a new capacity


AMENDMENT_PRICE_KINDS = frozenset({AmendmentKind.PRICE_INDEXATION, AmendmentKind.NEW_PRICES})


class AmendmentStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ContractAmendment(Model):
    """A change to a contract: proposed by one committee member or admin, applied only when a
    second one approves it; `before` and `after` keep what the approval changed."""

    __tablename__ = "contract_amendments"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "number", name="uq_contract_amendments_contract_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    number: Mapped[int]  # 1, 2, … within the contract
    kind: Mapped[AmendmentKind] = enum_column(AmendmentKind)
    status: Mapped[AmendmentStatus] = enum_column(AmendmentStatus, default=AmendmentStatus.PROPOSED)
    reason: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.String(500))
    effective_on: Mapped[date]
    # What is proposed, by kind: signed basis points (320 = +3.2%), the new tier prices
    # ([[min_quantity, pence], …]), the new end date, the new capacity.
    indexation_bp: Mapped[int | None]
    new_tiers: Mapped[list[list[int]] | None] = mapped_column(sa.JSON)
    new_ends_on: Mapped[date | None]
    new_capacity: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    # Tender contracts: the OCDS release (UK10) that published it, and the one before it.
    release_id: Mapped[str | None] = mapped_column(sa.String(80))
    amends_release_id: Mapped[str | None] = mapped_column(sa.String(80))

    contract: Mapped[Contract] = relationship()
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


from procurement.rounds import models as round_models  # noqa: E402,F401
from procurement.tenders import models as tender_models  # noqa: E402,F401
