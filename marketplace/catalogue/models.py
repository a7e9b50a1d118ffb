"""The catalogue: services, their kind (core or traded), category, unit and VAT treatment."""

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


class Category(StrEnum):
    GOVERNANCE = "governance"
    ECT = "ect"
    COUNSELLING = "counselling"
    SPEECH_LANGUAGE = "speech-language"
    EDUCATIONAL_PSYCHOLOGY = "educational-psychology"
    SUPPLY = "supply"
    HR = "hr"
    PAYROLL = "payroll"
    INSURANCE = "insurance"
    DATA_ASSESSMENT = "data-assessment"
    CPD = "cpd"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.GOVERNANCE: "Governor support and clerking",
    Category.ECT: "ECT appropriate body",
    Category.COUNSELLING: "Counselling",
    Category.SPEECH_LANGUAGE: "Speech and language therapy",
    Category.EDUCATIONAL_PSYCHOLOGY: "Educational psychology",
    Category.SUPPLY: "Supply staff",
    Category.HR: "HR",
    Category.PAYROLL: "Payroll",
    Category.INSURANCE: "Insurance",
    Category.DATA_ASSESSMENT: "Data and assessment",
    Category.CPD: "CPD and peer review",
}


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
    category: Mapped[Category] = enum_column(Category)
    unit: Mapped[Unit] = enum_column(Unit)
    vat: Mapped[VatTreatment] = enum_column(VatTreatment, default=VatTreatment.EXEMPT)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    offers: Mapped[list[Offer]] = relationship(back_populates="service")
