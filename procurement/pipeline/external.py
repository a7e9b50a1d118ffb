"""Contracts schools hold outside the partnership: recorded by the school (its SBM or head, or
its trust's finance lead), seen only by that school's people, its trust and the partnership;
lined up on the pipeline as candidates for a joint tender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import Role, School, User
from app.time import utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from procurement.pipeline import rules
from procurement.pipeline.errors import (
    ExternalContractNotFound,
    PipelineError,
    PipelineNotAllowed,
)
from procurement.pipeline.models import ExternalContract

SUPPLIER_MAX = 200
CATEGORY_MAX = 100
NOTES_MAX = 2_000
# £10m a year: anything above is a typing slip, not a school's contract.
ANNUAL_VALUE_MAX_PENCE = 1_000_000_000
OWNER_ROLES = (Role.SBM, Role.HEAD, Role.TRUST)


@dataclass(frozen=True)
class ExternalInput:
    school_id: int
    supplier_name: str
    service_id: int | None
    category: str
    annual_value_pence: int
    ends_on: date
    notes: str


def schools_for(user: User) -> list[School]:
    """The schools whose outside contracts this person keeps: an SBM's or head's own school, a
    trust finance lead's schools."""
    if user.role is Role.TRUST and user.trust_id is not None:
        stmt = sa.select(School).where(School.trust_id == user.trust_id)
    elif user.role in (Role.SBM, Role.HEAD) and user.school_id is not None:
        stmt = sa.select(School).where(School.id == user.school_id)
    else:
        return []
    return list(db.session.scalars(stmt.order_by(School.name)))


def _school_ids(user: User) -> list[int]:
    return [school.id for school in schools_for(user)]


def contracts_for(user: User) -> list[ExternalContract]:
    """This person's schools' outside contracts, soonest ending first."""
    ids = _school_ids(user)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(ExternalContract)
            .where(ExternalContract.school_id.in_(ids))
            .options(selectinload(ExternalContract.school), selectinload(ExternalContract.service))
            .order_by(ExternalContract.ends_on, ExternalContract.id)
        )
    )


def get_external_for_user(external_id: int, user: User, *, lock: bool = False) -> ExternalContract:
    """One of this person's schools' outside contracts; anyone else's is "Page not found"."""
    stmt = sa.select(ExternalContract).where(
        ExternalContract.id == external_id,
        ExternalContract.school_id.in_(_school_ids(user) or [-1]),
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    contract = db.session.scalar(stmt)
    if contract is None:
        raise ExternalContractNotFound("Page not found")
    return contract


def _check(data: ExternalInput, user: User, today: date) -> None:
    if user.role not in OWNER_ROLES:
        raise PipelineNotAllowed("Only a school's own people record its outside contracts.")
    if data.school_id not in _school_ids(user):
        raise PipelineError("Choose one of your schools", field="school_id")
    supplier = data.supplier_name.strip()
    if not supplier:
        raise PipelineError("Enter the supplier’s name", field="supplier_name")
    if len(supplier) > SUPPLIER_MAX:
        raise PipelineError(
            f"Keep the supplier’s name to {SUPPLIER_MAX} characters or fewer", field="supplier_name"
        )
    category = data.category.strip()
    if data.service_id is None and not category:
        raise PipelineError(
            "Choose the service, or describe what the contract is for", field="service_id"
        )
    if data.service_id is not None:
        service = db.session.get(Service, data.service_id)
        if service is None:
            raise PipelineError("Choose a service from the list", field="service_id")
    if len(category) > CATEGORY_MAX:
        raise PipelineError(
            f"Keep what it is for to {CATEGORY_MAX} characters or fewer", field="category"
        )
    if not 0 <= data.annual_value_pence <= ANNUAL_VALUE_MAX_PENCE:
        raise PipelineError(
            "Enter the annual value in pounds, up to £10,000,000", field="annual_value"
        )
    if data.ends_on < today:
        raise PipelineError(
            "The contract has already ended: enter one still running", field="ends_on"
        )
    if data.ends_on > rules.add_months(today, 120):
        raise PipelineError("Enter an end date within the next ten years", field="ends_on")
    if len(data.notes) > NOTES_MAX:
        raise PipelineError(f"Keep the notes to {NOTES_MAX:,} characters or fewer", field="notes")


def _apply(contract: ExternalContract, data: ExternalInput) -> None:
    contract.school_id = data.school_id
    contract.supplier_name = data.supplier_name.strip()
    contract.service_id = data.service_id
    contract.category = data.category.strip() if data.service_id is None else ""
    contract.annual_value_pence = data.annual_value_pence
    contract.ends_on = data.ends_on
    contract.notes = data.notes.strip()


def _fields(contract: ExternalContract) -> dict[str, object]:
    return {
        "school_id": contract.school_id,
        "supplier_name": contract.supplier_name,
        "service_id": contract.service_id,
        "category": contract.category,
        "annual_value_pence": contract.annual_value_pence,
        "ends_on": contract.ends_on.isoformat(),
    }


@use_case
def add_external(data: ExternalInput, actor: User, today: date) -> ExternalContract:
    """Record a contract one of the person's schools holds outside the partnership."""
    _check(data, actor, today)
    contract = ExternalContract(created_by_id=actor.id)
    _apply(contract, data)
    db.session.add(contract)
    db.session.flush()
    audit.record(
        actor,
        "external_contract",
        contract.id,
        "recorded",
        after=_fields(contract),
        scope=f"school:{contract.school_id}",
    )
    db.session.commit()
    return contract


@use_case
def update_external(
    external_id: int, data: ExternalInput, actor: User, today: date
) -> ExternalContract:
    """Change one of the person's schools' outside contracts."""
    contract = get_external_for_user(external_id, actor, lock=True)
    _check(data, actor, today)
    before = _fields(contract)
    _apply(contract, data)
    contract.updated_at = utcnow()
    audit.record(
        actor,
        "external_contract",
        contract.id,
        "changed",
        before=before,
        after=_fields(contract),
        scope=f"school:{contract.school_id}",
    )
    db.session.commit()
    return contract


@use_case
def delete_external(external_id: int, actor: User) -> None:
    """Remove one of the person's schools' outside contracts."""
    contract = get_external_for_user(external_id, actor, lock=True)
    if actor.role not in OWNER_ROLES:
        raise PipelineNotAllowed("Only a school's own people remove its outside contracts.")
    audit.record(
        actor,
        "external_contract",
        contract.id,
        "removed",
        before=_fields(contract),
        scope=f"school:{contract.school_id}",
    )
    db.session.delete(contract)
    db.session.commit()


@dataclass(frozen=True)
class JointGroup:
    """A candidate for a joint tender, as the pipeline page shows it."""

    what: str
    service_id: int | None
    contracts: list[ExternalContract]
    school_names: list[str]
    first_ends_on: date
    last_ends_on: date
    annual_value_pence: int


def joint_groups(today: date) -> list[JointGroup]:
    """Schools' outside contracts for the same service ending within a few months of each
    other (at least two schools), among those ending in the pipeline's 18 months."""
    contracts = list(
        db.session.scalars(
            sa.select(ExternalContract)
            .where(
                ExternalContract.ends_on >= today,
                ExternalContract.ends_on <= rules.window_end(today),
            )
            .options(selectinload(ExternalContract.school), selectinload(ExternalContract.service))
            .order_by(ExternalContract.id)
        )
    )
    by_id = {c.id: c for c in contracts}
    candidates = rules.joint_candidates(
        [
            rules.OutsideContract(
                id=c.id,
                school_id=c.school_id,
                service_key=rules.service_key(c.service_id, c.category),
                ends_on=c.ends_on,
                annual_value_pence=c.annual_value_pence,
            )
            for c in contracts
        ]
    )
    groups = []
    for candidate in candidates:
        members = [by_id[item.id] for item in candidate.contracts]
        groups.append(
            JointGroup(
                what=members[0].what,
                service_id=members[0].service_id,
                contracts=members,
                school_names=sorted({m.school.name for m in members}),
                first_ends_on=candidate.first_ends_on,
                last_ends_on=candidate.last_ends_on,
                annual_value_pence=candidate.annual_value_pence,
            )
        )
    return groups
