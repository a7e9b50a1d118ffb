"""The pipeline page's figures and the committee's decisions.

**Spend to date** of a contract is the total of the orders placed under it (`Order.contract_id`)
that hold capacity: reserved (submitted, approved or confirmed: committed, not yet delivered),
delivered, and invoiced, each at the order's total in pence (net of VAT, set-up included).
Cancelled, declined, rejected and draft orders count nothing. A buying round's contract also
shows the charges agreed at the award (`ContractSchool.charge_pence`): its call-offs are orders
under the contract too, so the agreed charges are shown beside the spend, never added to it.
**Volumes**: units called off (the same orders' quantities) against the units allocated to the
schools taking part and the contract's capacity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import Role, User
from app.time import utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.orders.models import Order, OrderStatus
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus
from procurement.kpis.queries import kpi_status_for_contract
from procurement.pipeline import rules
from procurement.pipeline.errors import (
    DecisionActedOn,
    PipelineContractNotFound,
    PipelineError,
    PipelineNotAllowed,
)
from procurement.pipeline.models import RenewalDecision
from procurement.pipeline.rules import RenewalChoice

NOTE_MAX = 2_000
RESERVED = (OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.CONFIRMED)
# Contracts still running: an ended or terminated contract has nothing left to renew.
LIVE = (ContractStatus.PENDING, ContractStatus.ACTIVE)


@dataclass
class Spend:
    reserved_pence: int = 0
    delivered_pence: int = 0
    invoiced_pence: int = 0
    units_called_off: int = 0

    @property
    def total_pence(self) -> int:
        return self.reserved_pence + self.delivered_pence + self.invoiced_pence


@dataclass
class PipelineRow:
    contract: Contract
    service: Service
    spend: Spend
    allocated: int
    agreed_charges_pence: int | None  # a buying round's contract only
    kpi_status: str
    decision: RenewalDecision | None
    days_left: int
    choices: list[RenewalChoice] = field(default_factory=list)

    @property
    def from_tender(self) -> bool:
        return self.contract.source is ContractSource.TENDER


def require_partnership(user: User) -> None:
    """The pipeline is the committee's and the partnership office's."""
    if user.role not in (Role.COMMITTEE, Role.ADMIN):
        raise PipelineNotAllowed("Only the committee and the partnership office see the pipeline.")


def require_committee(user: User) -> None:
    if user.role is not Role.COMMITTEE:
        raise PipelineNotAllowed("Only committee members decide what happens to a contract.")


def kpi_status(contract: Contract, today: date | None = None) -> str:
    """The contract's KPI status in words, for the latest quarter ended
    (`procurement.kpis.queries.kpi_status_for_contract`)."""
    return KPI_WORDS[kpi_status_for_contract(contract.id, today)]


KPI_WORDS = {"met": "On target", "below": "Below target", "no data": "No data yet"}


def spend_by_contract(contract_ids: list[int]) -> dict[int, Spend]:
    """Spend to date and units called off per contract (the definition above), one query."""
    spend: dict[int, Spend] = defaultdict(Spend)
    if not contract_ids:
        return spend
    rows = db.session.execute(
        sa.select(
            Order.contract_id,
            Order.status,
            sa.func.coalesce(sa.func.sum(Order.total_pence), 0),
            sa.func.coalesce(sa.func.sum(Order.quantity), 0),
        )
        .where(
            Order.contract_id.in_(contract_ids),
            Order.status.in_((*RESERVED, OrderStatus.DELIVERED, OrderStatus.INVOICED)),
        )
        .group_by(Order.contract_id, Order.status)
    )
    for contract_id, status, total, units in rows:
        if contract_id is None:
            continue  # not reached: the query selects orders under the contracts given
        row = spend[contract_id]
        if status is OrderStatus.DELIVERED:
            row.delivered_pence += int(total)
        elif status is OrderStatus.INVOICED:
            row.invoiced_pence += int(total)
        else:
            row.reserved_pence += int(total)
        row.units_called_off += int(units)
    return spend


def _allocations(contract_ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """(units allocated, agreed charges or None) per contract, one query."""
    if not contract_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            ContractSchool.contract_id,
            sa.func.coalesce(sa.func.sum(ContractSchool.allocated_quantity), 0),
            sa.func.sum(ContractSchool.charge_pence),
        )
        .where(ContractSchool.contract_id.in_(contract_ids))
        .group_by(ContractSchool.contract_id)
    )
    return {
        cid: (int(units), None if charges is None else int(charges)) for cid, units, charges in rows
    }


def pipeline_rows(today: date) -> list[PipelineRow]:
    """Contracts ending from today to 18 months on, soonest first, with their figures."""
    contracts = list(
        db.session.scalars(
            sa.select(Contract)
            .where(
                Contract.status.in_(LIVE),
                Contract.ends_on >= today,
                Contract.ends_on <= rules.window_end(today),
            )
            .options(selectinload(Contract.provider))
            .order_by(Contract.ends_on, Contract.reference)
        )
    )
    ids = [c.id for c in contracts]
    spend = spend_by_contract(ids)
    allocations = _allocations(ids)
    services = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Service).where(Service.id.in_({c.service_id for c in contracts}))
        )
    }
    decisions = {
        d.contract_id: d
        for d in db.session.scalars(
            sa.select(RenewalDecision)
            .where(RenewalDecision.contract_id.in_(ids))
            .options(selectinload(RenewalDecision.decided_by))
        )
    }
    rows = []
    for contract in contracts:
        allocated, charges = allocations.get(contract.id, (0, None))
        rows.append(
            PipelineRow(
                contract=contract,
                service=services[contract.service_id],
                spend=spend[contract.id],
                allocated=allocated,
                agreed_charges_pence=charges if contract.source is ContractSource.ROUND else None,
                kpi_status=kpi_status(contract, today),
                decision=decisions.get(contract.id),
                days_left=(contract.ends_on - today).days,
                choices=rules.allowed_choices(contract.source is ContractSource.TENDER),
            )
        )
    return rows


def get_pipeline_contract(contract_id: int, today: date, *, lock: bool = False) -> Contract:
    """A contract still running (ended and terminated ones have nothing to decide); 404 else.

    `lock`: the row stays locked until the use case commits (PostgreSQL: SELECT … FOR UPDATE),
    so two committee members deciding or drafting at once take turns.
    """
    stmt = sa.select(Contract).where(Contract.id == contract_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    contract = db.session.scalar(stmt)
    if contract is None or contract.status not in LIVE or contract.ends_on < today:
        raise PipelineContractNotFound("Page not found")
    return contract


def decision_for(contract_id: int) -> RenewalDecision | None:
    return db.session.scalar(
        sa.select(RenewalDecision).where(RenewalDecision.contract_id == contract_id)
    )


def _fields(decision: RenewalDecision) -> dict[str, str]:
    return {"choice": decision.choice.value, "note": decision.note}


def decide_now(
    contract: Contract, actor: User, choice: RenewalChoice, note: str, now: datetime
) -> RenewalDecision:
    """Write (or change) the decision in the caller's transaction; the use cases commit."""
    require_committee(actor)
    if choice not in rules.allowed_choices(contract.source is ContractSource.TENDER):
        raise PipelineError(
            "A buying round's contract cannot be extended: choose re-tender, a buying round "
            "or let it lapse",
            field="choice",
        )
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise PipelineError(f"Keep the note to {NOTE_MAX:,} characters or fewer", field="note")
    decision = db.session.scalar(
        sa.select(RenewalDecision)
        .where(RenewalDecision.contract_id == contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    before = None
    if decision is None:
        decision = RenewalDecision(contract_id=contract.id, choice=choice)
        db.session.add(decision)
    else:
        if decision.acted_at is not None:
            raise DecisionActedOn(
                "This decision has been acted on (a draft was made from it), so it can no "
                "longer be changed."
            )
        before = _fields(decision)
    decision.choice = choice
    decision.note = note
    decision.decided_by_id = actor.id
    decision.decided_at = now
    db.session.flush()
    audit.record(
        actor,
        "renewal_decision",
        decision.id,
        "decided" if before is None else "changed",
        before=before,
        after={**_fields(decision), "contract_id": contract.id},
        scope=f"contract:{contract.id}",
    )
    return decision


@use_case
def record_decision(
    contract_id: int,
    actor: User,
    choice: RenewalChoice,
    note: str,
    today: date,
    now: datetime | None = None,
) -> RenewalDecision:
    """Record (or change, until acted on) the committee's decision for a contract ending."""
    now = now or utcnow()
    require_committee(actor)
    contract = get_pipeline_contract(contract_id, today, lock=True)
    decision = decide_now(contract, actor, choice, note, now)
    db.session.commit()
    return decision
