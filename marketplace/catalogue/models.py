"""The catalogue: categories and services (kind core or traded, unit, VAT treatment), all data
the admin keeps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import enum_column
from app.time import utcnow
from app.types import UTCDateTime

if TYPE_CHECKING:
    from marketplace.offers.models import Offer


class ServiceKind(StrEnum):
    CORE = "core"  # included in the subscription
    TRADED = "traded"  # bought on top


class ServiceCategory(Model):
    """A heading of the catalogue (counselling, HR, supply staff…): data the admin keeps. A
    retired category takes no new services; its services and their history stay."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    services: Mapped[list[Service]] = relationship(back_populates="category")

    @property
    def label(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ServiceCategory {self.slug}>"


class Unit(StrEnum):
    DAY = "day"
    HOUR = "hour"
    SESSION = "session"
    ECT = "ECT"
    PUPIL = "pupil"
    MEETING = "meeting"
    PACKAGE = "package"
    STAFF_HEAD = "staff head"
    PAYSLIP = "payslip"
    VISIT = "visit"


class VatTreatment(StrEnum):
    STANDARD = "standard"  # 20%
    EXEMPT = "exempt"  # education and welfare services between eligible bodies
    ZERO = "zero"
    OUTSIDE_SCOPE = "outside-scope"

    @property
    def rate_bp(self) -> int:
        return 2000 if self is VatTreatment.STANDARD else 0


class Service(Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[ServiceKind] = enum_column(ServiceKind)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("service_categories.id"), index=True)
    unit: Mapped[Unit] = enum_column(Unit)
    vat: Mapped[VatTreatment] = enum_column(VatTreatment, default=VatTreatment.EXEMPT)
    # For a core service: what the subscription includes (e.g. "one visit and report a year").
    includes: Mapped[str] = mapped_column(sa.Text, default="")
    # False once retired: the history stays, but no new offers or orders.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[ServiceCategory] = relationship(back_populates="services", lazy="selectin")
    offers: Mapped[list[Offer]] = relationship(back_populates="service")

    @property
    def retired(self) -> bool:
        return not self.active
