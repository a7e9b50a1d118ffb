"""Setting the managed service up (the partnership): the contract, its agencies in release
order, the rate card in parts, schools' pre-contract rates, and workers and their vetting
(the agencies)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import Provider, School, User
from app.time import utcnow
from app.use_case import use_case
from marketplace.supply import access, rules
from marketplace.supply.errors import InvalidSupply, SupplyNotFound, SupplyStateConflict
from marketplace.supply.models import (
    Booking,
    CoverRequest,
    PreferredWorker,
    Proposal,
    SupplyAgency,
    SupplyBaseline,
    SupplyContract,
    SupplyRate,
    SupplyWorker,
    VettingCheck,
)

NAME_MAX = 200


@use_case
def create_contract(
    *,
    title: str,
    starts_on: date,
    ends_on: date,
    actor: User | None,
    reference: str = "",
    release_mode: rules.ReleaseMode = rules.ReleaseMode.ALL_AT_ONCE,
    release_window_minutes: int = 30,
    fill_by_hours: int = 12,
    cancellation_notice_hours: int = 24,
    cancellation_fee_bp: int = 10_000,
    introduced_fee_bp: int = 5_000,
    temp_to_perm_free_after_weeks: int = 12,
    temp_to_perm_max_fee_bp: int = 2_000,
) -> SupplyContract:
    """Record the managed-service contract the committee awarded, with its rules."""
    if not title.strip():
        raise InvalidSupply("Give the contract a title", field="title")
    if ends_on < starts_on:
        raise InvalidSupply("The contract must end on or after its start", field="ends_on")
    for name, bp in (
        ("cancellation_fee_percent", cancellation_fee_bp),
        ("introduced_fee_percent", introduced_fee_bp),
        ("temp_to_perm_max_fee_percent", temp_to_perm_max_fee_bp),
    ):
        if not 0 <= bp <= 10_000:
            raise InvalidSupply("A percentage must be between 0% and 100%", field=name)
    for name, number in (
        ("release_window_hours", release_window_minutes),
        ("fill_by_hours", fill_by_hours),
        ("cancellation_notice_hours", cancellation_notice_hours),
        ("temp_to_perm_free_after_weeks", temp_to_perm_free_after_weeks),
    ):
        if number < 0:
            raise InvalidSupply("Windows, notice and weeks cannot be negative", field=name)
    contract = SupplyContract(
        title=title.strip()[:NAME_MAX],
        reference=reference.strip()[:80],
        starts_on=starts_on,
        ends_on=ends_on,
        release_mode=release_mode,
        release_window_minutes=release_window_minutes,
        fill_by_hours=fill_by_hours,
        cancellation_notice_hours=cancellation_notice_hours,
        cancellation_fee_bp=cancellation_fee_bp,
        introduced_fee_bp=introduced_fee_bp,
        temp_to_perm_free_after_weeks=temp_to_perm_free_after_weeks,
        temp_to_perm_max_fee_bp=temp_to_perm_max_fee_bp,
    )
    db.session.add(contract)
    db.session.flush()
    audit.record(
        actor,
        "supply_contract",
        contract.id,
        "created",
        scope="supply",
        after={"title": contract.title},
    )
    db.session.commit()
    return contract


@use_case
def add_agency(contract_id: int, provider_id: int, rank: int, actor: User | None) -> SupplyAgency:
    """Put an agency on the contract at a release rank (1 = first)."""
    if db.session.get(SupplyContract, contract_id) is None:
        raise InvalidSupply("There is no such contract")
    if db.session.get(Provider, provider_id) is None:
        raise InvalidSupply("Choose an agency", field="provider_id")
    if rank < 1:
        raise InvalidSupply("Ranks start at 1", field="rank")
    if access.agency_rank(contract_id, provider_id) is not None:
        raise InvalidSupply("That agency is already on the contract", field="provider_id")
    agency = SupplyAgency(contract_id=contract_id, provider_id=provider_id, rank=rank)
    db.session.add(agency)
    db.session.flush()
    audit.record(
        actor,
        "supply_contract",
        contract_id,
        "agency-added",
        scope="supply",
        after={"provider_id": provider_id, "rank": rank},
    )
    db.session.commit()
    return agency


@use_case
def remove_agency(contract_id: int, provider_id: int, actor: User | None) -> None:
    """Take an agency off the contract with its rates, while it has proposed nobody under it
    (after that its proposals, bookings and timesheets keep pointing at its rates)."""
    agency = db.session.scalar(
        sa.select(SupplyAgency)
        .where(SupplyAgency.contract_id == contract_id, SupplyAgency.provider_id == provider_id)
        .with_for_update()
    )
    if agency is None:
        raise SupplyNotFound("That agency is not on the contract.")
    proposed = db.session.scalar(
        sa.select(Proposal.id)
        .join(CoverRequest, CoverRequest.id == Proposal.request_id)
        .where(CoverRequest.contract_id == contract_id, Proposal.provider_id == provider_id)
        .limit(1)
    )
    if proposed is not None:
        raise SupplyStateConflict(
            "This agency has proposed workers under the contract: it cannot be taken off."
        )
    db.session.execute(
        sa.delete(SupplyRate).where(
            SupplyRate.contract_id == contract_id, SupplyRate.provider_id == provider_id
        )
    )
    db.session.delete(agency)
    audit.record(
        actor,
        "supply_contract",
        contract_id,
        "agency-removed",
        scope="supply",
        before={"provider_id": provider_id, "rank": agency.rank},
    )
    db.session.commit()


@use_case
def set_rate(
    contract_id: int,
    provider_id: int,
    role: rules.SupplyRole,
    unit: rules.RateUnit,
    weighting: rules.Weighting,
    parts: rules.RateParts,
    actor: User | None,
) -> SupplyRate:
    """Put a rate on the card, or change one: its charge is the exact sum of its parts.

    A rate no proposal was priced at is changed in place. One that was is kept as it is,
    marked replaced, and the new rate takes its place on the card: proposals, bookings and
    their timesheets made at the old rate keep it; new proposals get the new one."""
    agency = db.session.scalar(
        sa.select(SupplyAgency)
        .where(SupplyAgency.contract_id == contract_id, SupplyAgency.provider_id == provider_id)
        .with_for_update()  # one change to this agency's card at a time
    )
    if agency is None:
        raise InvalidSupply("That agency is not on the contract", field="provider_id")
    if parts.pay_pence <= 0:
        raise InvalidSupply("Enter the worker's pay rate", field="pay")
    current = db.session.scalar(
        sa.select(SupplyRate).where(
            SupplyRate.contract_id == contract_id,
            SupplyRate.provider_id == provider_id,
            SupplyRate.role == role,
            SupplyRate.unit == unit,
            SupplyRate.weighting == weighting,
            SupplyRate.replaced_at.is_(None),
        )
    )
    before = None
    rate = current
    if current is not None:
        before = {"charge_pence": current.charge_pence, "fee_pence": current.fee_pence}
        if current.parts == parts:
            return current  # nothing changes
        if _priced_at(current.id):
            current.replaced_at = utcnow()
            db.session.flush()  # off the card before the new rate takes its cell
            rate = None
    if rate is None:
        rate = SupplyRate(
            contract_id=contract_id,
            provider_id=provider_id,
            role=role,
            unit=unit,
            weighting=weighting,
        )
        db.session.add(rate)
    rate.pay_pence = parts.pay_pence
    rate.ni_pence = parts.ni_pence
    rate.pension_pence = parts.pension_pence
    rate.holiday_pence = parts.holiday_pence
    rate.fee_pence = parts.fee_pence
    rate.charge_pence = parts.charge_pence
    db.session.flush()
    audit.record(
        actor,
        "supply_rate",
        rate.id,
        "set",
        scope="supply",
        before=before,
        after={
            "charge_pence": rate.charge_pence,
            "fee_pence": rate.fee_pence,
            "replaces_rate_id": current.id if current is not None and current is not rate else None,
        },
    )
    db.session.commit()
    return rate


def _priced_at(rate_id: int) -> bool:
    """Whether any proposal (and so perhaps a booking) was priced at this rate."""
    return (
        db.session.scalar(
            sa.select(Proposal.id)
            .where(sa.or_(Proposal.day_rate_id == rate_id, Proposal.half_day_rate_id == rate_id))
            .limit(1)
        )
        is not None
    )


@use_case
def set_baseline(
    school_id: int, role: rules.SupplyRole, day_charge_pence: int, actor: User | None
) -> SupplyBaseline:
    """A school's pre-contract day charge for a role, entered at onboarding."""
    if db.session.get(School, school_id) is None:
        raise InvalidSupply("There is no such school")
    if day_charge_pence <= 0:
        raise InvalidSupply("Enter the day charge the school paid before", field="day_charge")
    baseline = db.session.scalar(
        sa.select(SupplyBaseline).where(
            SupplyBaseline.school_id == school_id, SupplyBaseline.role == role
        )
    )
    if baseline is None:
        baseline = SupplyBaseline(school_id=school_id, role=role)
        db.session.add(baseline)
    baseline.day_charge_pence = day_charge_pence
    db.session.flush()
    audit.record(
        actor,
        "supply_baseline",
        baseline.id,
        "set",
        scope=f"school:{school_id}",
        after={"day_charge_pence": day_charge_pence},
    )
    db.session.commit()
    return baseline


# Workers ---------------------------------------------------------------------------------------


@use_case
def add_worker(
    provider_id: int,
    name: str,
    role: rules.SupplyRole,
    actor: User | None,
    *,
    trn: str = "",
    introduced_by_school_id: int | None = None,
) -> SupplyWorker:
    """An agency adds a worker to its books."""
    if not name.strip():
        raise InvalidSupply("Enter the worker's name", field="name")
    if len(name.strip()) > NAME_MAX:
        raise InvalidSupply(f"Keep the name to {NAME_MAX} characters", field="name")
    trn = trn.strip()
    if trn and not (trn.isdigit() and len(trn) == 7):
        raise InvalidSupply("A teacher reference number is 7 digits", field="trn")
    if (
        introduced_by_school_id is not None
        and db.session.get(School, introduced_by_school_id) is None
    ):
        raise InvalidSupply("There is no such school", field="introduced_by_school_id")
    worker = SupplyWorker(
        provider_id=provider_id,
        name=name.strip(),
        role=role,
        trn=trn,
        introduced_by_school_id=introduced_by_school_id,
    )
    db.session.add(worker)
    db.session.flush()
    audit.record(
        actor,
        "supply_worker",
        worker.id,
        "added",
        scope=f"provider:{provider_id}",
        after={"role": role.value},
    )
    db.session.commit()
    return worker


@use_case
def record_check(
    worker_id: int,
    provider_id: int,
    kind: rules.CheckKind,
    checked_on: date,
    expires_on: date,
    actor: User | None,
    reference: str = "",
) -> VettingCheck:
    """An agency records a vetting check (the latest of each kind replaces the one before)."""
    worker = access.get_worker_for_agency(worker_id, provider_id)
    if expires_on < checked_on:
        raise InvalidSupply(
            "The expiry date must be on or after the check's date", field="expires_on"
        )
    check = db.session.scalar(
        sa.select(VettingCheck).where(
            VettingCheck.worker_id == worker.id, VettingCheck.kind == kind
        )
    )
    if check is None:
        check = VettingCheck(worker_id=worker.id, kind=kind)
        db.session.add(check)
    check.checked_on = checked_on
    check.expires_on = expires_on
    check.reference = reference.strip()[:100]
    db.session.flush()
    audit.record(
        actor,
        "supply_worker",
        worker.id,
        "check-recorded",
        scope=f"provider:{provider_id}",
        after={
            "kind": kind.value,
            "checked_on": checked_on.isoformat(),
            "expires_on": expires_on.isoformat(),
        },
    )
    db.session.commit()
    return check


def vetting_problems(worker: SupplyWorker, on: date, until: date | None = None) -> list[str]:
    """Why the worker cannot be offered from `on` to `until` (empty: cleared)."""
    checks = [rules.Check(c.kind, c.checked_on, c.expires_on) for c in worker.checks]
    return rules.vetting_problems(worker.role, checks, on, until)


@use_case
def nominate(school_id: int, worker_id: int, actor: User | None) -> PreferredWorker:
    """A school names a worker it has had as preferred (flagged on its requests' proposals)."""
    if not db.session.scalar(
        sa.select(Booking.id).where(Booking.school_id == school_id, Booking.worker_id == worker_id)
    ):
        raise SupplyNotFound("The school has not had this worker through the service.")
    found = db.session.scalar(
        sa.select(PreferredWorker).where(
            PreferredWorker.school_id == school_id, PreferredWorker.worker_id == worker_id
        )
    )
    if found is not None:
        return found
    preferred = PreferredWorker(school_id=school_id, worker_id=worker_id)
    db.session.add(preferred)
    db.session.flush()
    audit.record(actor, "supply_worker", worker_id, "nominated", scope=f"school:{school_id}")
    db.session.commit()
    return preferred
