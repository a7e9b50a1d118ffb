"""Tender test data, built through the real use cases with an injected clock.

`T0` is Monday 2 March 2026, 10:00 UTC; a tender published then closes at `DEADLINE`
(Monday 16 March, 12:00 London time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from app.models import Role, User
from procurement.tenders import bids as bid_service
from procurement.tenders import drafting, opening, publication
from procurement.tenders import evaluation as evaluation_service
from procurement.tenders.models import Criterion, Tender, TenderBid, TenderLot
from tests import factories

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
BEFORE_DEADLINE = DEADLINE - timedelta(hours=1)
AFTER_DEADLINE = DEADLINE + timedelta(hours=1)

# Distinctive figures: a sealed-bid leak is easy to spot in any page.
SECRET_PRICE_A = 23_457  # £234.57
SECRET_PRICE_A2 = 21_983  # £219.83
SECRET_PRICE_B = 24_689  # £246.89
SECRET_CAPACITY_A = 4_321
SECRET_CAPACITY_B = 3_917
SECRET_ANSWER_A = "Zanzibar quality plan from provider A"
SECRET_ANSWER_B = "Quixotic social value pledge from provider B"


def tender_input(school_ids: list[int], **overrides: object) -> drafting.TenderInput:
    values: dict[str, object] = {
        "title": "School counselling 2026–28",
        "description": "Counselling days for the partnership's schools.",
        "deadline_at": DEADLINE,
        "contract_starts_on": date(2026, 4, 20),
        "contract_ends_on": date(2028, 4, 19),
        "min_valid_bids": 1,
        "price_weight": 60,
        "quality_weight": 30,
        "social_value_weight": 10,
        "school_ids": tuple(school_ids),
    }
    values.update(overrides)
    return drafting.TenderInput(**values)


def lot_input(service_id: int, **overrides: object) -> drafting.LotInput:
    values: dict[str, object] = {
        "title": "Counselling days",
        "description": "",
        "service_id": service_id,
        "expected_volume": 400,
        "max_suppliers": 1,
    }
    values.update(overrides)
    return drafting.LotInput(**values)


@dataclass
class TenderWorld:
    world: factories.World
    committee2: User
    tender: Tender
    lot: TenderLot
    questions: dict[Criterion, int] = field(default_factory=dict)

    @property
    def committee(self) -> User:
        return self.world.committee


def make_tender(
    world: factories.World,
    *,
    publish: bool = True,
    min_valid_bids: int = 1,
    max_suppliers: int = 1,
    now: datetime = T0,
    deadline_at: datetime = DEADLINE,
) -> TenderWorld:
    """A counselling tender with one lot and a quality and a social-value question."""
    committee2 = factories.make_user(Role.COMMITTEE)
    starts_on = max(date(2026, 4, 20), deadline_at.date() + timedelta(days=7))
    tender = drafting.create_tender(
        world.committee,
        tender_input(
            [world.school_a.id, world.school_b.id],
            min_valid_bids=min_valid_bids,
            deadline_at=deadline_at,
            contract_starts_on=starts_on,
            contract_ends_on=starts_on + timedelta(days=730),
        ),
        now=now,
    )
    lot = drafting.add_lot(
        tender.id,
        world.committee,
        lot_input(world.service.id, max_suppliers=max_suppliers),
        now=now,
    )
    quality = drafting.add_question(
        tender.id,
        world.committee,
        drafting.QuestionInput(Criterion.QUALITY, "How will you keep counsellors supervised?"),
        now=now,
    )
    social = drafting.add_question(
        tender.id,
        world.committee,
        drafting.QuestionInput(Criterion.SOCIAL_VALUE, "What will you do for the local area?"),
        now=now,
    )
    if publish:
        publication.publish_tender(tender.id, world.committee, now=now)
    return TenderWorld(
        world=world,
        committee2=committee2,
        tender=tender,
        lot=lot,
        questions={Criterion.QUALITY: quality.id, Criterion.SOCIAL_VALUE: social.id},
    )


def bid_input(
    tw: TenderWorld,
    *,
    tiers: tuple[tuple[int, int], ...] = ((0, SECRET_PRICE_A), (300, SECRET_PRICE_A2)),
    capacity: int = SECRET_CAPACITY_A,
    answer: str = SECRET_ANSWER_A,
) -> bid_service.BidInput:
    return bid_service.BidInput(
        capacity=capacity,
        tiers=tiers,
        answers={qid: f"{answer} (q{qid})" for qid in tw.questions.values()},
    )


def submit_both_bids(
    tw: TenderWorld, now: datetime = T0 + timedelta(days=1)
) -> tuple[TenderBid, TenderBid]:
    """Provider A bids cheaper; provider B a little later and dearer."""
    bid_a = bid_service.submit_bid(
        tw.tender.id, tw.lot.id, tw.world.provider_user_a, bid_input(tw), now=now
    )
    bid_b = bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        tw.world.provider_user_b,
        bid_input(
            tw,
            tiers=((0, SECRET_PRICE_B),),
            capacity=SECRET_CAPACITY_B,
            answer=SECRET_ANSWER_B,
        ),
        now=now + timedelta(hours=2),
    )
    return bid_a, bid_b


def open_bids(tw: TenderWorld, now: datetime = AFTER_DEADLINE) -> None:
    opening.confirm_opening(tw.tender.id, tw.committee, now=now)
    opening.confirm_opening(tw.tender.id, tw.committee2, now=now + timedelta(minutes=5))


def evaluate(
    tw: TenderWorld,
    scores: dict[int, tuple[int, int]],
    now: datetime = AFTER_DEADLINE + timedelta(days=1),
) -> None:
    """Start evaluation, declare no conflict, score and moderate (quality, social value)."""
    opening.start_evaluation(tw.tender.id, tw.committee, now=now)
    evaluation_service.declare_interests(tw.tender.id, tw.lot.id, tw.committee, False, "", now=now)
    for bid_id, (quality, social) in scores.items():
        evaluation_service.score_bid(
            tw.tender.id,
            bid_id,
            tw.committee,
            {Criterion.QUALITY: quality, Criterion.SOCIAL_VALUE: social},
            {},
            now=now,
        )
    evaluation_service.moderate_lot(
        tw.tender.id,
        tw.lot.id,
        tw.committee,
        {
            bid_id: {Criterion.QUALITY: quality, Criterion.SOCIAL_VALUE: social}
            for bid_id, (quality, social) in scores.items()
        },
        now=now,
    )
