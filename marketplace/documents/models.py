"""The finance code (CFR code or cost centre) a school gives each service it buys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.time import utcnow
from app.types import UTCDateTime


class ServiceFinanceCode(Model):
    """One school's code for one service, e.g. E27 (bought-in professional services)."""

    __tablename__ = "service_finance_codes"
    __table_args__ = (sa.UniqueConstraint("school_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"))
    code: Mapped[str] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
