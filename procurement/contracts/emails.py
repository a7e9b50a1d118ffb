"""Contracts ending: committee members are told 120, 90 and 30 days before a contract ends."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, london_today
from app.use_case import use_case
from procurement.contracts.models import Contract, ContractStatus

ENDING_NOTICE_DAYS = (120, 90, 30)


@use_case
def send_ending_notices(today: date | None = None) -> int:
    """Every morning: active contracts ending in exactly 120, 90 or 30 days; how many people
    were told (once per contract and day count)."""
    today = today or london_today()
    ends = {today + timedelta(days=days): days for days in ENDING_NOTICE_DAYS}
    contracts = db.session.scalars(
        sa.select(Contract)
        .where(Contract.status == ContractStatus.ACTIVE, Contract.ends_on.in_(list(ends)))
        .order_by(Contract.id)
    ).all()
    committee = db.session.scalars(
        sa.select(User).where(User.role == Role.COMMITTEE, User.active.is_(True)).order_by(User.id)
    ).all()
    told = 0
    for contract in contracts:
        days = ends[contract.ends_on]
        written = notify(
            "contract_ending",
            committee,
            event=f"contract-{contract.id}-ending-{days}",
            template="contract_ending",
            subject=f"Contract {contract.reference} ends in {days} days",
            link=link("procurement.contract_detail", contract_id=contract.id),
            about=("contract", contract.id),
            summary=f"{contract.title}, {contract.provider.name}: "
            f"ends {format_date(contract.ends_on)}",
            contract=contract,
            days=days,
            ends_on=format_date(contract.ends_on),
        )
        told += len(written)
    db.session.commit()
    return told
