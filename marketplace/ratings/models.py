"""A school's rating of one delivered order or one approved timesheet week, and the provider's
one public reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Provider
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer
from marketplace.ratings.rules import COMMENT_MAX, REPLY_MAX, SCORE_MAX, SCORE_MIN


def _score_check(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"{column} >= {SCORE_MIN} AND {column} <= {SCORE_MAX}", name=f"{column}_in_range"
    )


class Rating(Model):
    """Scores of 1 to 5 on quality, timeliness and communication for one piece of delivered
    work (an order, or a supply timesheet week), with an optional comment and the provider's
    reply. Shown to others without the school's or the rater's name."""

    __tablename__ = "ratings"
    __table_args__ = (
        _score_check("quality"),
        _score_check("timeliness"),
        _score_check("communication"),
        sa.CheckConstraint(
            "(order_id IS NULL) <> (timesheet_id IS NULL)", name="one_piece_of_work"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    # The catalogue service of an order; a supply timesheet has none.
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offers.id"), index=True)
    # A call-off's contract (the procurement register's table, named, never imported).
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    timesheet_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("supply_timesheets.id"), unique=True
    )
    quality: Mapped[int]
    timeliness: Mapped[int]
    communication: Mapped[int]
    comment: Mapped[str] = mapped_column(sa.String(COMMENT_MAX), default="")
    rated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reply: Mapped[str] = mapped_column(sa.String(REPLY_MAX), default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    provider: Mapped[Provider] = relationship()
    service: Mapped[Service | None] = relationship()
    offer: Mapped[Offer | None] = relationship()

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records (never the school's name: it is in the scope)."""
        return {
            "quality": self.quality,
            "timeliness": self.timeliness,
            "communication": self.communication,
            "comment": self.comment,
            "reply": self.reply,
        }
