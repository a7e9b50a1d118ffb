"""The contracts register: every contract from tenders and buying rounds, with its expiry.

Who sees what:
- the committee and the admin: every contract, with every school taking part;
- schools (SBM, head): every contract the partnership holds (awarded prices are published in
  the UK7 notice anyway) and whether their own school takes part, never other schools'
  allocations or charges;
- providers: only their own contracts, with the schools they serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import SCHOOL_ROLES, Role, User
from marketplace.catalogue.models import Service
from procurement.contracts.errors import ContractNotFound
from procurement.contracts.labels import STATUS_TEXT
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus

EXPIRING_WITHIN_DAYS = 90


@dataclass(frozen=True)
class RegisterRow:
    contract: Contract
    service_name: str
    unit: str
    schools_taking_part: int
    own_school_takes_part: bool
    shown_status: str
    shown_status_text: str


def shown_status(contract: Contract, today: date) -> tuple[str, str]:
    """The status a reader needs: expired, expiring soon, not started, or as stored."""
    if contract.status is ContractStatus.ACTIVE:
        if contract.ends_on < today:
            return "expired", STATUS_TEXT[ContractStatus.EXPIRED]
        if contract.starts_on > today:
            return "pending", f"Starts {contract.starts_on:%-d %b %Y}"
        if contract.ends_on <= today + timedelta(days=EXPIRING_WITHIN_DAYS):
            return "expiring", "Expiring soon"
        return "active", STATUS_TEXT[ContractStatus.ACTIVE]
    if contract.status is ContractStatus.TERMINATED and (contract.terminated_on or today) > today:
        return "expiring", f"Ends early on {contract.terminated_on:%-d %b %Y}"
    return contract.status.value, STATUS_TEXT[contract.status]


def _visible(user: User) -> sa.Select:
    stmt = sa.select(Contract)
    if user.role is Role.PROVIDER:
        stmt = stmt.where(Contract.provider_id == (user.provider_id or -1))
    elif user.role not in (Role.ADMIN, Role.COMMITTEE, *SCHOOL_ROLES):
        stmt = stmt.where(sa.false())
    return stmt


def register(user: User, today: date) -> list[RegisterRow]:
    """The contracts this user may see, soonest expiry first, in two queries."""
    taking_part = (
        sa.select(sa.func.count())
        .where(ContractSchool.contract_id == Contract.id)
        .correlate(Contract)
        .scalar_subquery()
    )
    own: sa.ColumnElement[bool] = sa.literal(False)
    if user.role in SCHOOL_ROLES and user.school_id is not None:
        own = (
            sa.select(ContractSchool.id)
            .where(
                ContractSchool.contract_id == Contract.id,
                ContractSchool.school_id == user.school_id,
            )
            .correlate(Contract)
            .exists()
        )
    stmt = (
        _visible(user)
        .join(Service, Service.id == Contract.service_id)
        .add_columns(Service.name, Service.unit, taking_part, own)
        .options(selectinload(Contract.provider), selectinload(Contract.tiers))
        .order_by(Contract.ends_on, Contract.reference)
    )
    rows = []
    for contract, service_name, unit, count, is_own in db.session.execute(stmt):
        status, text = shown_status(contract, today)
        rows.append(
            RegisterRow(
                contract=contract,
                service_name=service_name,
                unit=unit.value,
                schools_taking_part=count,
                own_school_takes_part=bool(is_own),
                shown_status=status,
                shown_status_text=text,
            )
        )
    return rows


def get_contract_for_user(contract_id: int, user: User) -> Contract:
    """A contract this user may see (providers: only their own); others do not exist for them."""
    contract = db.session.scalar(_visible(user).where(Contract.id == contract_id))
    if contract is None:
        raise ContractNotFound("Page not found")
    return contract


def participants_for(contract: Contract, user: User) -> list[ContractSchool]:
    """The schools taking part that this user may see: a school sees only its own row."""
    stmt = (
        sa.select(ContractSchool)
        .where(ContractSchool.contract_id == contract.id)
        .options(selectinload(ContractSchool.school))
    )
    if user.role in SCHOOL_ROLES:
        stmt = stmt.where(ContractSchool.school_id == (user.school_id or -1))
    elif user.role is Role.PROVIDER and contract.provider_id != user.provider_id:
        return []
    rows = list(db.session.scalars(stmt))
    return sorted(rows, key=lambda row: row.school.name)


def schools_taking_part(contract: Contract) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ContractSchool)
            .where(ContractSchool.contract_id == contract.id)
        )
        or 0
    )


def source_label(contract: Contract) -> str:
    if contract.source is ContractSource.TENDER:
        return f"Tender TEN-{contract.source_id or 0:04d}"
    return f"Buying round {contract.source_id}"
