"""Contract changes (the UK10 contract change notice) and early termination (UK11).

A change is *proposed* by a committee member or an admin, with its reason and the date it takes
effect, and changes nothing yet. A *second* committee member or admin approves it, and the
approval applies it in the same transaction: the contract's prices, end date or capacity change,
the amendment keeps `before` and `after`, the provider is told (and, for prices, the schools
taking part), and a contract from a tender publishes a `contractAmendment` release. A proposal
rejected (by someone else, with a note) or withdrawn (by whoever proposed it) changes nothing.

A change applies when it is approved; its effective date is the contractual date it records and
publishes. Pricing has no dated price history: approve a change on (or just before) the day it
takes effect.

A termination (`terminate_contract`) needs one committee member or admin, a reason and the day
it takes effect: from that day no call-off is priced under the contract
(`procurement.contracts.prices`); orders already placed are not touched. Proposals still waiting
are withdrawn, and a contract from a tender publishes a `contractTermination` release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, User
from app.time import london_date, utcnow
from app.use_case import use_case
from procurement.contracts import emails, rules
from procurement.contracts.errors import (
    AmendmentNotFound,
    ContractChangeConflict,
    ContractChangeNotAllowed,
    ContractNotFound,
    InvalidContractChange,
    SecondApproverRequired,
)
from procurement.contracts.models import (
    AmendmentKind,
    AmendmentStatus,
    Contract,
    ContractAmendment,
    ContractSource,
    ContractStatus,
)
from procurement.tenders import ocds
from procurement.tenders.access import locked_tender
from procurement.tenders.models import TenderRelease

REASON_MAX = 2_000
CHANGEABLE_STATUSES = (ContractStatus.PENDING, ContractStatus.ACTIVE)


@dataclass(frozen=True)
class AmendmentInput:
    """A proposed change; only the fields of its kind are read."""

    kind: AmendmentKind
    reason: str
    effective_on: date | None
    indexation_bp: int | None = None
    tier_prices: tuple[int | None, ...] = ()
    new_ends_on: date | None = None
    new_capacity: int | None = None


# --- Loading and checks -----------------------------------------------------------------------


def require_contract_manager(actor: User) -> None:
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


def get_amendment(
    contract: Contract, amendment_id: int, *, lock: bool = False
) -> ContractAmendment:
    """An amendment of this contract; another contract's is "Page not found"."""
    stmt = sa.select(ContractAmendment).where(
        ContractAmendment.id == amendment_id, ContractAmendment.contract_id == contract.id
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    amendment = db.session.scalar(stmt)
    if amendment is None:
        raise AmendmentNotFound("Page not found")
    return amendment


def amendments_of(contract: Contract) -> list[ContractAmendment]:
    """Every proposal for the contract, newest first."""
    return list(
        db.session.scalars(
            sa.select(ContractAmendment)
            .where(ContractAmendment.contract_id == contract.id)
            .order_by(ContractAmendment.number.desc())
        )
    )


def _require_changeable(contract: Contract, today: date) -> None:
    if contract.status not in CHANGEABLE_STATUSES or contract.terminated_on is not None:
        raise ContractChangeConflict("This contract is no longer in force: it cannot be changed.")
    if contract.ends_on < today:
        raise ContractChangeConflict("This contract has ended: it cannot be changed.")


def _require_text(text: str, message: str, field: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidContractChange(message, field=field)
    if len(cleaned) > REASON_MAX:
        raise InvalidContractChange(f"Keep it to {REASON_MAX:,} characters or fewer", field=field)
    return cleaned


def _refuse(problem: str | None, field: str) -> None:
    if problem is not None:
        raise InvalidContractChange(problem, field=field)


# --- Before and after -------------------------------------------------------------------------


def _prices_state(contract: Contract) -> dict[str, Any]:
    return {
        "tiers": [[tier.min_quantity, tier.unit_price_pence] for tier in contract.tiers],
        "school_prices": sorted(
            [member.school_id, member.unit_price_pence]
            for member in contract.schools
            if member.unit_price_pence is not None
        ),
    }


def _check_and_state(contract: Contract, amendment: ContractAmendment) -> tuple[dict, dict]:
    """What the change would do to the contract as it is now: (before, after); refused with a
    named field when a rule forbids it."""
    kind = amendment.kind
    if kind is AmendmentKind.PRICE_INDEXATION:
        bp = amendment.indexation_bp or 0
        before = _prices_state(contract)
        prices = [p for _, p in before["tiers"]] + [p for _, p in before["school_prices"]]
        _refuse(rules.indexation_problem(bp, prices), "percent")
        after = {
            key: [[k, rules.indexed_price(p, bp)] for k, p in rows] for key, rows in before.items()
        }
        return before, after
    if kind is AmendmentKind.NEW_PRICES:
        tiers = [[t.min_quantity, t.unit_price_pence] for t in contract.tiers]
        proposed = [row[1] for row in amendment.new_tiers or []]
        _refuse(rules.new_prices_problem([p for _, p in tiers], proposed), "prices")
        after_tiers = [[k, price] for (k, _), price in zip(tiers, proposed, strict=True)]
        return {"tiers": tiers}, {"tiers": after_tiers}
    if kind is AmendmentKind.EXTENSION:
        assert amendment.new_ends_on is not None
        _refuse(
            rules.extension_problem(
                contract.ends_on, amendment.new_ends_on, contract.extension_allowed_until
            ),
            "new_ends_on",
        )
        return (
            {"ends_on": contract.ends_on.isoformat()},
            {"ends_on": amendment.new_ends_on.isoformat()},
        )
    assert amendment.new_capacity is not None
    _refuse(rules.capacity_problem(contract.capacity, amendment.new_capacity), "new_capacity")
    return {"capacity": contract.capacity}, {"capacity": amendment.new_capacity}


def _apply(contract: Contract, after: dict[str, Any]) -> None:
    if "tiers" in after:
        prices = dict(after["tiers"])
        for tier in contract.tiers:
            tier.unit_price_pence = prices[tier.min_quantity]
    if "school_prices" in after:
        school_prices = dict(after["school_prices"])
        for member in contract.schools:
            if member.school_id in school_prices:
                member.unit_price_pence = school_prices[member.school_id]
    if "ends_on" in after:
        contract.ends_on = date.fromisoformat(after["ends_on"])
    if "capacity" in after:
        contract.capacity = after["capacity"]


def describe(amendment: ContractAmendment, before: dict[str, Any], after: dict[str, Any]) -> str:
    """One line saying what the change does, for the history, emails and the UK10 notice."""
    kind = amendment.kind
    if kind is AmendmentKind.PRICE_INDEXATION:
        bp = amendment.indexation_bp or 0
        direction = "up" if bp > 0 else "down"
        return f"Every price {direction} {abs(bp) / 100:g}% (indexation)"
    if kind is AmendmentKind.NEW_PRICES:
        old = rules.describe_prices([p for _, p in before["tiers"]])
        new = rules.describe_prices([p for _, p in after["tiers"]])
        return f"New prices {new} (were {old})"
    if kind is AmendmentKind.EXTENSION:
        old_end, new_end = (
            date.fromisoformat(before["ends_on"]),
            date.fromisoformat(after["ends_on"]),
        )
        return f"Extended to {new_end:%-d %B %Y} (was to end on {old_end:%-d %B %Y})"
    old_capacity = before["capacity"]
    was = f"{old_capacity:,} units" if old_capacity is not None else "not limited"
    return f"Capacity changed to {after['capacity']:,} units (was {was})"


def preview(contract: Contract, amendment: ContractAmendment) -> tuple[dict, dict] | None:
    """What an approval would change now (None when the contract no longer allows it), or, once
    decided, what the approval did."""
    if amendment.before is not None and amendment.after is not None:
        return amendment.before, amendment.after
    try:
        return _check_and_state(contract, amendment)
    except InvalidContractChange:
        return None


# --- Proposing and deciding -------------------------------------------------------------------


def _record(actor: User, contract: Contract, action: str, now: datetime, **changes: Any) -> None:
    event = audit.record(
        actor, "contract", contract.id, action, scope=f"contract:{contract.id}", **changes
    )
    event.at = now


@use_case
def propose_amendment(
    contract_id: int, actor: User, data: AmendmentInput, now: datetime | None = None
) -> ContractAmendment:
    """Record a proposed change; nothing changes until a second person approves it."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    _require_changeable(contract, london_date(now))
    reason = _require_text(data.reason, "Say why the contract is changed", "reason")
    if data.effective_on is None:
        raise InvalidContractChange("Enter the date the change takes effect", field="effective_on")
    _refuse(
        rules.effective_date_problem(contract.starts_on, contract.ends_on, data.effective_on),
        "effective_on",
    )
    amendment = ContractAmendment(
        contract_id=contract.id,
        kind=data.kind,
        status=AmendmentStatus.PROPOSED,
        reason=reason,
        description="",
        effective_on=data.effective_on,
        proposed_by_id=actor.id,
        proposed_at=now,
    )
    if data.kind is AmendmentKind.PRICE_INDEXATION:
        if data.indexation_bp is None:
            raise InvalidContractChange("Enter the percentage", field="percent")
        amendment.indexation_bp = data.indexation_bp
    elif data.kind is AmendmentKind.NEW_PRICES:
        amendment.new_tiers = [
            [tier.min_quantity, price if price is not None else 0]
            for tier, price in zip(contract.tiers, data.tier_prices, strict=False)
        ]
        _refuse(
            rules.new_prices_problem(
                [t.unit_price_pence for t in contract.tiers], list(data.tier_prices)
            ),
            "prices",
        )
    elif data.kind is AmendmentKind.EXTENSION:
        if data.new_ends_on is None:
            raise InvalidContractChange("Enter the new end date", field="new_ends_on")
        amendment.new_ends_on = data.new_ends_on
    else:
        if data.new_capacity is None:
            raise InvalidContractChange("Enter the new capacity", field="new_capacity")
        amendment.new_capacity = data.new_capacity
    before, after = _check_and_state(contract, amendment)
    amendment.description = describe(amendment, before, after)[:500]
    amendment.number = (
        db.session.scalar(
            sa.select(sa.func.max(ContractAmendment.number)).where(
                ContractAmendment.contract_id == contract.id
            )
        )
        or 0
    ) + 1
    db.session.add(amendment)
    db.session.flush()
    _record(
        actor,
        contract,
        "amendment proposed",
        now,
        after={"amendment": amendment.number, "kind": amendment.kind.value, "reason": reason},
    )
    emails.amendment_proposed(contract, amendment, actor)
    db.session.commit()
    return amendment


def _latest_release_id(tender_id: int) -> str | None:
    return db.session.scalar(
        sa.select(TenderRelease.release_id)
        .where(TenderRelease.tender_id == tender_id)
        .order_by(TenderRelease.sequence.desc())
        .limit(1)
    )


def _publish(contract: Contract, tag: str, now: datetime) -> tuple[str | None, str | None]:
    """A tender contract's release (OCDS) for the change: (the release before it, this one)."""
    if contract.source is not ContractSource.TENDER or contract.source_id is None:
        return None, None  # buying rounds publish no OCDS process
    tender = locked_tender(contract.source_id)
    if not tender.was_published:
        return None, None
    previous = _latest_release_id(tender.id)
    release = ocds.record_release(tender, tag, now)
    return previous, release.release_id


@use_case
def approve_amendment(
    contract_id: int, amendment_id: int, actor: User, now: datetime | None = None
) -> ContractAmendment:
    """A second committee member or admin approves: the change is applied, now, in full."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    amendment = get_amendment(contract, amendment_id, lock=True)
    if amendment.status is not AmendmentStatus.PROPOSED:
        raise ContractChangeConflict("This change has already been decided.")
    problem = rules.second_approver_problem(amendment.proposed_by_id, actor.id)
    if problem:
        raise SecondApproverRequired(problem)
    _require_changeable(contract, london_date(now))
    before, after = _check_and_state(contract, amendment)
    _apply(contract, after)
    amendment.before, amendment.after = before, after
    amendment.description = describe(amendment, before, after)[:500]
    amendment.status = AmendmentStatus.APPROVED
    amendment.decided_by_id = actor.id
    amendment.decided_at = now
    _record(
        actor,
        contract,
        f"amendment {amendment.number} approved",
        now,
        before=before,
        after=after,
    )
    db.session.flush()
    amendment.amends_release_id, amendment.release_id = _publish(contract, "contractAmendment", now)
    emails.amendment_approved(contract, amendment)
    db.session.commit()
    return amendment


@use_case
def reject_amendment(
    contract_id: int, amendment_id: int, actor: User, note: str, now: datetime | None = None
) -> ContractAmendment:
    """Another committee member or admin turns the proposal down, saying why; nothing changes."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    amendment = get_amendment(contract, amendment_id, lock=True)
    if amendment.status is not AmendmentStatus.PROPOSED:
        raise ContractChangeConflict("This change has already been decided.")
    if amendment.proposed_by_id == actor.id:
        raise SecondApproverRequired(
            "You proposed this change: withdraw it instead, or ask someone else to decide."
        )
    note = _require_text(note, "Say why the change is rejected", "note")
    _decide(amendment, AmendmentStatus.REJECTED, actor, now, note)
    _record(actor, contract, f"amendment {amendment.number} rejected", now, after={"note": note})
    db.session.commit()
    return amendment


@use_case
def withdraw_amendment(
    contract_id: int, amendment_id: int, actor: User, now: datetime | None = None
) -> ContractAmendment:
    """Whoever proposed a change takes it back before it is decided; nothing changes."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    amendment = get_amendment(contract, amendment_id, lock=True)
    if amendment.status is not AmendmentStatus.PROPOSED:
        raise ContractChangeConflict("This change has already been decided.")
    if amendment.proposed_by_id != actor.id:
        raise ContractChangeNotAllowed("Only whoever proposed a change can withdraw it.")
    _decide(amendment, AmendmentStatus.WITHDRAWN, actor, now, None)
    _record(actor, contract, f"amendment {amendment.number} withdrawn", now)
    db.session.commit()
    return amendment


def _decide(
    amendment: ContractAmendment,
    status: AmendmentStatus,
    actor: User,
    now: datetime,
    note: str | None,
) -> None:
    amendment.status = status
    amendment.decided_by_id = actor.id
    amendment.decided_at = now
    amendment.decision_note = note


# --- The extension limit and termination ------------------------------------------------------


@use_case
def set_extension_limit(
    contract_id: int, actor: User, allowed_until: date | None, now: datetime | None = None
) -> Contract:
    """How far the contract may be extended (None: not at all), as its terms allow."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    _require_changeable(contract, london_date(now))
    _refuse(
        rules.extension_limit_problem(contract.starts_on, contract.ends_on, allowed_until),
        "allowed_until",
    )
    before = contract.extension_allowed_until
    contract.extension_allowed_until = allowed_until
    _record(
        actor,
        contract,
        "extension limit set",
        now,
        before={"extension_allowed_until": before.isoformat() if before else None},
        after={"extension_allowed_until": allowed_until.isoformat() if allowed_until else None},
    )
    db.session.commit()
    return contract


@use_case
def terminate_contract(
    contract_id: int,
    actor: User,
    reason: str,
    terminated_on: date | None,
    now: datetime | None = None,
) -> Contract:
    """End the contract early: no call-off at its prices from `terminated_on`."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    _require_changeable(contract, london_date(now))
    reason = _require_text(reason, "Say why the contract is terminated", "reason")
    if terminated_on is None:
        raise InvalidContractChange(
            "Enter the date the termination takes effect", field="terminated_on"
        )
    _refuse(
        rules.termination_problem(contract.starts_on, contract.ends_on, terminated_on),
        "terminated_on",
    )
    before = {"status": contract.status.value}
    contract.status = ContractStatus.TERMINATED
    contract.terminated_on = terminated_on
    contract.termination_reason = reason
    contract.terminated_at = now
    for waiting in db.session.scalars(
        sa.select(ContractAmendment).where(
            ContractAmendment.contract_id == contract.id,
            ContractAmendment.status == AmendmentStatus.PROPOSED,
        )
    ):
        _decide(waiting, AmendmentStatus.WITHDRAWN, actor, now, "The contract was terminated.")
    _record(
        actor,
        contract,
        "terminated",
        now,
        before=before,
        after={
            "status": contract.status.value,
            "terminated_on": terminated_on.isoformat(),
            "reason": reason,
        },
    )
    db.session.flush()
    _publish(contract, "contractTermination", now)
    emails.contract_terminated(contract)
    db.session.commit()
    return contract
