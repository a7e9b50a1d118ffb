"""Mini-competitions: a school's sealed quote request among a framework's suppliers.

A framework is the group of contracts one tender (or buying round) awarded for the same
service to several providers: `Contract.source`, `source_id` and `service_id` alike, ranked by
`Contract.framework_rank` (1 = best). A mini-competition invites each supplier's contract
(one `MiniCompetitionQuote` row per contract, status "invited" until it quotes); quotes stay
sealed until the school opens them after the deadline; the award becomes a call-off order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, School, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service
from procurement.contracts.models import Contract, ContractSource


class MiniCompetitionStatus(StrEnum):
    OPEN = "open"  # taking quotes until the deadline (then "closed": waiting to be opened)
    OPENED = "opened"  # quotes opened: set aside non-compliant ones, score quality, award
    AWARDED = "awarded"  # the winner's call-off order is placed
    UNSUCCESSFUL = "unsuccessful"  # no compliant quote to award
    CANCELLED = "cancelled"  # withdrawn by the school before opening; quotes discarded unseen


class AwardMethod(StrEnum):
    LOWEST_PRICE = "lowest_price"
    WEIGHTED = "weighted"


class QuoteStatus(StrEnum):
    INVITED = "invited"  # asked to quote, has not (or withdrew and did not quote again)
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class MiniCompetition(Model):
    __tablename__ = "mini_competitions"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "price_weight >= 0 AND quality_weight >= 0 AND price_weight + quality_weight = 100",
            name="weights_add_up",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The school the call-off is for (a trust user or the committee may run it on its behalf).
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    # The framework: contracts with this source, source_id and service.
    source: Mapped[ContractSource] = enum_column(ContractSource)
    source_id: Mapped[int | None]
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    requirement: Mapped[str] = mapped_column(sa.Text)
    quantity: Mapped[int]
    term_key: Mapped[str] = mapped_column(sa.String(20))
    po_number: Mapped[str] = mapped_column(sa.String(60))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    award_method: Mapped[AwardMethod] = enum_column(AwardMethod)
    price_weight: Mapped[int] = mapped_column(default=100)
    quality_weight: Mapped[int] = mapped_column(default=0)
    status: Mapped[MiniCompetitionStatus] = enum_column(
        MiniCompetitionStatus, default=MiniCompetitionStatus.OPEN, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    # How the winner was chosen, ties included, as the school and the suppliers read it.
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    school: Mapped[School] = relationship()
    service: Mapped[Service] = relationship()
    quotes: Mapped[list[MiniCompetitionQuote]] = relationship(
        back_populates="mini_competition",
        foreign_keys="MiniCompetitionQuote.mini_competition_id",
        order_by="MiniCompetitionQuote.id",
    )

    @property
    def reference(self) -> str:
        return f"MC-{self.id:04d}"


class MiniCompetitionQuote(Model):
    """One invited supplier (by its framework contract) and its sealed quote."""

    __tablename__ = "mini_competition_quotes"
    __table_args__ = (
        sa.UniqueConstraint(
            "mini_competition_id", "contract_id", name="uq_mini_competition_quotes_contract"
        ),
        sa.CheckConstraint(
            "unit_price_pence IS NULL OR unit_price_pence > 0", name="price_positive"
        ),
        sa.CheckConstraint(
            "quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 100)",
            name="quality_within_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mini_competition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mini_competitions.id"), index=True
    )
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    framework_rank: Mapped[int | None]
    status: Mapped[QuoteStatus] = enum_column(QuoteStatus, default=QuoteStatus.INVITED)
    unit_price_pence: Mapped[int | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    declared_compliant: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After opening: the school's reason for setting the quote aside as not compliant.
    set_aside_reason: Mapped[str] = mapped_column(sa.Text, default="")
    quality_score: Mapped[int | None]
    # Filled by the award: place among the compliant quotes, and the weighted total.
    rank: Mapped[int | None]
    score_hundredths: Mapped[int | None]

    mini_competition: Mapped[MiniCompetition] = relationship(
        back_populates="quotes", foreign_keys=[mini_competition_id]
    )
    contract: Mapped[Contract] = relationship()
    provider: Mapped[Provider] = relationship()

    @property
    def compliant(self) -> bool:
        """Submitted with the declaration of compliance, and not set aside."""
        return (
            self.status is QuoteStatus.SUBMITTED
            and self.declared_compliant
            and not self.set_aside_reason
        )
