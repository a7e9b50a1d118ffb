"""What schools are told: round notices (an award, a cancellation) and the school home
page's panel of rounds open for pledges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import User
from app.time import utcnow
from app.use_case import use_case
from procurement.rounds.errors import NoticeNotFound
from procurement.rounds.models import BuyingRound, Pledge, RoundNotice, RoundService, RoundStatus


def unread_notices(school_id: int) -> list[RoundNotice]:
    return list(
        db.session.scalars(
            sa.select(RoundNotice)
            .where(RoundNotice.school_id == school_id, RoundNotice.read_at.is_(None))
            .order_by(RoundNotice.created_at.desc(), RoundNotice.id.desc())
        )
    )


def notices_for_round(round_id: int, school_id: int) -> list[RoundNotice]:
    return list(
        db.session.scalars(
            sa.select(RoundNotice)
            .where(RoundNotice.round_id == round_id, RoundNotice.school_id == school_id)
            .order_by(RoundNotice.created_at.desc(), RoundNotice.id.desc())
        )
    )


@use_case
def mark_notice_read(
    notice_id: int, school_id: int, actor: User, now: datetime | None = None
) -> None:
    """The school has seen a notice; it leaves the home page."""
    notice = db.session.scalar(
        sa.select(RoundNotice).where(
            RoundNotice.id == notice_id, RoundNotice.school_id == school_id
        )
    )
    if notice is None:
        raise NoticeNotFound("There is no such notice.")
    if notice.read_at is None:
        notice.read_at = now or utcnow()
        notice.read_by_id = actor.id
        audit.record(actor, "round_notice", notice.id, "read", scope=f"school:{school_id}")
        db.session.commit()


@dataclass(frozen=True)
class HomeRound:
    round: BuyingRound
    services: list[str]
    pledged_units: int
    deadline_at: datetime


@dataclass(frozen=True)
class HomePanel:
    open_rounds: list[HomeRound]
    notices: list[RoundNotice]


def home_panel(school_id: int, now: datetime | None = None) -> HomePanel:
    """Rounds open for pledges (with what the school has pledged) and unread notices."""
    now = now or utcnow()
    open_rounds = list(
        db.session.scalars(
            sa.select(BuyingRound)
            .where(BuyingRound.status == RoundStatus.OPEN, BuyingRound.pledge_deadline_at > now)
            .options(selectinload(BuyingRound.services).selectinload(RoundService.service))
            .order_by(BuyingRound.pledge_deadline_at, BuyingRound.id)
        )
    )
    pledged = {
        round_id: int(units or 0)
        for round_id, units in db.session.execute(
            sa.select(Pledge.round_id, sa.func.sum(Pledge.quantity))
            .where(
                Pledge.school_id == school_id,
                Pledge.withdrawn_at.is_(None),
                Pledge.round_id.in_([r.id for r in open_rounds]),
            )
            .group_by(Pledge.round_id)
        )
    }
    return HomePanel(
        open_rounds=[
            HomeRound(
                r,
                sorted(rs.service.name for rs in r.services),
                int(pledged.get(r.id) or 0),
                r.pledge_deadline_at,
            )
            for r in open_rounds
        ],
        notices=unread_notices(school_id),
    )
