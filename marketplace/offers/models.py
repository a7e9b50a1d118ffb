"""Providers' offers: a price for a service with all-units volume tiers and capacity per term."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service


class OfferStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    WITHDRAWN = "withdrawn"


class Offer(Model):
    """A provider's price for a service: all-units volume tiers, capacity per term, rules."""

    __tablename__ = "offers"
    __table_args__ = (
        sa.CheckConstraint(
            "non_member_uplift_bp >= 0 AND non_member_uplift_bp <= 10000",
            name="uplift_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[OfferStatus] = enum_column(OfferStatus, default=OfferStatus.DRAFT)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    lead_time_days: Mapped[int] = mapped_column(default=10)
    # Cancellation: notice needed (days before the term starts) and the admin charge kept
    # from a pro-rata refund, in basis points of the order value.
    notice_days: Mapped[int] = mapped_column(default=0)
    cancellation_charge_bp: Mapped[int] = mapped_column(default=0)
    notice_rules: Mapped[str] = mapped_column(sa.Text, default="")
    # Areas served (empty = the whole partnership) and schools the offer excludes.
    areas: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    excluded_school_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    min_quantity: Mapped[int] = mapped_column(default=1)
    setup_pence: Mapped[int] = mapped_column(default=0)
    # What a school that is not a member that academic year pays on top of each tier's price,
    # in basis points (1,000 = 10%); members pay the tier prices. Zero when the tiers carry
    # their own non-member prices instead (OfferTier.non_member_unit_price_pence).
    non_member_uplift_bp: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider: Mapped[Provider] = relationship()
    service: Mapped[Service] = relationship(back_populates="offers")
    tiers: Mapped[list[OfferTier]] = relationship(
        back_populates="offer", order_by="OfferTier.min_quantity", cascade="all, delete-orphan"
    )
    capacities: Mapped[list[OfferCapacity]] = relationship(
        back_populates="offer", order_by="OfferCapacity.term_key", cascade="all, delete-orphan"
    )


class OfferTier(Model):
    """From `min_quantity` units up, every unit costs `unit_price_pence` (all-units)."""

    __tablename__ = "offer_tiers"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "min_quantity", name="uq_offer_tiers_offer_min"),
        sa.CheckConstraint("min_quantity >= 0", name="min_not_negative"),
        sa.CheckConstraint("unit_price_pence >= 0", name="price_not_negative"),
        sa.CheckConstraint(
            "non_member_unit_price_pence IS NULL "
            "OR non_member_unit_price_pence >= unit_price_pence",
            name="non_member_not_below_member",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    min_quantity: Mapped[int]
    unit_price_pence: Mapped[int]
    # The provider's own price for a school that is not a member (None: the offer's uplift).
    non_member_unit_price_pence: Mapped[int | None] = mapped_column(default=None)

    offer: Mapped[Offer] = relationship(back_populates="tiers")


class OfferCapacity(Model):
    """Units an offer can deliver in one term and how many are already reserved."""

    __tablename__ = "offer_capacities"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "term_key", name="uq_offer_capacities_offer_term"),
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        sa.CheckConstraint("reserved <= capacity", name="never_oversold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    term_key: Mapped[str] = mapped_column(sa.String(20))  # app.calendar.Term.key
    capacity: Mapped[int]
    reserved: Mapped[int] = mapped_column(default=0)

    offer: Mapped[Offer] = relationship(back_populates="capacities")

    @property
    def left(self) -> int:
        return self.capacity - self.reserved
