"""Savings against buying alone: per round, per school, per awarded tender lot."""

from __future__ import annotations

from datetime import timedelta

from app.calendar import AcademicYear
from app.dashboards.savings import round_savings, school_savings, tender_savings
from app.extensions import db
from app.time import utcnow
from marketplace.offers.models import OfferStatus
from procurement.contracts.models import ContractSchool
from procurement.rounds.models import BuyingRound, RoundStatus
from procurement.tenders import award
from tests import factories
from tests.app.dashboards.support import make_contract
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)


def test_round_savings_per_round_and_per_school(market, year):
    buying_round = BuyingRound(
        title="Counselling pool",
        status=RoundStatus.AWARDED,
        term_keys=[year.terms()[0].key],
        pledge_deadline_at=utcnow(),
        max_share_percent=100,
        min_providers=1,
        single_source=False,
    )
    db.session.add(buying_round)
    db.session.flush()
    contract = make_contract(market, year.terms()[0].ends_on)
    contract.starts_on = year.starts_on
    contract.source_id = buying_round.id
    db.session.add_all(
        [
            ContractSchool(
                contract_id=contract.id, school_id=market.school_a.id, allocated_quantity=10,
                charge_pence=230_000, standalone_pence=250_000,
            ),
            ContractSchool(
                contract_id=contract.id, school_id=market.school_b.id, allocated_quantity=30,
                charge_pence=690_000, standalone_pence=720_000,
            ),
        ]
    )  # fmt: skip
    db.session.commit()

    assert round_savings(year).rows == (("Counselling pool", 2, 970_000, 920_000, 50_000),)
    assert round_savings(year, market.school_a.id).rows == (
        ("Counselling pool", 1, 250_000, 230_000, 20_000),
    )
    assert school_savings(year).rows == (
        (market.school_b.name, 720_000, 690_000, 30_000),
        (market.school_a.name, 250_000, 230_000, 20_000),
    )


def test_a_lot_shared_by_two_suppliers_counts_its_volume_once_at_the_dearer_awarded_price(world):
    # A cheaper offer that is not on sale is no catalogue price a school could pay alone.
    factories.make_offer(
        factories.make_provider("Draft Offers Ltd"),
        world.service,
        tiers=[(0, 10_000)],
        status=OfferStatus.DRAFT,
    )
    tw = make_tender(world, max_suppliers=2)
    bid_a, bid_b = submit_both_bids(tw)  # A: £219.83 a day from 300 days; B: £246.89
    open_bids(tw)
    evaluate(tw, {bid_a.id: (50, 50), bid_b.id: (50, 50)})
    awarded_at = AFTER_DEADLINE + timedelta(days=2)
    award.decide_award(tw.tender.id, world.committee, now=awarded_at)
    contracts = award.enter_into_contracts(
        tw.tender.id, world.committee, now=awarded_at + timedelta(days=20)
    )
    assert len(contracts) == 2  # one per winner, both for the lot's 400 days

    # 400 days at offer A's £250 (the cheapest live single-school price) against 400 days at
    # provider B's £246.89: the lot's volume counted once, at the dearer winner's price.
    assert tender_savings(AcademicYear(2026)).rows == (
        (
            f"{tw.tender.title}, lot 1: {tw.lot.title}",
            400,
            2,
            400 * 25_000,
            400 * 24_689,
            400 * (25_000 - 24_689),
        ),
    )
    assert tender_savings(AcademicYear(2029)).rows == ()  # the contracts have ended
