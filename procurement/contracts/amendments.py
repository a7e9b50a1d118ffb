"""Contract changes (the UK10 contract change notice) and early termination (UK11).

A change is *proposed* by a committee member or an admin, with its reason and the date it takes
effect, and changes nothing yet. A *second* committee member or admin approves it, and the
approval applies it in the same transaction: the contract's prices, end date or capacity change,
the amendment keeps `before` and `after`, the provider is told (and, for prices, the schools
taking part), and a contract from a tender publishes a `contractAmendment` release. A proposal
rejected (by someone else, with a note) or withdrawn (by whoever proposed it) changes nothing.

A change applies when it is approved; its effective date is the contractual date it records and
publishes. Pricing has no dated price history: approve a change on (or just before) the day it
takes effect. Termination and the extension limit are in `procurement.contracts.termination`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.time import london_date, utcnow
from app.use_case import use_case
from procurement.contracts import emails, rules
from procurement.contracts.access import (
    latest_release_id,
    locked_contract,
    record,
    refuse,
    release_tender,
    require_changeable,
    require_contract_manager,
    require_text,
)
from procurement.contracts.calloffs import drawdown_of
from procurement.contracts.errors import (
    AmendmentNotFound,
    ContractChangeConflict,
    ContractChangeNotAllowed,
    InvalidContractChange,
    SecondApproverRequired,
)
from procurement.contracts.models import (
    AmendmentKind,
    AmendmentStatus,
    Contract,
    ContractAmendment,
)
from procurement.tenders import ocds


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


# --- Loading ----------------------------------------------------------------------------------


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
        refuse(rules.indexation_problem(bp, prices), "percent")
        after = {
            key: [[k, rules.indexed_price(p, bp)] for k, p in rows] for key, rows in before.items()
        }
        return before, after
    if kind is AmendmentKind.NEW_PRICES:
        tiers = [[t.min_quantity, t.unit_price_pence] for t in contract.tiers]
        proposed = [row[1] for row in amendment.new_tiers or []]
        refuse(rules.new_prices_problem([p for _, p in tiers], proposed), "prices")
        after_tiers = [[k, price] for (k, _), price in zip(tiers, proposed, strict=True)]
        return {"tiers": tiers}, {"tiers": after_tiers}
    if kind is AmendmentKind.EXTENSION:
        assert amendment.new_ends_on is not None
        refuse(
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
    # Checked again at approval, under the contract's lock, which call-offs take too.
    called_off = drawdown_of(contract).used_units
    refuse(
        rules.capacity_problem(contract.capacity, amendment.new_capacity, called_off),
        "new_capacity",
    )
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


@use_case
def propose_amendment(
    contract_id: int, actor: User, data: AmendmentInput, now: datetime | None = None
) -> ContractAmendment:
    """Record a proposed change; nothing changes until a second person approves it."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    require_changeable(contract, london_date(now))
    reason = require_text(data.reason, "Say why the contract is changed", "reason")
    if data.effective_on is None:
        raise InvalidContractChange("Enter the date the change takes effect", field="effective_on")
    refuse(
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
        refuse(
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
    record(
        actor,
        contract,
        "amendment proposed",
        now,
        after={"amendment": amendment.number, "kind": amendment.kind.value, "reason": reason},
    )
    emails.amendment_proposed(contract, amendment, actor)
    db.session.commit()
    return amendment


def _undecided(
    contract_id: int, amendment_id: int, actor: User
) -> tuple[Contract, ContractAmendment]:
    """The contract (locked) and its proposed change (locked), for a committee member or admin
    to decide; a change already decided is a conflict."""
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    amendment = get_amendment(contract, amendment_id, lock=True)
    if amendment.status is not AmendmentStatus.PROPOSED:
        raise ContractChangeConflict("This change has already been decided.")
    return contract, amendment


@use_case
def approve_amendment(
    contract_id: int, amendment_id: int, actor: User, now: datetime | None = None
) -> ContractAmendment:
    """A second committee member or admin approves: the change is applied, now, in full."""
    now = now or utcnow()
    contract, amendment = _undecided(contract_id, amendment_id, actor)
    problem = rules.second_approver_problem(amendment.proposed_by_id, actor.id)
    if problem:
        raise SecondApproverRequired(problem)
    require_changeable(contract, london_date(now))
    before, after = _check_and_state(contract, amendment)
    _apply(contract, after)
    amendment.before, amendment.after = before, after
    amendment.description = describe(amendment, before, after)[:500]
    amendment.status = AmendmentStatus.APPROVED
    amendment.decided_by_id = actor.id
    amendment.decided_at = now
    record(
        actor,
        contract,
        f"amendment {amendment.number} approved",
        now,
        before=before,
        after=after,
    )
    db.session.flush()
    tender = release_tender(contract)
    if tender is not None:  # the UK10 contract change notice
        amendment.amends_release_id = latest_release_id(tender.id)
        release = ocds.record_release(tender, "contractAmendment", now)
        amendment.release_id = release.release_id
    emails.amendment_approved(contract, amendment)
    db.session.commit()
    return amendment


@use_case
def reject_amendment(
    contract_id: int, amendment_id: int, actor: User, note: str, now: datetime | None = None
) -> ContractAmendment:
    """Another committee member or admin turns the proposal down, saying why; nothing changes."""
    now = now or utcnow()
    contract, amendment = _undecided(contract_id, amendment_id, actor)
    if amendment.proposed_by_id == actor.id:
        raise SecondApproverRequired(
            "You proposed this change: withdraw it instead, or ask someone else to decide."
        )
    note = require_text(note, "Say why the change is rejected", "note")
    _decide(amendment, AmendmentStatus.REJECTED, actor, now, note)
    record(actor, contract, f"amendment {amendment.number} rejected", now, after={"note": note})
    db.session.commit()
    return amendment


@use_case
def withdraw_amendment(
    contract_id: int, amendment_id: int, actor: User, now: datetime | None = None
) -> ContractAmendment:
    """Whoever proposed a change takes it back before it is decided; nothing changes."""
    now = now or utcnow()
    contract, amendment = _undecided(contract_id, amendment_id, actor)
    if amendment.proposed_by_id != actor.id:
        raise ContractChangeNotAllowed("Only whoever proposed a change can withdraw it.")
    _decide(amendment, AmendmentStatus.WITHDRAWN, actor, now, None)
    record(actor, contract, f"amendment {amendment.number} withdrawn", now)
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
