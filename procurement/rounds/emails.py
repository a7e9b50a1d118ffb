"""Who is emailed about a buying round: SBMs of member schools when it opens; those whose
school has not pledged 3 days and 1 day before it closes; each participating school when it is
awarded (its call-offs, charge and saving) or cancelled. The same events show in each person's
notification list (app.notifications)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, School, User
from app.money import format_pence
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_instant, london_date, utcnow
from app.use_case import use_case
from procurement.rounds.models import BuyingRound, Pledge, RoundStatus

REMINDER_DAYS = (3, 1)


def school_staff(school_ids: Iterable[int], roles: Iterable[Role] = (Role.SBM,)) -> list[User]:
    ids = list(school_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.school_id.in_(ids), User.role.in_(list(roles)), User.active.is_(True))
            .order_by(User.id)
        )
    )


def _pledging_schools() -> sa.Select[Any]:
    """Schools that can pledge: the partnership's members."""
    return sa.select(School.id).where(School.is_member.is_(True))


def _services(buying_round: BuyingRound) -> str:
    return ", ".join(sorted(rs.service.name for rs in buying_round.services))


def round_opened(buying_round: BuyingRound) -> None:
    """Tell the SBMs of every school that can pledge."""
    sbms = school_staff(db.session.scalars(_pledging_schools()))
    notify(
        "round_opened",
        sbms,
        event=f"round-{buying_round.id}-opened",
        template="round_opened",
        subject=f"Buying round open: {buying_round.title}",
        link=link("procurement.round_detail", round_id=buying_round.id),
        about=("round", buying_round.id),
        summary=f"Pledge by {format_instant(buying_round.pledge_deadline_at)}",
        round=buying_round,
        services=_services(buying_round),
        deadline=format_instant(buying_round.pledge_deadline_at),
    )


@use_case
def send_closing_reminders(now: datetime | None = None) -> int:
    """Every morning: for open rounds closing in 3 days or 1 day (London dates), remind SBMs
    of member schools that have not pledged; how many people. Once per round and day count."""
    now = now or utcnow()
    today = london_date(now)
    rounds = db.session.scalars(
        sa.select(BuyingRound)
        .where(BuyingRound.status == RoundStatus.OPEN, BuyingRound.pledge_deadline_at > now)
        .order_by(BuyingRound.id)
    ).all()
    told = 0
    for buying_round in rounds:
        days = (london_date(buying_round.pledge_deadline_at) - today).days
        if days not in REMINDER_DAYS:
            continue
        pledged = sa.select(Pledge.school_id).where(
            Pledge.round_id == buying_round.id, Pledge.withdrawn_at.is_(None)
        )
        schools = db.session.scalars(_pledging_schools().where(School.id.not_in(pledged)))
        written = notify(
            "round_closing",
            school_staff(schools),
            event=f"round-{buying_round.id}-closing-{days}",
            template="round_closing",
            subject=f"{days} day{'s' if days != 1 else ''} left to pledge: {buying_round.title}",
            link=link("procurement.round_detail", round_id=buying_round.id),
            about=("round", buying_round.id),
            summary=f"Pledging closes {format_instant(buying_round.pledge_deadline_at)}",
            round=buying_round,
            days=days,
            services=_services(buying_round),
            deadline=format_instant(buying_round.pledge_deadline_at),
        )
        told += len(written)
    db.session.commit()
    return told


def round_awarded(
    buying_round: BuyingRound,
    school_id: int,
    lines: list[str],
    charge_pence: int,
    saving_pence: int,
) -> None:
    """Tell a participating school's SBMs and heads what it got, its charge and saving."""
    notify(
        "round_awarded",
        school_staff([school_id], (Role.SBM, Role.HEAD)),
        event=f"round-{buying_round.id}-awarded-school-{school_id}",
        template="round_awarded",
        subject=f"Buying round awarded: {buying_round.title}",
        link=link("procurement.round_allocation", round_id=buying_round.id, school_id=school_id),
        about=("round", buying_round.id),
        summary=f"You pay {format_pence(charge_pence)} and save {format_pence(saving_pence)}",
        round=buying_round,
        lines=lines,
        charge=format_pence(charge_pence),
        saving=format_pence(saving_pence),
    )


def round_cancelled(buying_round: BuyingRound, school_ids: Iterable[int]) -> None:
    """Tell the SBMs of schools that had pledged."""
    notify(
        "round_awarded",
        school_staff(school_ids),
        event=f"round-{buying_round.id}-cancelled",
        template="round_cancelled",
        subject=f"Buying round cancelled: {buying_round.title}",
        link=link("procurement.round_detail", round_id=buying_round.id),
        about=("round", buying_round.id),
        summary="Your pledges commit you to nothing.",
        round=buying_round,
    )
