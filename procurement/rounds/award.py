"""Awarding a run, and what the award made.

An award creates, per awarded provider and lot, a `procurement.contracts.models.Contract` with
its schools, a confirmed call-off `marketplace.orders.models.Order` per school and supplier,
capacity reservations on the offers, and a RoundNotice per pledging school, all in one
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import Term, term_label
from app.extensions import db, rows_changed
from app.models import User
from app.money import format_pence, largest_remainder
from app.time import utcnow
from app.use_case import use_case
from marketplace.offers.models import Offer
from marketplace.orders.capacity import reserve_capacity
from marketplace.orders.errors import CapacityExhausted, OfferUnavailable
from marketplace.orders.models import Order, OrderKind, OrderStatus
from marketplace.orders.rules import plural
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from procurement.kpis.targets import install_default_kpis
from procurement.rounds.access import audit_scope, awarded_run, get_run, lock_round
from procurement.rounds.answers import Answer, SchoolLine, run_answer
from procurement.rounds.emails import round_awarded
from procurement.rounds.errors import AwardCapacityConflict, RoundStateConflict, RunStateConflict
from procurement.rounds.models import (
    ROUND_RUNNABLE_STATUSES,
    BuyingRound,
    Pledge,
    RoundNotice,
    RoundRun,
    RoundStatus,
    RunStatus,
)


@dataclass(frozen=True)
class AwardSummary:
    contracts: int
    orders: int
    schools: int
    total_pence: int


def _check_integers(run: RoundRun, answer: Answer) -> None:
    """Recompute every award from the run's own inputs, in integer pence, before billing."""
    offers = {o["id"]: o for o in run.inputs["offers"]}
    pooled: dict[str, int] = defaultdict(int)
    for award in answer.awards:
        offer = offers[award.offer_key]
        tiers = offer["tiers"]
        reached = [t for t in tiers if t["from"] <= award.units]
        if not reached or award.units > offer["capacity"]:
            raise RunStateConflict(f"Run {run.number} awards an offer more than it can take.")
        unit = reached[-1]["unit_price_pence"]
        cost = award.units * unit + offer["setup_pence"]
        if (unit, cost) != (award.unit_price_pence, award.cost_pence):
            raise RunStateConflict(
                f"Run {run.number}'s prices do not match its inputs; run the aggregator again."
            )
        pooled[award.lot_key] += cost
    charged: dict[str, int] = defaultdict(int)
    for line in answer.lines:
        charged[line.lot_key] += line.charge_pence
        if sum(s.units for s in line.supplies) != line.met or line.met > line.pledged:
            raise RunStateConflict(f"Run {run.number}'s allocations do not add up.")
    if any(pooled.get(key, 0) != charged.get(key, 0) for key in pooled.keys() | charged.keys()):
        raise RunStateConflict(
            f"Run {run.number}'s charges do not add up to its awards; run the aggregator again."
        )


def _approved_pledges(
    round_id: int, run: RoundRun, answer: Answer
) -> dict[tuple[int, str], Pledge]:
    """The approved pledge behind each school line that gets units, by (school id, lot key).

    A run uses only approved pledges; if one was since withdrawn or changed back to waiting for
    the head, the award is refused, naming them, and the committee runs the aggregator again.
    """
    rows = db.session.scalars(sa.select(Pledge).where(Pledge.round_id == round_id))
    by_lot = {(p.school_id, p.service_id, p.term_key): p for p in rows}
    found: dict[tuple[int, str], Pledge] = {}
    stale: list[str] = []
    for line in answer.lines:
        if not line.supplies:
            continue
        lot = run.labels["lots"][line.lot_key]
        pledge = by_lot.get((line.school_id, lot["service_id"], lot["term_key"]))
        if pledge is None or not pledge.active or not pledge.approved:
            stale.append(f"{line.school_name} ({line.lot_label})")
            continue
        found[(line.school_id, line.lot_key)] = pledge
    if stale:
        raise RunStateConflict(
            f"Run {run.number} allocates to pledges that are no longer approved: "
            + "; ".join(stale)
            + ". Run the aggregator again; nothing was changed."
        )
    return found


def _contract_reference(round_id: int, term_key: str, offer_id: int) -> str:
    return f"RND{round_id}-{term_key}-O{offer_id}"


@use_case
def award_run(round_id: int, run_id: int, actor: User, now: datetime | None = None) -> AwardSummary:
    """Award a run: contracts per provider and lot, confirmed call-offs, capacity, notices.

    All in one transaction. The round's status moves to awarded with one conditional UPDATE
    first, so a second award of the same round (even at the same moment) is refused.
    """
    now = now or utcnow()
    buying_round = lock_round(round_id)
    run = get_run(round_id, run_id)
    if buying_round.status is RoundStatus.AWARDED:
        earlier = awarded_run(round_id)
        raise RoundStateConflict(
            "This round has already been awarded"
            + (f" (run {earlier.number})" if earlier else "")
            + "; nothing was changed."
        )
    if buying_round.status is RoundStatus.CANCELLED:
        raise RoundStateConflict("This round was cancelled, so it cannot be awarded.")
    if run.in_progress:
        raise RunStateConflict(f"Run {run.number} has not finished yet.")
    if run.status is RunStatus.FAILED:
        raise RunStateConflict(f"Run {run.number} failed, so it cannot be awarded.")
    if not run.found_allocation:
        raise RunStateConflict(
            f"Run {run.number} found no allocation that meets the rules"
            + (f" ({run.message})" if run.message else "")
            + ", so it cannot be awarded. Change the rules and run again."
        )
    answer = run_answer(run)
    assert answer is not None
    if not answer.awards:
        raise RunStateConflict(f"Run {run.number} awards nothing, so there is nothing to award.")
    _check_integers(run, answer)
    pledges = _approved_pledges(round_id, run, answer)
    before_status = buying_round.snapshot()
    moved = rows_changed(
        sa.update(BuyingRound)
        .where(BuyingRound.id == round_id, BuyingRound.status.in_(ROUND_RUNNABLE_STATUSES))
        .values(status=RoundStatus.AWARDED, awarded_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        raise RoundStateConflict("This round has already been awarded; nothing was changed.")
    db.session.refresh(buying_round)

    # Capacity first: if any offer can no longer take its award, nothing is written.
    for award in answer.awards:
        term_key = run.labels["offers"][award.offer_key]["term_key"]
        try:
            reserve_capacity(award.offer_id, term_key, award.units)
        except (CapacityExhausted, OfferUnavailable) as exc:
            raise AwardCapacityConflict(
                f"{award.provider_name} can no longer take {award.units} "
                f"{plural(award.unit, award.units)} in {term_label(term_key)} ({exc.message}) "
                f"Run the aggregator again with today’s capacity; nothing was changed."
            ) from None

    offers = {
        o.id: o
        for o in db.session.scalars(
            sa.select(Offer).where(Offer.id.in_({a.offer_id for a in answer.awards}))
        )
    }
    contracts: dict[str, Contract] = {}
    for award in answer.awards:
        offer = offers[award.offer_id]
        term = Term.parse(run.labels["offers"][award.offer_key]["term_key"])
        contract = Contract(
            reference=_contract_reference(round_id, term.key, award.offer_id),
            title=f"{buying_round.title}: {offer.service.name}, {term.label}"[:200],
            provider_id=award.provider_id,
            service_id=offer.service_id,
            source=ContractSource.ROUND,
            source_id=round_id,
            status=ContractStatus.ACTIVE,
            starts_on=term.starts_on,
            ends_on=term.ends_on,
            capacity=award.units,
            awarded_at=now,
            tiers=[ContractTier(min_quantity=0, unit_price_pence=award.unit_price_pence)],
        )
        db.session.add(contract)
        contracts[award.offer_key] = contract
    db.session.flush()
    install_default_kpis(list(contracts.values()))

    orders = 0
    schools: set[int] = set()
    per_school: dict[int, list[SchoolLine]] = defaultdict(list)
    for line in answer.lines:
        per_school[line.school_id].append(line)
        if not line.supplies:
            continue
        pledge = pledges[(line.school_id, line.lot_key)]
        # The school's charge for the lot, split over its suppliers by what their units cost.
        weights = [s.units * s.award.unit_price_pence for s in line.supplies]
        if sum(weights) == 0:
            weights = [s.units for s in line.supplies]
        shares = largest_remainder(line.charge_pence, weights)
        # What those units would have cost the school alone, split the same way.
        alone = largest_remainder(line.basis_pence, weights)
        for supply, share, alone_pence in zip(line.supplies, shares, alone, strict=True):
            award = supply.award
            contract = contracts[award.offer_key]
            term_key = run.labels["offers"][award.offer_key]["term_key"]
            db.session.add(
                ContractSchool(
                    contract_id=contract.id,
                    school_id=line.school_id,
                    allocated_quantity=supply.units,
                    charge_pence=share,
                    standalone_pence=alone_pence,
                )
            )
            order = Order(
                school_id=line.school_id,
                provider_id=award.provider_id,
                service_id=offers[award.offer_id].service_id,
                offer_id=award.offer_id,
                contract_id=contract.id,
                kind=OrderKind.CALL_OFF,
                term_key=term_key,
                quantity=supply.units,
                entitled_quantity=0,
                unit_price_pence=(2 * share + supply.units) // (2 * supply.units),
                setup_pence=0,
                total_pence=share,
                po_number=pledge.po_number,
                notes=(
                    f"Call-off from buying round “{buying_round.title}” (run {run.number}), "
                    f"contract {contract.reference}: {supply.units} "
                    f"{plural(award.unit, supply.units)} for your pooled charge of "
                    f"{format_pence(share)}."
                ),
                status=OrderStatus.CONFIRMED,
                created_by_id=actor.id,
                submitted_at=now,
                # Approved as the pledge was: by the head, or within the threshold when made.
                approved_at=pledge.approved_at,
                approved_by_id=pledge.approved_by_id,
                confirmed_at=now,
            )
            db.session.add(order)
            db.session.flush()
            audit.record(
                actor,
                "order",
                order.id,
                "created",
                after={
                    **order.snapshot(),
                    "contract_id": contract.id,
                    "round_id": round_id,
                    "pledge_id": pledge.id,
                    "po_number": order.po_number,
                },
                scope=f"school:{order.school_id}",
            )
            orders += 1
            schools.add(line.school_id)

    for school_id, school_lines in sorted(per_school.items()):
        parts = _award_parts(school_lines)
        db.session.add(
            RoundNotice(
                round_id=round_id,
                school_id=school_id,
                message=" ".join(
                    [
                        f"Buying round “{buying_round.title}” has been awarded.",
                        *parts,
                        "Your call-off orders are confirmed.",
                    ]
                ),
                created_at=now,
            )
        )
        round_awarded(
            buying_round,
            school_id,
            parts,
            charge_pence=sum(line.charge_pence for line in school_lines),
            saving_pence=sum(line.saving_pence for line in school_lines),
        )

    run.awarded_at = now
    run.awarded_by_id = actor.id
    total = sum(line.charge_pence for line in answer.lines)
    audit.record(
        actor,
        "round",
        round_id,
        "awarded",
        before=before_status,
        after={
            **buying_round.snapshot(),
            "run": run.number,
            "run_id": run.id,
            "contracts": sorted(c.reference for c in contracts.values()),
            "orders": orders,
            "total_pence": total,
        },
        scope=audit_scope(round_id),
    )
    db.session.commit()
    return AwardSummary(len(contracts), orders, len(schools), total)


def _award_parts(lines: Iterable[SchoolLine]) -> list[str]:
    """One sentence per lot: what the school got, from whom, its charge and saving."""
    parts = []
    for line in lines:
        if line.met == 0:
            parts.append(
                f"{line.lot_label}: none of your {line.pledged} "
                f"{plural(line.unit, line.pledged)} could be met; order them from the catalogue."
            )
            continue
        providers = ", ".join(sorted({s.award.provider_name for s in line.supplies}))
        text = (
            f"{line.lot_label}: {line.met} {plural(line.unit, line.met)} from {providers} for "
            f"{format_pence(line.charge_pence)} (alone {format_pence(line.basis_pence)}, you save "
            f"{format_pence(line.saving_pence)})."
        )
        if line.unmet:
            text += f" {line.unmet} of your {line.pledged} could not be met."
        parts.append(text)
    parts.append(
        "Your call-off orders are confirmed. Any without your purchase-order number are not "
        "billed until you add it on the order."
    )
    return parts


def call_offs_for_school(round_id: int, school_id: int) -> list[Order]:
    """The school's call-off orders from this round's contracts."""
    return list(
        db.session.scalars(
            sa.select(Order)
            .join(Contract, Contract.id == Order.contract_id)
            .where(
                Order.school_id == school_id,
                Contract.source == ContractSource.ROUND,
                Contract.source_id == round_id,
            )
            .order_by(Order.id)
        )
    )


def contracts_of(round_id: int) -> list[Contract]:
    return list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.source == ContractSource.ROUND, Contract.source_id == round_id)
            .options(selectinload(Contract.provider), selectinload(Contract.schools))
            .order_by(Contract.reference)
        )
    )
