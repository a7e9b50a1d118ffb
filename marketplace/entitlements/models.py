"""What a year's membership includes of the core services."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import MembershipTerm
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service


class Entitlement(Model):
    """What one year's membership includes of a core service, e.g. two peer-review days."""

    __tablename__ = "entitlements"
    __table_args__ = (
        sa.UniqueConstraint("term_id", "service_id", name="uq_entitlements_term_service"),
        sa.CheckConstraint("included_quantity >= 0", name="included_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("membership_terms.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"), index=True)
    included_quantity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    term: Mapped[MembershipTerm] = relationship()
    service: Mapped[Service] = relationship()
