"""Demo contract changes: the educational psychology contract (from the demo tender) was
indexed by 3.2% last week, proposed by one committee member and approved by the other, which
published its UK10 contract change notice; an extension up to a year is allowed, and a
six-month extension waits for a second committee member's approval.

Built through the same use cases as the pages, on an injected clock. Safe to run again: nothing
is added to a contract that already has changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.demo.tenders import COMPLETE_TITLE
from app.extensions import db
from app.models import User
from app.time import london_date, utcnow
from procurement.contracts import amendments, termination
from procurement.contracts.models import (
    AmendmentKind,
    Contract,
    ContractAmendment,
    ContractSource,
)
from procurement.tenders.models import Tender


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


def seed_demo_amendments(now: datetime | None = None) -> int:
    """Add the demo contract's changes if it has none; returns how many were added."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    committee = _user("committee@demo.pooled.test")
    committee2 = _user("committee2@demo.pooled.test")
    contract = db.session.scalar(
        sa.select(Contract)
        .join(Tender, Tender.id == Contract.source_id)
        .where(Contract.source == ContractSource.TENDER, Tender.title == COMPLETE_TITLE)
        .order_by(Contract.id)
        .limit(1)
    )
    if committee is None or committee2 is None or contract is None:
        return 0
    has_changes = db.session.scalar(
        sa.select(ContractAmendment.id).where(ContractAmendment.contract_id == contract.id)
    )
    if has_changes is not None:
        return 0
    proposed_at = now - timedelta(days=8)
    effective_on = max(contract.starts_on, london_date(proposed_at))
    indexation = amendments.propose_amendment(
        contract.id,
        committee,
        amendments.AmendmentInput(
            kind=AmendmentKind.PRICE_INDEXATION,
            reason="Annual indexation by CPI (3.2% in the twelve months to September), as "
            "clause 7.2 of the contract allows.",
            effective_on=effective_on,
            indexation_bp=320,
        ),
        now=proposed_at,
    )
    amendments.approve_amendment(
        contract.id, indexation.id, committee2, now=proposed_at + timedelta(days=1)
    )
    termination.set_extension_limit(
        contract.id, committee, _add_months(contract.ends_on, 12), now=now - timedelta(days=2)
    )
    amendments.propose_amendment(
        contract.id,
        committee,
        amendments.AmendmentInput(
            kind=AmendmentKind.EXTENSION,
            reason="Six more months while the partnership re-tenders the service with the "
            "neighbouring boroughs.",
            effective_on=contract.ends_on,
            new_ends_on=_add_months(contract.ends_on, 6),
        ),
        now=now - timedelta(days=1),
    )
    return 2
