"""Demo call-offs: the educational psychology contract (the demo's completed tender) drawn down
by Greenwood's SBM and by the trust's finance lead for two of its academies, this term and
next, through the same use case as the call-off page; the committee sets its maximum value
first. Safe to run again: nothing is added once the contract has a call-off."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.calendar import Term
from app.demo.accounts import DEMO_TRUST_CODE
from app.demo.schools import DEMO_SCHOOL_URN
from app.demo.tenders import COMPLETE_TITLE
from app.demo.trusts import DEMO_TRUST_URNS
from app.errors import DomainError
from app.extensions import db
from app.models import Role, School, Trust, User
from marketplace.orders.models import Order
from procurement.contracts import calloffs
from procurement.contracts.models import Contract, ContractSource
from procurement.tenders.models import Tender

PO_PREFIX = "ELP-CO-"
MAX_VALUE_PENCE = 450_000_00  # £450,000: the contract's maximum value
# (school URN, which term: 0 this term, 1 the next, days): Greenwood's own, then the trust's.
DEMO_CALL_OFFS = (
    (DEMO_SCHOOL_URN, 0, 4),
    (DEMO_SCHOOL_URN, 1, 6),
    (DEMO_TRUST_URNS[1], 0, 25),
    (DEMO_TRUST_URNS[2], 1, 12),
)


def demo_contract() -> Contract | None:
    """The contract the demo's completed tender awarded, if it is there."""
    tender_id = db.session.scalar(sa.select(Tender.id).where(Tender.title == COMPLETE_TITLE))
    if tender_id is None:
        return None
    return db.session.scalar(
        sa.select(Contract)
        .where(Contract.source == ContractSource.TENDER, Contract.source_id == tender_id)
        .order_by(Contract.id)
        .limit(1)
    )


def _caller(urn: int) -> tuple[User | None, School | None]:
    """Greenwood's SBM for Greenwood; the trust's finance lead for its other academies."""
    school = db.session.scalar(sa.select(School).where(School.urn == urn))
    if school is None:
        return None, None
    if urn == DEMO_SCHOOL_URN:
        role_filter = (User.role == Role.SBM) & (User.school_id == school.id)
    else:
        trust_id = db.session.scalar(sa.select(Trust.id).where(Trust.code == DEMO_TRUST_CODE))
        role_filter = (User.role == Role.TRUST) & (User.trust_id == trust_id)
    user = db.session.scalar(sa.select(User).where(role_filter).order_by(User.id).limit(1))
    return user, school


def _term(today: date, later: int) -> Term:
    """The term `later` terms after today's."""
    term = Term.containing(today)
    for _ in range(later):
        term = Term.containing(term.ends_on + timedelta(days=1))
    return term


def seed_demo_call_offs(today: date) -> int:
    """The contract's maximum value and its call-offs; how many call-offs were placed."""
    contract = demo_contract()
    if contract is None:
        return 0
    if db.session.scalar(sa.select(Order.id).where(Order.contract_id == contract.id).limit(1)):
        return 0
    committee = db.session.scalar(
        sa.select(User).where(User.role == Role.COMMITTEE).order_by(User.id).limit(1)
    )
    if committee is None:
        return 0
    calloffs.set_call_off_terms(
        contract.id, committee, value_pence=MAX_VALUE_PENCE, open_to_new_schools=False
    )
    placed = 0
    for number, (urn, later, days) in enumerate(DEMO_CALL_OFFS, start=1):
        actor, school = _caller(urn)
        if actor is None or school is None:
            continue
        try:
            calloffs.call_off(
                contract.id,
                school.id,
                actor,
                term_key=_term(today, later).key,
                quantity=days,
                po_number=f"{PO_PREFIX}{number:04d}",
                notes="Educational psychology days for assessment and EHCP advice.",
                today=today,
            )
        except DomainError:
            continue  # e.g. the school is not a member, so not in the contract: skip it
        placed += 1
    return placed
