"""A KPI's figure for a quarter: worked out by Pooled, or the provider's return.

Every figure is in hundredths (a percentage of 95.5 is 9550; a score of 4.2 out of 5 is 420),
and None means "no data" — never shown or judged as zero.

- **On-time delivery** (`on_time_delivery`): see its docstring.
- **Fill rate** (`fill_rate`): see its docstring.
- **Satisfaction** (`satisfaction`): the average rating (`marketplace.ratings`); see its docstring.
- **Returned by the provider**: the provider's return for the quarter (`KpiReturn`).
"""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.money import half_up
from app.time import london_instant
from marketplace.orders.models import ORDER_RESERVING_STATUSES, Order
from marketplace.ratings.models import Rating
from marketplace.supply.models import (
    Booking,
    CoverRequest,
    RequestStatus,
    SupplyAgency,
    SupplyContract,
)
from procurement.contracts.models import Contract, ContractSchool
from procurement.kpis.models import ContractKpi, KpiReturn
from procurement.kpis.rules import KpiKind, KpiSource, Quarter, rate, term_ending_in


def on_time_delivery(contract: Contract, quarter: Quarter, today: date) -> int | None:
    """The share of the contract's orders due in the quarter that were delivered on time.

    An order under the contract is one with `Order.contract_id` set to it (a call-off). It is
    *due* on the last day of the term it was ordered for (`Order.term_key`): orders carry no
    delivery date of their own, and the term is what the school bought. The orders due in a
    quarter are those whose term ends in it (autumn terms end in Q3, spring in Q4, summer in
    Q2), counted once that day has come (on or before `today`); drafts and orders cancelled,
    declined or rejected are left out. An order is on time when it was delivered
    (`Order.delivered_at`, as a London date) on or before its due date; one still undelivered
    after its due date is late. Figure = on time ÷ due; None when no order was due.
    """
    term = term_ending_in(quarter)
    if term is None or term.ends_on > today:
        return None
    next_day_starts = london_instant(term.ends_on + timedelta(days=1), time(0, 0))
    due, on_time = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((Order.delivered_at < next_day_starts, 1))),
        ).where(
            Order.contract_id == contract.id,
            Order.term_key == term.key,
            Order.status.in_(ORDER_RESERVING_STATUSES),
        )
    ).one()
    return rate(on_time, due)


def fill_rate(contract: Contract, quarter: Quarter, today: date) -> int | None:
    """The share of supply cover requests released to the contract's provider that it filled.

    The supply managed service keeps its own contracts (`SupplyContract`), linked to the
    register only by a label: a supply contract whose `reference` is this contract's reference
    is this contract's. When none is, the requests are those of every supply contract the
    provider is an agency on. Of those, a request counts when its first day falls in the
    quarter, within this contract's period, on or before `today`, at a school taking part in
    the contract (any school, if the contract lists none); a request the school cancelled
    before anyone filled it is left out. It is filled when the provider booked a worker for it
    (`Booking.provider_id`; a booking cancelled later still filled it). Figure = filled ÷
    requests; None when there were none.
    """
    first = max(quarter.starts_on, contract.starts_on)
    last = min(quarter.ends_on, contract.ends_on, today)
    if last < first:
        return None
    linked = sa.select(SupplyContract.id).where(SupplyContract.reference == contract.reference)
    if db.session.scalar(linked.limit(1)) is None:
        linked = sa.select(SupplyAgency.contract_id).where(
            SupplyAgency.provider_id == contract.provider_id
        )
    conditions = [
        CoverRequest.contract_id.in_(linked.scalar_subquery()),
        CoverRequest.starts_on >= first,
        CoverRequest.starts_on <= last,
    ]
    schools = sa.select(ContractSchool.school_id).where(ContractSchool.contract_id == contract.id)
    if db.session.scalar(schools.limit(1)) is not None:
        conditions.append(CoverRequest.school_id.in_(schools.scalar_subquery()))
    any_booking = sa.select(Booking.id).where(Booking.request_id == CoverRequest.id).exists()
    ours = (
        sa.select(Booking.id)
        .where(Booking.request_id == CoverRequest.id, Booking.provider_id == contract.provider_id)
        .exists()
    )
    conditions.append(
        sa.not_(sa.and_(CoverRequest.status == RequestStatus.CANCELLED, ~any_booking))
    )
    released, filled = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((ours, 1)))).where(*conditions)
    ).one()
    return rate(filled, released)


def satisfaction(contract: Contract, quarter: Quarter, today: date) -> int | None:
    """The average of schools' ratings of work under the contract rated in the quarter, out of
    5: each rating's mean of quality, timeliness and communication, averaged, in hundredths of
    a point rounded half up (4.25 is 425). A rating is under the contract when it names it or
    rates an order under it (`Order.contract_id`). Counted up to `today`; None when there are
    none. (Unlike the pages' averages, a single rating counts here: KPIs are per contract, not
    shown per school.)"""
    starts = london_instant(quarter.starts_on, time(0, 0))
    ends = london_instant(min(quarter.ends_on, today) + timedelta(days=1), time(0, 0))
    under_contract = sa.or_(
        Rating.contract_id == contract.id,
        Rating.order_id.in_(sa.select(Order.id).where(Order.contract_id == contract.id)),
    )
    count, total = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(
                sa.func.sum(Rating.quality + Rating.timeliness + Rating.communication), 0
            ),
        ).where(under_contract, Rating.rated_at >= starts, Rating.rated_at < ends)
    ).one()
    if not count:
        return None
    return half_up(int(total) * 100, 3 * int(count))


COMPUTED = {
    KpiKind.ON_TIME_DELIVERY: on_time_delivery,
    KpiKind.FILL_RATE: fill_rate,
    KpiKind.SATISFACTION: satisfaction,
}


def returns_for(kpi_ids: list[int], quarters: list[Quarter]) -> dict[tuple[int, str], KpiReturn]:
    """(KPI id, quarter key) → the provider's return, in one query."""
    if not kpi_ids or not quarters:
        return {}
    rows = db.session.scalars(
        sa.select(KpiReturn).where(
            KpiReturn.kpi_id.in_(kpi_ids), KpiReturn.quarter.in_([q.key for q in quarters])
        )
    )
    return {(row.kpi_id, row.quarter): row for row in rows}


def figures(
    contract: Contract, kpis: list[ContractKpi], quarters: list[Quarter], today: date
) -> dict[tuple[int, str], int | None]:
    """(KPI id, quarter key) → its figure in hundredths (None: no data)."""
    returned = returns_for([k.id for k in kpis if k.source is KpiSource.PROVIDER_RETURN], quarters)
    found: dict[tuple[int, str], int | None] = {}
    cache: dict[tuple[KpiKind, str], int | None] = {}
    for kpi in kpis:
        for quarter in quarters:
            if kpi.source is KpiSource.PROVIDER_RETURN:
                row = returned.get((kpi.id, quarter.key))
                found[(kpi.id, quarter.key)] = row.value_hundredths if row else None
                continue
            key = (kpi.kind, quarter.key)
            if key not in cache:
                compute = COMPUTED.get(kpi.kind)
                cache[key] = compute(contract, quarter, today) if compute else None
            found[(kpi.id, quarter.key)] = cache[key]
    return found
