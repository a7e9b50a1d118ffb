"""Call-offs under a contract: a school orders at the contract's awarded prices, and each
call-off draws the contract's capacity and maximum value down.

A call-off is an order (kind call-off, `contract_id` set, no offer) that goes through the
marketplace's order workflow from submission on: the school's approval chain, the provider's
confirmation, delivery and billing (marketplace.orders). What it draws down is not stored but
counted: every order under the contract in a reserving status, so cancelling, rejecting or
declining a call-off gives its units and value back.

Concurrency: `call_off` locks the contract's row before it counts what is drawn down, so on
PostgreSQL concurrent call-offs under one contract queue behind each other and each counts the
ones committed before it; they can never draw more than the contract has (SQLite serialises
writers anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import Term
from app.extensions import db
from app.models import Role, School, User
from app.money import format_pence, multiply
from app.time import london_today
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.offers.pricing import PricingError, Tier, contract_unit_price
from marketplace.orders import rules as order_rules
from marketplace.orders.access import record
from marketplace.orders.drafting import NOTES_MAX, clean_po, submit_draft
from marketplace.orders.errors import InvalidOrder
from marketplace.orders.models import ORDER_RESERVING_STATUSES, Order, OrderKind, OrderStatus
from marketplace.providers import compliance
from procurement.contracts import rules
from procurement.contracts.errors import (
    CallOffNotAllowed,
    CallOffRefused,
    CallOffTermsNotAllowed,
    ContractNotFound,
    DrawdownExceeded,
    InvalidCallOff,
    InvalidCallOffTerms,
)
from procurement.contracts.models import Contract, ContractSchool

# Who calls off: a school's SBM or head for their school, a trust's finance lead for the trust's
# schools (as they order and approve for them).
CALL_OFF_ROLES = frozenset({Role.SBM, Role.HEAD, Role.TRUST})
TERMS_ROLES = frozenset({Role.COMMITTEE, Role.ADMIN})


# Reading ------------------------------------------------------------------------------------


def drawdown_of(contract: Contract) -> rules.Drawdown:
    """What the contract's call-offs hold, in total and by term (orders in reserving
    statuses; quantity and total excluding VAT)."""
    used = db.session.execute(
        sa.select(Order.term_key, sa.func.sum(Order.quantity), sa.func.sum(Order.total_pence))
        .where(Order.contract_id == contract.id, Order.status.in_(ORDER_RESERVING_STATUSES))
        .group_by(Order.term_key)
    )
    return rules.drawdown(
        contract.capacity,
        contract.value_pence,
        [(term_key, int(units or 0), int(pence or 0)) for term_key, units, pence in used],
    )


def schools_for(user: User) -> list[School]:
    """The schools this person may call off for: their own, or their trust's."""
    if user.role in (Role.SBM, Role.HEAD) and user.school_id is not None:
        school = db.session.get(School, user.school_id)
        return [school] if school is not None else []
    if user.role is Role.TRUST and user.trust_id is not None:
        return list(
            db.session.scalars(
                sa.select(School).where(School.trust_id == user.trust_id).order_by(School.name)
            )
        )
    return []


def _members(contract_id: int) -> dict[int, ContractSchool]:
    return {
        row.school_id: row
        for row in db.session.scalars(
            sa.select(ContractSchool).where(ContractSchool.contract_id == contract_id)
        )
    }


@dataclass(frozen=True)
class CallOffPage:
    """What the call-off page needs: the contract, the schools this person may call off for,
    the terms, and what the contract has left."""

    contract: Contract
    service: Service
    schools: list[School]
    terms: list[Term]
    drawdown: rules.Drawdown


def _load(contract_id: int, *, lock: bool = False) -> Contract:
    stmt = (
        sa.select(Contract)
        .where(Contract.id == contract_id)
        .options(selectinload(Contract.tiers), selectinload(Contract.provider))
    )
    if lock:
        # Wait for any other call-off under this contract, then read it afresh.
        stmt = stmt.with_for_update(of=Contract).execution_options(populate_existing=True)
    contract = db.session.scalar(stmt)
    if contract is None:
        raise ContractNotFound("Page not found")
    return contract


def locked_contract(contract_id: int) -> Contract:
    """The contract's row, locked until the caller's use case commits, read afresh: a call-off
    placed elsewhere (a mini-competition's award) counts what is left under the same lock."""
    return _load(contract_id, lock=True)


def schools_calling_off(contract: Contract, user: User) -> list[School]:
    """The schools this person may call off for under this contract: those taking part, or
    all of theirs when the contract is open to schools joining later."""
    if user.role not in CALL_OFF_ROLES:
        return []
    members = _members(contract.id)
    return [s for s in schools_for(user) if contract.open_to_new_schools or s.id in members]


def _callers_schools(contract: Contract, user: User) -> list[School]:
    """The schools this person may call off for under this contract; refused when none."""
    if user.role not in CALL_OFF_ROLES:
        raise ContractNotFound("Page not found")
    allowed = schools_calling_off(contract, user)
    if not allowed:
        problem = rules.participation_problem(
            takes_part=False, open_to_new_schools=contract.open_to_new_schools
        )
        if user.role is Role.TRUST:
            problem = (
                "None of your trust’s schools takes part in this contract, and the contract is "
                "not open to schools joining later"
            )
        raise CallOffNotAllowed(f"{problem}.")
    return allowed


def call_off_page(contract_id: int, user: User, today: date) -> CallOffPage:
    """The call-off page for a contract this person may call off under (404 for a role that
    never calls off, 403 for a school that does not take part in a closed contract)."""
    contract = _load(contract_id)
    schools = _callers_schools(contract, user)
    service = db.session.get(Service, contract.service_id)
    assert service is not None
    return CallOffPage(
        contract=contract,
        service=service,
        schools=schools,
        terms=rules.call_off_terms(contract.starts_on, contract.ends_on, today),
        drawdown=drawdown_of(contract),
    )


# Pricing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallOffQuote:
    """A call-off that passed every check, with its price at the contract's awarded tiers."""

    contract: Contract
    school: School
    term: Term
    quantity: int
    unit_price_pence: int
    member: ContractSchool | None  # None: the school joins the contract with this call-off

    @property
    def total_pence(self) -> int:
        return multiply(self.unit_price_pence, self.quantity)


def _parse_term(term_key: str | None) -> Term:
    try:
        return Term.parse(term_key or "")
    except ValueError:
        raise InvalidCallOff("Choose the term you want the service in", field="term_key") from None


def quote(
    contract: Contract,
    school_id: int,
    user: User,
    *,
    term_key: str | None,
    quantity: object,
    today: date,
) -> CallOffQuote:
    """Check that this person may call off this quantity for this school and term under the
    contract, and price it: the school's own awarded price, else the contract's tier price for
    the quantity. Refused (with what is left) when it would draw down more than remains."""
    school = next((s for s in _callers_schools(contract, user) if s.id == school_id), None)
    if school is None:
        raise InvalidCallOff("Choose a school taking part in this contract", field="school_id")
    member = _members(contract.id).get(school.id)
    problem = rules.participation_problem(
        takes_part=member is not None, open_to_new_schools=contract.open_to_new_schools
    )
    if problem:
        raise CallOffNotAllowed(f"{problem}.")
    service = db.session.get(Service, contract.service_id)
    assert service is not None
    unit = service.unit.value
    problem = order_rules.quantity_problem(quantity, unit=unit)
    if problem:
        raise InvalidCallOff(problem, field="quantity")
    assert isinstance(quantity, int)
    term = _parse_term(term_key)
    problem = rules.period_problem(
        status=contract.status.value,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        term=term,
        today=today,
    )
    if problem:
        raise CallOffRefused(f"{problem}.", field="term_key")
    problem = compliance.ordering_problem(contract.provider_id, today)
    if problem:
        raise CallOffRefused(f"{problem}.")
    tiers = [Tier(t.min_quantity, t.unit_price_pence) for t in contract.tiers]
    try:
        unit_price = contract_unit_price(
            member.unit_price_pence if member else None, tiers, quantity
        )
    except PricingError as exc:
        raise InvalidCallOff(str(exc), field="quantity") from None
    if unit_price is None:
        raise CallOffRefused("This contract has no awarded prices to call off at.")
    priced = CallOffQuote(contract, school, term, quantity, unit_price, member)
    problem = rules.drawdown_problem(
        drawdown_of(contract),
        quantity=quantity,
        total_pence=priced.total_pence,
        unit=unit,
        units=order_rules.plural(unit, 2),
        reference=contract.reference,
    )
    if problem:
        raise DrawdownExceeded(f"{problem}.", field="quantity")
    return priced


# Use cases ----------------------------------------------------------------------------------


@use_case
def call_off(
    contract_id: int,
    school_id: int,
    actor: User,
    *,
    term_key: str | None,
    quantity: object,
    po_number: str | None,
    notes: str | None = "",
    today: date | None = None,
) -> Order:
    """Call off under a contract: an order at the awarded price, submitted at once through the
    school's approval chain (approved when within its threshold), drawing the contract down.

    The contract's row is locked first, so concurrent call-offs count each other. A school not
    yet taking part in a contract open to new schools joins it (no allocated units).
    """
    today = today or london_today()
    contract = _load(contract_id, lock=True)
    priced = quote(contract, school_id, actor, term_key=term_key, quantity=quantity, today=today)
    try:
        po = clean_po(po_number)
    except InvalidOrder as exc:
        raise InvalidCallOff(exc.message, field="po_number") from None
    text = (notes or "").strip()
    if len(text) > NOTES_MAX:
        raise InvalidCallOff(f"Notes must be {NOTES_MAX} characters or fewer", field="notes")
    if priced.member is None:
        db.session.add(
            ContractSchool(
                contract_id=contract.id, school_id=priced.school.id, allocated_quantity=0
            )
        )
        audit.record(
            actor,
            "contract",
            contract.id,
            "school joined",
            after={"school_id": priced.school.id, "allocated_quantity": 0},
            scope=f"school:{priced.school.id}",
        )
    order = Order(
        school_id=priced.school.id,
        provider_id=contract.provider_id,
        service_id=contract.service_id,
        offer_id=None,
        contract_id=contract.id,
        kind=OrderKind.CALL_OFF,
        term_key=priced.term.key,
        quantity=priced.quantity,
        entitled_quantity=0,
        unit_price_pence=priced.unit_price_pence,
        setup_pence=0,
        total_pence=priced.total_pence,
        po_number=po,
        notes=text,
        status=OrderStatus.DRAFT,
        created_by_id=actor.id,
    )
    db.session.add(order)
    db.session.flush()
    record(
        actor,
        order,
        "created",
        None,
        contract_id=contract.id,
        po_number=order.po_number,
        note=f"Call-off under contract {contract.reference}",
    )
    submit_draft(order, actor, today=today)
    db.session.commit()
    return order


@use_case
def set_call_off_terms(
    contract_id: int, actor: User, *, value_pence: int | None, open_to_new_schools: bool
) -> Contract:
    """The committee (or admin) sets the contract's maximum value (None: no cap) and whether
    schools that join later may call off. The cap cannot go below what is already drawn down."""
    if actor.role not in TERMS_ROLES:
        raise CallOffTermsNotAllowed("Only the committee can change a contract’s call-off terms.")
    contract = _load(contract_id, lock=True)
    if value_pence is not None:
        if value_pence <= 0:
            raise InvalidCallOffTerms(
                "The maximum value must be more than £0, or left blank for no cap",
                field="value",
            )
        used = drawdown_of(contract).used_pence
        if value_pence < used:
            raise InvalidCallOffTerms(
                f"Call-offs already draw down {format_pence(used)}: the maximum value cannot be "
                "less than that",
                field="value",
            )
    before = {
        "value_pence": contract.value_pence,
        "open_to_new_schools": contract.open_to_new_schools,
    }
    contract.value_pence = value_pence
    contract.open_to_new_schools = open_to_new_schools
    audit.record(
        actor,
        "contract",
        contract.id,
        "call-off terms set",
        before=before,
        after={"value_pence": value_pence, "open_to_new_schools": open_to_new_schools},
    )
    db.session.commit()
    return contract
