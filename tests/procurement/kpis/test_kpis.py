"""Contract KPIs: the standard ones at contract award, figures Pooled works out, providers'
quarterly returns, the committee's actions (raised once), and what other parts read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.notifications.models import Notification
from app.time import london_instant, utcnow
from marketplace.orders.models import OrderStatus
from marketplace.ratings.models import Rating
from procurement.contracts.models import Contract
from procurement.kpis import actions, figures, queries, returns, targets
from procurement.kpis.errors import (
    InvalidKpi,
    KpiNotAllowed,
    KpiNotFound,
    KpiStateConflict,
    ReturnLocked,
)
from procurement.kpis.models import ActionStatus, ContractKpi, KpiAction, KpiReturn
from procurement.kpis.rules import KpiKind, KpiSource, Quarter
from procurement.kpis.targets import KpiInput
from procurement.pipeline import services as pipeline_services
from procurement.tenders import award
from tests import factories
from tests.marketplace.billing.conftest import make_order
from tests.procurement.kpis.conftest import kpi_of, make_kpi_contract
from tests.procurement.tenders.factories import evaluate, make_tender, open_bids, submit_both_bids

Q2 = Quarter(2026, 2)  # Jul–Sep 2026: returns due by 28 October 2026
Q3 = Quarter(2026, 3)  # Oct–Dec 2026: the autumn term ends in it; returns due by 29 Jan 2027


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _return(kpi, figure, actor, quarter=Q2, today=date(2026, 10, 5), note=""):
    return returns.submit_return(
        kpi.id,
        quarter.key,
        figure,
        note,
        actor,
        today=today,
        now=london_instant(today, datetime.min.time().replace(hour=9)),
    )


# --- the standard KPIs --------------------------------------------------------------------


def test_a_tender_contract_gets_the_standard_kpis_when_it_is_entered_into(world):
    now = utcnow()
    tw = make_tender(world, now=now - timedelta(days=60), deadline_at=now - timedelta(days=40))
    bid_a, bid_b = submit_both_bids(tw, now=now - timedelta(days=50))
    open_bids(tw, now=now - timedelta(days=39))
    evaluate(tw, {bid_a.id: (60, 60), bid_b.id: (60, 60)}, now=now - timedelta(days=38))
    award.decide_award(tw.tender.id, world.committee, now=now - timedelta(days=30))
    (contract,) = award.enter_into_contracts(tw.tender.id, world.committee, now=now)
    kpis = {
        k.kind: k
        for k in db.session.scalars(
            sa.select(ContractKpi).where(ContractKpi.contract_id == contract.id)
        )
    }
    assert set(kpis) == {KpiKind.ON_TIME_DELIVERY, KpiKind.SATISFACTION, KpiKind.CUSTOM}
    assert kpis[KpiKind.ON_TIME_DELIVERY].target_hundredths == 9500
    assert kpis[KpiKind.SATISFACTION].target_hundredths == 400
    assert kpis[KpiKind.CUSTOM].source is KpiSource.PROVIDER_RETURN
    assert kpis[KpiKind.CUSTOM].name == "Complaints resolved within 10 working days"


def test_a_supply_staff_contract_measures_fill_rate_instead_of_complaints(world):
    supply = factories.make_service("supply-kpi-test", name="Supply teachers", category="supply")
    contract = make_kpi_contract(world, service=supply)
    kinds = {
        k.kind
        for k in db.session.scalars(
            sa.select(ContractKpi).where(ContractKpi.contract_id == contract.id)
        )
    }
    assert kinds == {KpiKind.ON_TIME_DELIVERY, KpiKind.SATISFACTION, KpiKind.FILL_RATE}


def test_the_standard_kpis_are_added_only_to_a_contract_without_kpis(world):
    contract = make_kpi_contract(world)
    with pytest.raises(KpiStateConflict):
        targets.add_standard_kpis(contract.id, world.committee)
    assert _count(ContractKpi, ContractKpi.contract_id == contract.id) == 3


# --- figures Pooled works out -------------------------------------------------------------


def _order(world, contract, status, delivered_on=None, term_key="2026-autumn"):
    order = make_order(
        world.school_a, world.offer_a, 2, contract=contract, status=status, term_key=term_key
    )
    order.delivered_at = (
        datetime(delivered_on.year, delivered_on.month, delivered_on.day, 12, tzinfo=UTC)
        if delivered_on
        else None
    )
    return order


def test_on_time_delivery_is_orders_delivered_by_their_terms_end_over_orders_due(world):
    contract = make_kpi_contract(world)
    other = make_kpi_contract(world)
    _order(world, contract, OrderStatus.INVOICED, date(2026, 12, 10))  # on time
    _order(world, contract, OrderStatus.DELIVERED, date(2026, 12, 31))  # on its last day
    _order(world, contract, OrderStatus.DELIVERED, date(2027, 1, 5))  # late
    _order(world, contract, OrderStatus.CONFIRMED)  # never delivered: late
    _order(world, contract, OrderStatus.CANCELLED)  # left out
    _order(world, contract, OrderStatus.DRAFT)  # left out
    _order(world, contract, OrderStatus.DELIVERED, date(2027, 2, 1), term_key="2026-spring")
    _order(world, other, OrderStatus.DELIVERED, date(2027, 1, 9))  # another contract's
    db.session.commit()
    assert figures.on_time_delivery(contract, Q3, date(2027, 1, 10)) == 5000  # 2 of 4
    # Not due until the autumn term's last day; no term ends in Apr–Jun.
    assert figures.on_time_delivery(contract, Q3, date(2026, 12, 30)) is None
    assert figures.on_time_delivery(contract, Quarter(2026, 1), date(2027, 1, 10)) is None
    assert figures.on_time_delivery(other, Q3, date(2027, 1, 10)) == 0


def test_an_order_delivered_late_in_the_evening_in_london_is_still_late_the_next_day(world):
    contract = make_kpi_contract(world)
    order = _order(world, contract, OrderStatus.DELIVERED)
    # 00:30 on 1 January in London (GMT) is after the due date.
    order.delivered_at = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)
    db.session.commit()
    assert figures.on_time_delivery(contract, Q3, date(2027, 1, 10)) == 0
    order.delivered_at = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    db.session.commit()
    assert figures.on_time_delivery(contract, Q3, date(2027, 1, 10)) == 10000


def test_fill_rate_is_requests_the_provider_filled_over_requests_released_to_it(world):
    from tests.marketplace.supply.conftest import book, make_supply, post

    supply = make_supply(world)
    supply_service = factories.make_service(
        "supply-fill", name="Supply teachers", category="supply"
    )
    # Linked by reference to the managed service's contract, for school A only.
    contract = make_kpi_contract(
        world,
        service=supply_service,
        reference=supply.contract.reference,
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 8, 31),
    )
    filled = [post(supply, starts_on=date(2026, 9, d)) for d in (8, 9)]
    for request in filled:
        book(supply, request)
    post(supply, starts_on=date(2026, 9, 10))  # never filled
    post(supply, starts_on=date(2026, 9, 11), school_id=world.school_b.id)  # not its school
    b_filled = post(supply, starts_on=date(2026, 9, 14))
    book(supply, b_filled, supply.teacher_b)  # filled by another agency: not by this one
    db.session.commit()
    assert figures.fill_rate(contract, Q2, date(2026, 10, 1)) == 5000  # 2 of 4
    assert figures.fill_rate(contract, Q3, date(2026, 12, 1)) is None  # none in Oct–Dec


def test_satisfaction_has_no_data_until_ratings_exist(world):
    contract = make_kpi_contract(world)
    assert figures.satisfaction(contract, Q2, date(2026, 10, 1)) is None


def rated(world, contract, scores, on: date, *, named=True, called_off=False) -> None:
    """A rating of a delivered order of school A: naming the contract, or of an order under it
    (called off), or neither."""
    order = make_order(world.school_a, world.offer_a)
    if called_off:
        order.contract_id = contract.id
    db.session.add(
        Rating(
            school_id=world.school_a.id,
            provider_id=contract.provider_id,
            service_id=order.service_id,
            contract_id=contract.id if named else None,
            order_id=order.id,
            quality=scores[0],
            timeliness=scores[1],
            communication=scores[2],
            rated_by_id=world.sbm_a.id,
            rated_at=london_instant(on, time(12, 0)),
        )
    )
    db.session.flush()


def test_satisfaction_is_the_average_rating_of_work_under_the_contract_in_the_quarter(world):
    contract = make_kpi_contract(world)
    rated(world, contract, (5, 4, 4), date(2026, 7, 1))  # 4.333…
    rated(world, contract, (3, 4, 4), date(2026, 9, 30), named=False, called_off=True)
    rated(world, contract, (1, 1, 1), date(2026, 9, 30), named=False)  # not this contract's
    rated(world, contract, (1, 1, 1), date(2026, 10, 1))  # the next quarter
    # (13 + 11) / 6 = 4.0
    assert figures.satisfaction(contract, Q2, date(2026, 10, 5)) == 400
    # Counted up to today: on 1 September only the July rating (13 / 3 = 4.33, half up).
    assert figures.satisfaction(contract, Q2, date(2026, 9, 1)) == 433
    assert figures.satisfaction(contract, Q3, date(2026, 12, 1)) == 100


def test_the_pipeline_shows_a_contracts_kpi_status_for_the_last_quarter(world):
    contract = make_kpi_contract(world)
    assert pipeline_services.kpi_status(contract, date(2026, 10, 5)) == "No data yet"
    rated(world, contract, (3, 3, 3), date(2026, 8, 1))  # satisfaction 3.0, target 4.0
    assert pipeline_services.kpi_status(contract, date(2026, 10, 5)) == "Below target"


# --- providers' returns -------------------------------------------------------------------


def test_the_provider_returns_a_figure_once_per_quarter_and_changes_it_until_the_deadline(
    world,
):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    first = _return(kpi, "93", world.provider_user_a, note="Two complaints, both resolved")
    again = _return(kpi, "95.5", world.provider_user_a, today=Q2.return_deadline)
    assert first.id == again.id
    row = db.session.scalars(sa.select(KpiReturn).where(KpiReturn.kpi_id == kpi.id)).one()
    assert (row.quarter, row.value_hundredths, row.provider_id) == (
        "2026-Q2",
        9550,
        kpi.contract.provider_id,
    )
    assert row.note == ""  # the second return replaced the note too
    _return(kpi, "91", world.provider_user_a, quarter=Q3, today=date(2026, 12, 1))
    assert _count(KpiReturn, KpiReturn.kpi_id == kpi.id) == 2
    assert _count(AuditEvent, AuditEvent.entity_type == "kpi_return") == 3


def test_one_return_per_kpi_and_quarter_is_kept_by_the_database(world):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    _return(kpi, "93", world.provider_user_a)
    db.session.add(
        KpiReturn(
            kpi_id=kpi.id,
            provider_id=contract.provider_id,
            quarter=Q2.key,
            value_hundredths=1,
            note="",
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_return_is_locked_after_the_quarters_deadline_and_not_open_before_it_starts(world):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    _return(kpi, "93", world.provider_user_a)
    late = Q2.return_deadline + timedelta(days=1)
    with pytest.raises(ReturnLocked, match="locked"):
        _return(kpi, "99", world.provider_user_a, today=late)
    with pytest.raises(ReturnLocked, match="opens on"):
        _return(kpi, "99", world.provider_user_a, quarter=Q3, today=date(2026, 9, 30))
    assert db.session.scalars(sa.select(KpiReturn.value_hundredths)).all() == [9300]


def test_only_the_contracts_provider_makes_its_returns(world):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    with pytest.raises(KpiNotFound):
        _return(kpi, "93", world.provider_user_b)
    for person in (world.committee, world.admin, world.sbm_a):
        with pytest.raises(KpiNotAllowed):
            _return(kpi, "93", person)
    assert _count(KpiReturn) == 0


def test_a_kpi_pooled_works_out_takes_no_return(world):
    contract = make_kpi_contract(world)
    with pytest.raises(KpiStateConflict, match="works out"):
        _return(kpi_of(contract, KpiKind.ON_TIME_DELIVERY), "100", world.provider_user_a)


@pytest.mark.parametrize(
    ("figure", "quarter", "field"),
    [
        ("101", Q2, "value"),
        ("-3", Q2, "value"),
        ("", Q2, "value"),
        ("93", Quarter(2025, 4), "quarter"),  # before the contract started
    ],
)
def test_bad_returns_are_refused_naming_the_field_and_nothing_is_written(
    world, figure, quarter, field
):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    with pytest.raises(InvalidKpi) as refused:
        _return(kpi, figure, world.provider_user_a, quarter=quarter, today=date(2026, 7, 2))
    assert refused.value.field == field
    assert _count(KpiReturn) == 0


def test_the_providers_returns_due_are_this_quarter_and_the_last_until_its_deadline(world):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    _return(kpi, "93", world.provider_user_a)
    due = returns.returns_due(world.provider_a.id, date(2026, 10, 5))
    assert [(r.quarter.key, r.figure) for r in due] == [("2026-Q2", "93%"), ("2026-Q3", "No data")]
    assert [r.quarter.key for r in returns.returns_due(world.provider_a.id, date(2026, 11, 2))] == [
        "2026-Q3"
    ]
    assert returns.returns_due(world.provider_b.id, date(2026, 10, 5)) == []


# --- the committee's actions --------------------------------------------------------------


def _committee_notifications() -> int:
    return _count(Notification, Notification.kind == "kpi_action")


def test_a_return_below_target_raises_one_action_and_tells_the_committee_once(world):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    _return(kpi, "84", world.provider_user_a)
    _return(kpi, "80", world.provider_user_a)  # changed, still below: no second action
    action = db.session.scalars(sa.select(KpiAction)).one()
    assert (action.quarter, action.value_hundredths, action.target_hundredths) == (
        Q2.key,
        8400,
        9000,
    )
    assert action.status is ActionStatus.OPEN and action.contract_id == contract.id
    committee = _count(
        Notification, Notification.kind == "kpi_action", Notification.user_id == world.committee.id
    )
    assert committee == 1
    assert (
        _count(
            Notification, Notification.kind == "kpi_action", Notification.user_id == world.admin.id
        )
        == 0
    )


def test_a_return_that_meets_the_target_raises_nothing(world):
    contract = make_kpi_contract(world)
    _return(kpi_of(contract, KpiKind.CUSTOM), "90", world.provider_user_a)
    assert _count(KpiAction) == 0 and _committee_notifications() == 0


def test_the_morning_job_raises_actions_for_the_quarter_past_its_deadline_once(world):
    contract = make_kpi_contract(world)
    _order(world, contract, OrderStatus.DELIVERED, date(2027, 1, 20))  # late
    _order(world, contract, OrderStatus.DELIVERED, date(2026, 12, 1))  # on time
    db.session.commit()
    before_deadline = Q3.return_deadline
    assert actions.raise_actions_past_deadline(today=before_deadline) == 0
    after = Q3.return_deadline + timedelta(days=1)
    assert actions.raise_actions_past_deadline(today=after) == 1
    assert actions.raise_actions_past_deadline(today=after) == 0
    assert actions.raise_actions_past_deadline(today=after + timedelta(days=1)) == 0
    action = db.session.scalars(sa.select(KpiAction)).one()
    assert action.kpi.kind is KpiKind.ON_TIME_DELIVERY and action.value_hundredths == 5000
    assert _committee_notifications() == 1


def test_a_removed_kpi_raises_no_action(world):
    contract = make_kpi_contract(world)
    targets.add_kpi(
        contract.id,
        KpiInput("custom", "Reports on time", "percent", "90", "higher", "provider_return"),
        world.committee,
    )
    kpi = kpi_of(contract, KpiKind.ON_TIME_DELIVERY)
    targets.remove_kpi(contract.id, kpi.id, world.committee)
    _order(world, contract, OrderStatus.CONFIRMED)  # never delivered
    db.session.commit()
    assert actions.raise_actions_past_deadline(today=Q3.return_deadline + timedelta(days=1)) == 0


def test_closing_an_action_needs_a_note_and_happens_once(world):
    contract = make_kpi_contract(world)
    _return(kpi_of(contract, KpiKind.CUSTOM), "50", world.provider_user_a)
    action = db.session.scalars(sa.select(KpiAction)).one()
    with pytest.raises(InvalidKpi) as refused:
        actions.close_action(action.id, "   ", world.committee)
    assert refused.value.field == "note"
    with pytest.raises(KpiNotAllowed):
        actions.close_action(action.id, "Fine", world.provider_user_a)
    actions.close_action(action.id, "Improvement plan agreed on 3 November.", world.committee)
    closed = db.session.get(KpiAction, action.id)
    assert closed.status is ActionStatus.CLOSED and closed.closed_by_id == world.committee.id
    with pytest.raises(KpiStateConflict):
        actions.close_action(action.id, "Again", world.admin)
    assert db.session.get(KpiAction, action.id).note == "Improvement plan agreed on 3 November."


# --- what other parts read ----------------------------------------------------------------


def test_a_contracts_kpi_status_is_its_latest_finished_quarter(world):
    contract = make_kpi_contract(world)
    kpi = kpi_of(contract, KpiKind.CUSTOM)
    assert queries.kpi_status_for_contract(contract.id, date(2026, 10, 5)) == "no data"
    _return(kpi, "95", world.provider_user_a)
    assert queries.kpi_status_for_contract(contract.id, date(2026, 10, 5)) == "met"
    _return(kpi, "85", world.provider_user_a)
    assert queries.kpi_status_for_contract(contract.id, date(2026, 10, 6)) == "below"
    # In Jan–Mar 2027 the latest finished quarter is Oct–Dec, which has no figures yet.
    assert queries.kpi_status_for_contract(contract.id, date(2027, 1, 2)) == "no data"
    assert queries.kpi_status_for_contract(999_999, date(2026, 10, 5)) == "no data"


def test_a_providers_kpi_history_shows_each_contract_with_kpis_and_its_quarters(world):
    contract = make_kpi_contract(world)
    make_kpi_contract(world, provider=world.provider_b)
    _return(kpi_of(contract, KpiKind.CUSTOM), "85", world.provider_user_a)
    (history,) = queries.kpi_history_for_provider(world.provider_a.id, date(2026, 10, 5))
    assert history.contract.id == contract.id
    assert [q.key for q in history.quarters] == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert history.below == 1 and history.met == 0
    custom = next(r for r in history.rows if r.kpi.kind is KpiKind.CUSTOM)
    assert [r.figure for r in custom.results] == ["No data", "85%", "No data"]
    assert queries.kpi_history_for_provider(factories.make_provider("Nobody Ltd").id) == []


# --- the committee sets KPIs --------------------------------------------------------------


def _input(**values) -> KpiInput:
    data = {
        "kind": "custom",
        "name": "Reports sent within 10 days",
        "unit": "percent",
        "target": "90",
        "direction": "higher",
        "source": "provider_return",
    }
    data.update(values)
    return KpiInput(**data)


def test_the_committee_adds_changes_and_removes_kpis_but_a_contract_keeps_three(world):
    contract = make_kpi_contract(world)
    kpi = targets.add_kpi(contract.id, _input(), world.committee)
    assert kpi.target_hundredths == 9000 and kpi.source is KpiSource.PROVIDER_RETURN
    changed = targets.update_kpi(
        contract.id,
        kpi.id,
        _input(target="2", unit="count", direction="lower", name="Late reports"),
        world.admin,
    )
    assert (changed.target_hundredths, changed.name) == (200, "Late reports")
    targets.remove_kpi(contract.id, kpi.id, world.committee)
    assert db.session.get(ContractKpi, kpi.id).removed_at is not None
    last = kpi_of(contract, KpiKind.CUSTOM)
    with pytest.raises(KpiStateConflict, match="at least 3"):
        targets.remove_kpi(contract.id, last.id, world.committee)
    assert (
        _count(
            ContractKpi, ContractKpi.contract_id == contract.id, ContractKpi.removed_at.is_(None)
        )
        == 3
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"source": "computed"}, "source"),  # Pooled cannot work out a custom KPI
        ({"kind": "satisfaction", "source": "computed"}, "unit"),  # a score, not a percent
        ({"target": "120"}, "target"),
        ({"target": "ninety"}, "target"),
        ({"name": "  "}, "name"),
        ({"name": "Complaints resolved within 10 working days"}, "name"),  # taken
        ({"kind": "weather"}, "kind"),
        ({"direction": "sideways"}, "direction"),
    ],
)
def test_a_kpi_is_checked_and_a_bad_one_is_refused_naming_the_field(world, values, field):
    contract = make_kpi_contract(world)
    with pytest.raises(InvalidKpi) as refused:
        targets.add_kpi(contract.id, _input(**values), world.committee)
    assert refused.value.field == field
    assert _count(ContractKpi, ContractKpi.contract_id == contract.id) == 3


def test_only_the_committee_and_the_office_set_kpis(world):
    contract = make_kpi_contract(world)
    for person in (world.sbm_a, world.head_a, world.provider_user_a, world.trust_user):
        with pytest.raises(KpiNotAllowed):
            targets.add_kpi(contract.id, _input(), person)
    with pytest.raises(KpiNotFound):
        targets.add_kpi(999_999, _input(), world.committee)
    other = make_kpi_contract(world)
    with pytest.raises(KpiNotFound):  # a KPI of another contract
        targets.update_kpi(other.id, kpi_of(contract, KpiKind.CUSTOM).id, _input(), world.committee)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contract)) == 2
