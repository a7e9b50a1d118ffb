"""No main page's SQL statement count grows with the number of rows it shows (issue 19).

Each test counts the statements one GET runs on a small world, adds many more of the rows the
page shows, and counts again: the count must not grow (an N+1 query would add one or more
statements per row). The session is emptied before each counted request, so nothing the test
itself loaded can spare the page a lazy load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import g

from app import audit
from app.extensions import db
from app.models import Role
from marketplace.billing import runs
from marketplace.orders.models import OrderStatus
from procurement.tenders import award, drafting, evaluation, opening, publication
from procurement.tenders import bids as bid_service
from procurement.tenders.models import Criterion
from tests import factories
from tests.marketplace.billing.conftest import make_order, no_stripe  # noqa: F401
from tests.procurement.rounds.factories import make_round_world, pledge, pledging_schools
from tests.procurement.tenders.factories import (
    TenderWorld,
    lot_input,
    make_tender,
    open_bids,
    tender_input,
)

MORE = 12  # rows added to the small world: any per-row statement shows a dozen times over


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    page_bytes: int = 0

    def __len__(self) -> int:
        return len(self.statements)


@contextmanager
def counting() -> Iterator[Counted]:
    """Every statement the app's engine runs inside the block."""
    counted = Counted()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        counted.statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield counted
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before_cursor_execute)


def statements(client: Any, path: str) -> Counted:
    """The statements one GET of `path` runs (after a first GET, so one-off work is left out).

    The test's own rows are set aside for the request, as if it came on a connection of its own
    (nothing the test loaded can spare the page a query), and taken back afterwards.
    """
    db.session.flush()
    ours = list(db.session.identity_map.values())
    try:
        fresh()
        assert client.get(path).status_code == 200, path
        fresh()
        with counting() as counted:
            response = client.get(path)
        assert response.status_code == 200, path
        counted.page_bytes = len(response.get_data())
    finally:
        fresh()
        db.session.add_all(ours)
    return counted


def fresh() -> None:
    """An empty session and no signed-in user remembered (requests share the test's app context,
    where Flask-Login keeps the user it loaded)."""
    db.session.expunge_all()
    g.pop("_login_user", None)


def assert_does_not_grow(client: Any, path: str | Callable[[], str], grow: Callable[[], Any]):
    """The page's statement count after `grow()` adds many rows is no more than before."""
    small = statements(client, path() if callable(path) else path)
    grow()
    large = statements(client, path() if callable(path) else path)
    assert large.page_bytes > small.page_bytes, "the page does not show the rows added"
    assert len(large) <= len(small), grown(small, large)
    return small, large


def grown(small: Counted, large: Counted) -> str:
    """The statements run more often on the larger world, for the failure message."""
    more = Counter(s[:160] for s in large.statements) - Counter(s[:160] for s in small.statements)
    lines = [f"{n}× more: {' '.join(s.split())}" for s, n in more.items()]
    return f"{len(small)} statements grew to {len(large)}:\n" + "\n".join(lines)


# Marketplace pages ---------------------------------------------------------------------------


def more_services_and_offers(world: factories.World) -> None:
    for _ in range(MORE):
        service = factories.make_service()
        for provider in (factories.make_provider(), world.provider_a):
            factories.make_offer(provider, service)


def test_the_catalogue_runs_as_many_statements_for_many_services(client, auth, world):
    auth.as_user(world.sbm_a)

    assert_does_not_grow(client, "/services", lambda: more_services_and_offers(world))


def more_offers_of(world: factories.World) -> None:
    for _ in range(MORE):
        factories.make_offer(factories.make_provider(), world.service)


def test_a_service_page_runs_as_many_statements_for_many_offers(client, auth, world):
    auth.as_user(world.sbm_a)

    assert_does_not_grow(client, f"/services/{world.service.id}", lambda: more_offers_of(world))


def test_an_order_page_runs_as_many_statements_for_a_long_history(client, auth, world):
    order = make_order(world.school_a, world.offer_a, status=OrderStatus.SUBMITTED)
    audit.record(world.sbm_a, "order", order.id, "submitted", after=order.snapshot())
    auth.as_user(world.sbm_a)

    def longer_history() -> None:
        for n in range(MORE):
            actor = factories.make_user(Role.HEAD, school=world.school_a)
            audit.record(actor, "order", order.id, f"noted-{n}", after=order.snapshot())
            make_order(world.school_a, world.offer_b)

    assert_does_not_grow(client, f"/orders/{order.id}", longer_history)


def test_the_orders_list_runs_as_many_statements_for_many_orders(client, auth, world):
    make_order(world.school_a, world.offer_a)
    auth.as_user(world.sbm_a)

    def more_orders() -> None:
        for n in range(MORE):
            service = factories.make_service()
            offer = factories.make_offer(factories.make_provider(), service)
            make_order(world.school_a, offer, status=list(OrderStatus)[n % len(OrderStatus)])

    assert_does_not_grow(client, "/orders", more_orders)


@pytest.mark.usefixtures("no_stripe")
def test_the_invoices_list_runs_as_many_statements_for_many_invoices(client, auth, world):
    make_order(world.school_a, world.offer_a)
    runs.execute(runs.start_run(None), None)
    auth.as_user(world.sbm_a)

    def more_invoices() -> None:
        for _ in range(MORE):
            service = factories.make_service()
            offer = factories.make_offer(factories.make_provider(), service)
            make_order(world.school_a, offer)
        runs.execute(runs.start_run(None), None)

    assert_does_not_grow(client, "/invoices", more_invoices)


# Procurement pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sbm_a", "committee"])
def test_a_round_page_runs_as_many_statements_for_pledges_from_many_schools(
    client, auth, world, who
):
    rw = make_round_world(world)
    pledge(rw, world.sbm_a, 10)
    pledge(rw, world.sbm_b, 5)
    auth.as_user(getattr(world, who))

    assert_does_not_grow(
        client,
        f"/rounds/{rw.buying_round.id}",
        lambda: pledging_schools(rw, [3 + n for n in range(MORE)]),
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def large_tender(
    world: factories.World, lots: int, questions: int, bidders: int, schools: int
) -> TenderWorld:
    """A tender closed yesterday with many lots, schools, questions and bids, opened today."""
    now = _now()
    drafted = now - timedelta(days=20)
    invited = [world.school_a, world.school_b] + [factories.make_school() for _ in range(schools)]
    tender = drafting.create_tender(
        world.committee,
        tender_input(
            [s.id for s in invited],
            deadline_at=now - timedelta(days=1),
            contract_starts_on=(now + timedelta(days=30)).date(),
            contract_ends_on=(now + timedelta(days=760)).date(),
        ),
        now=drafted,
    )
    made = [
        drafting.add_lot(
            tender.id,
            world.committee,
            lot_input(factories.make_service().id, title=f"Lot {n}"),
            now=drafted,
        )
        for n in range(lots)
    ]
    asked = [
        drafting.add_question(
            tender.id,
            world.committee,
            drafting.QuestionInput(criterion, f"Question {n} on {criterion.value}?"),
            now=drafted,
        ).id
        for n in range(questions)
        for criterion in (Criterion.QUALITY, Criterion.SOCIAL_VALUE)
    ]
    publication.publish_tender(tender.id, world.committee, now=drafted)
    tw = TenderWorld(world, factories.make_user(Role.COMMITTEE), tender, made[0])
    answers = {question: f"Our answer to question {question}" for question in asked}
    providers = [world.provider_a] + [factories.make_provider() for _ in range(bidders - 1)]
    for provider in providers:
        bidder = factories.make_user(Role.PROVIDER, provider=provider)
        for lot in made:
            bid_service.submit_bid(
                tender.id,
                lot.id,
                bidder,
                bid_service.BidInput(capacity=500, tiers=((0, 24_000),), answers=answers),
                now=now - timedelta(days=10),
            )
    open_bids(tw, now=now)
    return tw


@pytest.mark.parametrize("who", ["committee", "provider_user_a"])
def test_a_tender_page_runs_as_many_statements_for_a_larger_tender(client, auth, world, who):
    small = large_tender(world, lots=1, questions=1, bidders=1, schools=0)
    large = large_tender(world, lots=4, questions=4, bidders=5, schools=MORE)
    auth.as_user(getattr(world, who))

    few = statements(client, f"/tenders/{small.tender.id}")
    many = statements(client, f"/tenders/{large.tender.id}")

    assert many.page_bytes > few.page_bytes
    assert len(many) <= len(few), grown(few, many)


def awarded(tw: TenderWorld) -> TenderWorld:
    """Evaluate every lot of an opened tender (each bid scored alike) and decide the award."""
    now = _now()
    committee = tw.world.committee
    opening.start_evaluation(tw.tender.id, committee, now=now)
    scores = {Criterion.QUALITY: 60, Criterion.SOCIAL_VALUE: 40}
    for lot in tw.tender.lots:
        evaluation.declare_interests(tw.tender.id, lot.id, committee, False, "", now=now)
        for bid in evaluation.valid_bids(lot):
            evaluation.score_bid(tw.tender.id, bid.id, committee, scores, {}, now=now)
        bids = {bid.id: scores for bid in evaluation.valid_bids(lot)}
        evaluation.moderate_lot(tw.tender.id, lot.id, committee, bids, now=now)
    award.decide_award(tw.tender.id, committee, now=now)
    return tw


def test_an_awarded_tender_page_runs_as_many_statements_for_more_lots_and_bidders(
    client, auth, world
):
    small = awarded(large_tender(world, lots=1, questions=1, bidders=1, schools=0))
    large = awarded(large_tender(world, lots=3, questions=2, bidders=4, schools=MORE))
    auth.as_user(world.committee)

    few = statements(client, f"/tenders/{small.tender.id}")
    many = statements(client, f"/tenders/{large.tender.id}")

    assert many.page_bytes > few.page_bytes
    assert len(many) <= len(few), grown(few, many)


def test_an_open_tender_page_runs_as_many_statements_for_more_lots_and_questions(
    client, auth, world
):
    now = _now()
    tw = make_tender(world, now=now - timedelta(days=1), deadline_at=now + timedelta(days=10))
    auth.as_user(world.committee)

    def more_lots_and_questions() -> None:
        with_draft = make_tender(
            world, publish=False, now=now - timedelta(days=1), deadline_at=now + timedelta(days=10)
        )
        for n in range(4):
            drafting.add_lot(
                with_draft.tender.id,
                world.committee,
                lot_input(factories.make_service().id, title=f"Lot {n}"),
                now=now - timedelta(days=1),
            )
        publication.publish_tender(with_draft.tender.id, world.committee, now=now)
        tw.tender = with_draft.tender

    assert_does_not_grow(client, lambda: f"/tenders/{tw.tender.id}", more_lots_and_questions)


# Dashboards ----------------------------------------------------------------------------------


def busy_year(world: factories.World) -> None:
    """Orders from many schools with many providers, pledges into a round, and their invoices."""
    rw = make_round_world(world)
    pledge(rw, world.sbm_a, 10)
    for n in range(MORE):
        school = world.school_a if n % 2 else factories.make_school()
        service = factories.make_service()
        provider = world.provider_a if n % 3 == 0 else factories.make_provider()
        offer = factories.make_offer(provider, service)
        make_order(school, offer, status=list(OrderStatus)[n % len(OrderStatus)])
        if school is not world.school_a:
            pledge(rw, factories.make_user(Role.SBM, school=school), 2 + n)
    runs.execute(runs.start_run(None), None)


@pytest.mark.usefixtures("no_stripe")
@pytest.mark.parametrize("who", ["sbm_a", "committee", "admin", "provider_user_a"])
def test_a_dashboard_runs_as_many_statements_for_a_busier_year(client, auth, world, who):
    make_order(world.school_a, world.offer_a)
    runs.execute(runs.start_run(None), None)
    auth.as_user(getattr(world, who))

    assert_does_not_grow(client, "/dashboard", lambda: busy_year(world))
