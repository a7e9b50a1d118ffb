"""Renewal reminders: committee members are told 120, 90 and 30 days before a contract ends,
with the decision recorded so far, each reminder once per contract (a `RenewalReminder` row,
unique per contract and day count, written with the notifications it sends).

A morning the job did not run is caught up the next morning with the reminder that still makes
sense (`rules.reminder_due`): a contract first seen 85 days before its end gets the 90-day
reminder, and never the 120-day one afterwards.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Role, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, london_today
from app.use_case import use_case
from procurement.contracts.models import Contract, ContractStatus
from procurement.pipeline import rules
from procurement.pipeline.models import RenewalDecision, RenewalReminder

KIND = "contract_ending"


def _claimed(contract_id: int, days: int, today: date) -> RenewalReminder | None:
    """The reminder's row, written in a savepoint: None when another run has written it."""
    reminder = RenewalReminder(contract_id=contract_id, days_before=days, sent_on=today)
    try:
        with db.session.begin_nested():
            db.session.add(reminder)
            db.session.flush()
    except IntegrityError:
        return None
    return reminder


@use_case
def send_renewal_reminders(today: date | None = None) -> int:
    """Every morning: remind the committee of active contracts 120, 90 or 30 days from their
    end (once each); how many people were told."""
    today = today or london_today()
    horizon = today + timedelta(days=max(rules.REMINDER_DAYS))
    contracts = list(
        db.session.scalars(
            sa.select(Contract)
            .where(
                Contract.status == ContractStatus.ACTIVE,
                Contract.ends_on >= today,
                Contract.ends_on <= horizon,
            )
            .options(selectinload(Contract.provider))
            .order_by(Contract.ends_on, Contract.id)
        )
    )
    if not contracts:
        return 0
    ids = [c.id for c in contracts]
    sent: dict[int, set[int]] = {cid: set() for cid in ids}
    for contract_id, days_before in db.session.execute(
        sa.select(RenewalReminder.contract_id, RenewalReminder.days_before).where(
            RenewalReminder.contract_id.in_(ids)
        )
    ):
        sent[contract_id].add(days_before)
    decisions = {
        d.contract_id: d
        for d in db.session.scalars(
            sa.select(RenewalDecision).where(RenewalDecision.contract_id.in_(ids))
        )
    }
    committee = list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.COMMITTEE, User.active.is_(True))
            .order_by(User.id)
        )
    )
    told = 0
    for contract in contracts:
        days = rules.reminder_due(contract.ends_on, today, sent[contract.id])
        if days is None:
            continue
        reminder = _claimed(contract.id, days, today)
        if reminder is None:
            continue
        decision = decisions.get(contract.id)
        decided = (
            f"Decided so far: {decision.choice.label.lower()}." if decision else "No decision yet."
        )
        written = notify(
            KIND,
            committee,
            event=f"contract-{contract.id}-ending-{days}",
            template="contract_ending",
            subject=f"Contract {contract.reference} ends in {days} days",
            link=link("procurement.pipeline"),
            about=("contract", contract.id),
            summary=f"{contract.title}, {contract.provider.name}: "
            f"ends {format_date(contract.ends_on)}. {decided}",
            contract=contract,
            days=days,
            ends_on=format_date(contract.ends_on),
            decided=decided,
            contract_link=link("procurement.contract_detail", contract_id=contract.id),
        )
        reminder.recipients = len(written)
        told += len(written)
    db.session.commit()
    return told
