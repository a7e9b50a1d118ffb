"""What the contract use cases share: who may change a contract, loading it locked, the
checks every change makes, its audit event, and the OCDS release a tender contract publishes
for it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, User
from procurement.contracts.errors import (
    ContractChangeConflict,
    ContractChangeNotAllowed,
    ContractNotFound,
    InvalidContractChange,
)
from procurement.contracts.models import Contract, ContractSource, ContractStatus
from procurement.tenders.access import locked_tender
from procurement.tenders.models import Tender, TenderRelease

REASON_MAX = 2_000
CHANGEABLE_STATUSES = (ContractStatus.PENDING, ContractStatus.ACTIVE)


def require_contract_manager(actor: User) -> None:
    """Committee members and admins change contracts; nobody else."""
    if actor.role not in PARTNERSHIP_ROLES:
        raise ContractChangeNotAllowed("Only committee members and admins change contracts.")


def locked_contract(contract_id: int) -> Contract:
    """The contract row, locked until the use case commits (PostgreSQL: SELECT … FOR UPDATE)."""
    contract = db.session.execute(
        sa.select(Contract)
        .where(Contract.id == contract_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if contract is None:
        raise ContractNotFound("Page not found")
    return contract


def require_changeable(contract: Contract, today: date) -> None:
    """In force (or yet to start), not terminated, not ended: only then may it change."""
    if contract.status not in CHANGEABLE_STATUSES or contract.terminated_on is not None:
        raise ContractChangeConflict("This contract is no longer in force: it cannot be changed.")
    if contract.ends_on < today:
        raise ContractChangeConflict("This contract has ended: it cannot be changed.")


def require_text(text: str, message: str, field: str) -> str:
    """A reason or note: required, at most REASON_MAX characters, stripped."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidContractChange(message, field=field)
    if len(cleaned) > REASON_MAX:
        raise InvalidContractChange(f"Keep it to {REASON_MAX:,} characters or fewer", field=field)
    return cleaned


def refuse(problem: str | None, field: str) -> None:
    """Raise a rule's problem (procurement.contracts.rules) on the form field it concerns."""
    if problem is not None:
        raise InvalidContractChange(problem, field=field)


def record(actor: User, contract: Contract, action: str, now: datetime, **changes: Any) -> None:
    """An audit event in the contract's scope, timed by the use case's one `now`."""
    event = audit.record(
        actor, "contract", contract.id, action, scope=f"contract:{contract.id}", **changes
    )
    event.at = now


def latest_release_id(tender_id: int) -> str | None:
    return db.session.scalar(
        sa.select(TenderRelease.release_id)
        .where(TenderRelease.tender_id == tender_id)
        .order_by(TenderRelease.sequence.desc())
        .limit(1)
    )


def release_tender(contract: Contract) -> Tender | None:
    """The published tender a contract came from, locked so its releases stay in sequence;
    None for a contract from a buying round (rounds publish no OCDS process)."""
    if contract.source is not ContractSource.TENDER or contract.source_id is None:
        return None
    tender = locked_tender(contract.source_id)
    return tender if tender.was_published else None
