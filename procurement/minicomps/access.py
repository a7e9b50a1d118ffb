"""Frameworks and mini-competitions: loading them for who may see them, and who may act.

A **framework** is the contracts one award made for the same service to several providers
(`Contract.source`, `source_id`, `service_id` alike), best ranked first. It is seen by the
committee, the admin, and the schools taking part (their staff and their trust's finance lead);
providers and other schools get "Page not found".

A **mini-competition** is seen by the committee and the admin, the school it is for (its staff
and its trust's finance lead) and the suppliers invited to quote; anyone else gets "Page not
found", as for one that does not exist. The buyer's steps (open, score, set aside, award,
cancel) are for the school's staff, its trust's finance lead and the committee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role, School, User
from procurement.contracts.models import Contract, ContractSchool, ContractStatus
from procurement.minicomps.errors import (
    FrameworkNotFound,
    MiniCompetitionNotFound,
    NotYourMiniCompetition,
)
from procurement.minicomps.models import MiniCompetition, MiniCompetitionQuote

BUYER_ROLES = frozenset({*SCHOOL_ROLES, Role.TRUST, Role.COMMITTEE})


@dataclass(frozen=True)
class FrameworkKey:
    source: str
    source_id: int | None
    service_id: int


def key_of(contract: Contract) -> FrameworkKey:
    return FrameworkKey(contract.source.value, contract.source_id, contract.service_id)


def _lowest_price(contract: Contract) -> int:
    return min((t.unit_price_pence for t in contract.tiers), default=0)


def framework_contracts(key: FrameworkKey) -> list[Contract]:
    """The framework's contracts, best first: by awarded rank (a round's, unranked, by lowest
    unit price), then by reference."""
    contracts = list(
        db.session.scalars(
            sa.select(Contract)
            .where(
                Contract.source == key.source,
                Contract.source_id == key.source_id
                if key.source_id is not None
                else Contract.source_id.is_(None),
                Contract.service_id == key.service_id,
            )
            .options(selectinload(Contract.provider), selectinload(Contract.tiers))
        )
    )
    return sorted(
        contracts,
        key=lambda c: (
            c.framework_rank is None,
            c.framework_rank or 0,
            _lowest_price(c),
            c.reference,
        ),
    )


def schools_taking_part(contract_ids: list[int]) -> list[School]:
    """The schools taking part in any of these contracts, by name."""
    return list(
        db.session.scalars(
            sa.select(School)
            .where(
                School.id.in_(
                    sa.select(ContractSchool.school_id).where(
                        ContractSchool.contract_id.in_(contract_ids)
                    )
                )
            )
            .order_by(School.name, School.id)
        )
    )


def buyer_school_ids(user: User, school_ids: list[int]) -> list[int]:
    """Of these schools, the ones this user may run a mini-competition for."""
    if user.role is Role.COMMITTEE:
        return list(school_ids)
    if user.role in SCHOOL_ROLES and user.school_id is not None:
        return [user.school_id] if user.school_id in school_ids else []
    if user.role is Role.TRUST and user.trust_id is not None:
        trust_schools = set(
            db.session.scalars(
                sa.select(School.id).where(
                    School.trust_id == user.trust_id, School.id.in_(school_ids)
                )
            )
        )
        return [s for s in school_ids if s in trust_schools]
    return []


@dataclass(frozen=True)
class Framework:
    contract: Contract  # the one the page was reached from
    key: FrameworkKey
    contracts: list[Contract]
    schools: list[School]
    buyer_school_ids: list[int]

    @property
    def is_framework(self) -> bool:
        return len(self.contracts) >= 2


def get_framework_for_user(contract_id: int, user: User) -> Framework:
    """The framework a contract belongs to, if this user may see it (404 otherwise)."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise FrameworkNotFound("Page not found")
    key = key_of(contract)
    contracts = framework_contracts(key)
    schools = schools_taking_part([c.id for c in contracts])
    school_ids = [s.id for s in schools]
    buyers = buyer_school_ids(user, school_ids)
    if user.role not in PARTNERSHIP_ROLES and not buyers:
        raise FrameworkNotFound("Page not found")
    return Framework(contract, key, contracts, schools, buyers)


def invitable_contracts(key: FrameworkKey, school_id: int, today: date) -> list[Contract]:
    """The framework's live contracts the school takes part in: their suppliers are invited."""
    return [
        c
        for c in framework_contracts(key)
        if c.status is ContractStatus.ACTIVE
        and c.ends_on >= today
        and any(s.school_id == school_id for s in c.schools)
    ]


def _visible(user: User) -> sa.Select[MiniCompetition]:
    stmt = sa.select(MiniCompetition)
    if user.role in PARTNERSHIP_ROLES:
        return stmt
    if user.role in SCHOOL_ROLES and user.school_id is not None:
        return stmt.where(MiniCompetition.school_id == user.school_id)
    if user.role is Role.TRUST and user.trust_id is not None:
        return stmt.where(
            MiniCompetition.school_id.in_(
                sa.select(School.id).where(School.trust_id == user.trust_id)
            )
        )
    if user.role is Role.PROVIDER and user.provider_id is not None:
        return stmt.where(
            MiniCompetition.id.in_(
                sa.select(MiniCompetitionQuote.mini_competition_id).where(
                    MiniCompetitionQuote.provider_id == user.provider_id
                )
            )
        )
    return stmt.where(sa.false())


def get_for_user(mini_competition_id: int, user: User) -> MiniCompetition:
    """A mini-competition this user may see; for anyone else it does not exist."""
    found = db.session.scalar(
        _visible(user)
        .where(MiniCompetition.id == mini_competition_id)
        .options(
            selectinload(MiniCompetition.quotes).selectinload(MiniCompetitionQuote.provider),
            selectinload(MiniCompetition.school),
            selectinload(MiniCompetition.service),
        )
    )
    if found is None:
        raise MiniCompetitionNotFound("Page not found")
    return found


def list_for_user(user: User, key: FrameworkKey | None = None) -> list[MiniCompetition]:
    """The mini-competitions this user may see (on one framework, if given), newest first."""
    stmt = _visible(user)
    if key is not None:
        stmt = stmt.where(
            MiniCompetition.source == key.source,
            MiniCompetition.source_id == key.source_id
            if key.source_id is not None
            else MiniCompetition.source_id.is_(None),
            MiniCompetition.service_id == key.service_id,
        )
    return list(
        db.session.scalars(
            stmt.order_by(MiniCompetition.created_at.desc(), MiniCompetition.id.desc()).options(
                selectinload(MiniCompetition.school), selectinload(MiniCompetition.service)
            )
        )
    )


def locked(mini_competition_id: int, user: User) -> MiniCompetition:
    """The mini-competition row, seen by this user and locked until the use case commits."""
    found = db.session.execute(
        _visible(user)
        .where(MiniCompetition.id == mini_competition_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if found is None:
        raise MiniCompetitionNotFound("Page not found")
    return found


def is_buyer(mini: MiniCompetition, user: User) -> bool:
    """May this user take the school's steps (open, score, set aside, award, cancel)?"""
    if user.role not in BUYER_ROLES:
        return False
    return bool(buyer_school_ids(user, [mini.school_id]))


def require_buyer(mini: MiniCompetition, user: User) -> None:
    if not is_buyer(mini, user):
        raise NotYourMiniCompetition(
            "Only the school (its business manager or head, its trust's finance lead) or the "
            "committee can do this."
        )


def own_quote(mini: MiniCompetition, user: User) -> MiniCompetitionQuote | None:
    """The quote row of the supplier this user works for, if it was invited."""
    if user.role is not Role.PROVIDER or user.provider_id is None:
        return None
    return next((q for q in mini.quotes if q.provider_id == user.provider_id), None)


def record(
    actor: User | None,
    mini: MiniCompetition,
    entity_type: str,
    entity_id: int | str,
    action: str,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event in the mini-competition's scope, timed by the use case's one `now`."""
    event = audit.record(
        actor,
        entity_type,
        entity_id,
        action,
        before=before,
        after=after,
        scope=f"mini_competition:{mini.id}",
    )
    event.at = now
