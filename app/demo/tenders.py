"""Demo tenders for the demo partnership: one open for bids, one complete with its contracts
(a framework of two ranked suppliers, where app.demo.minicomps runs a mini-competition).

Both are built through the real use cases on an injected clock (the completed one in the past),
so their audit trails and OCDS releases are what the app itself writes. Safe to run again: each
tender is looked up by title first.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import add_working_days
from app.extensions import db
from app.models import Provider, School, User
from app.time import london_date, london_instant, utcnow
from marketplace.catalogue.models import Service
from procurement.tenders import access, award, clarifications, drafting, opening, publication
from procurement.tenders import documents as document_service
from procurement.tenders import evaluation as evaluation_service
from procurement.tenders.models import (
    BidStatus,
    Criterion,
    Tender,
    TenderBid,
    TenderBidAnswer,
    TenderBidTier,
)
from procurement.tenders.rules import first_contract_day

OPEN_TITLE = "Supply staff managed service 2027–2029"
COMPLETE_TITLE = "Educational psychology service for member schools"

SPECIFICATION = """Supply staff managed service: specification (summary)

1. Qualified teachers and support staff for short- and long-term cover in member schools.
2. Enhanced DBS, right-to-work and reference checks before any placement; records open to
   the school on request.
3. Same-day bookings before 07:30 filled by 08:30 on at least 95% of school days.
4. Supply staff paid at least the London Living Wage; agency fee shown separately on invoices.
5. One account manager for the partnership; termly reports per school.
"""


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _first_of_month_after(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _member_school_ids() -> tuple[int, ...]:
    return tuple(
        db.session.scalars(
            sa.select(School.id).where(School.is_member.is_(True)).order_by(School.id)
        )
    )


def _service_id(slug: str) -> int | None:
    return db.session.scalar(sa.select(Service.id).where(Service.slug == slug))


def _exists(title: str) -> bool:
    return db.session.scalar(sa.select(Tender.id).where(Tender.title == title)) is not None


def seed_demo_tenders(now: datetime | None = None) -> int:
    """Add the demo tenders that are missing; returns how many were added."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    committee = _user("committee@demo.pooled.test")
    committee2 = _user("committee2@demo.pooled.test")
    provider = _user("provider@demo.pooled.test")
    if committee is None or committee2 is None or not _member_school_ids():
        return 0
    added = 0
    if not _exists(COMPLETE_TITLE) and _service_id("educational-psychology"):
        _complete_tender(committee, committee2, now)
        added += 1
    if not _exists(OPEN_TITLE) and _service_id("supply-teachers"):
        _open_tender(committee, provider, now)
        added += 1
    return added


def _open_tender(committee: User, provider: User | None, today: datetime) -> Tender:
    """Published two days ago; the deadline is the fifteenth working day from today."""
    deadline = london_instant(add_working_days(london_date(today), 15), time(12, 0))
    now = today - timedelta(days=2)
    starts_on = _first_of_month_after(london_date(deadline) + timedelta(weeks=8))
    tender = drafting.create_tender(
        committee,
        drafting.TenderInput(
            title=OPEN_TITLE,
            description=(
                "A managed service for supply teachers and support staff across the "
                "partnership: vetted staff, same-day cover and one agency fee schedule, priced "
                "on the partnership's pooled volume."
            ),
            deadline_at=deadline,
            contract_starts_on=starts_on,
            contract_ends_on=starts_on.replace(year=starts_on.year + 2) - timedelta(days=1),
            min_valid_bids=2,
            price_weight=50,
            quality_weight=40,
            social_value_weight=10,
            school_ids=_member_school_ids(),
        ),
        now=now,
    )
    supply = _service_id("supply-teachers") or 0
    drafting.add_lot(
        tender.id,
        committee,
        drafting.LotInput(
            title="Primary and nursery schools",
            description="Day-to-day and long-term cover in primary and nursery schools.",
            service_id=supply,
            expected_volume=9_000,
            max_suppliers=2,
        ),
        now=now,
    )
    drafting.add_lot(
        tender.id,
        committee,
        drafting.LotInput(
            title="Secondary and special schools",
            description="Subject specialists for secondary schools and cover for special schools.",
            service_id=supply,
            expected_volume=4_500,
            max_suppliers=1,
        ),
        now=now,
    )
    for criterion, text in (
        (
            Criterion.QUALITY,
            "How will you make sure every supply teacher is vetted before a placement, and how "
            "fast can you fill a same-day booking?",
        ),
        (
            Criterion.QUALITY,
            "How will you manage the account for more than sixty schools, and what will each "
            "school see each term?",
        ),
        (
            Criterion.SOCIAL_VALUE,
            "How will you recruit locally in Ealing and pay supply staff at least the London "
            "Living Wage?",
        ),
    ):
        drafting.add_question(
            tender.id, committee, drafting.QuestionInput(criterion, text), now=now
        )
    document_service.attach_to_tender(
        tender.id, committee, "specification-summary.txt", SPECIFICATION.encode(), now=now
    )
    publication.publish_tender(tender.id, committee, now=now)
    if provider is not None:
        question = clarifications.ask_clarification(
            tender.id,
            provider,
            "Can a provider bid for one lot only?",
            now=now + timedelta(hours=20),
        )
        clarifications.answer_clarification(
            tender.id,
            question.id,
            committee,
            "Yes. Each lot is evaluated and awarded separately; bid for any or all of them.",
            now=now + timedelta(hours=26),
        )
    return tender


def _demo_bid(
    tender: Tender,
    provider_name: str,
    tiers: list[tuple[int, int]],
    capacity: int,
    answers: list[str],
    at: datetime,
) -> TenderBid | None:
    """A bid from a demo provider with no sign-in of its own, recorded as received at `at`."""
    provider_id = db.session.scalar(sa.select(Provider.id).where(Provider.name == provider_name))
    if provider_id is None:
        return None
    lot = tender.lots[0]
    bid = TenderBid(
        tender_id=tender.id,
        lot=lot,
        provider_id=provider_id,
        status=BidStatus.SUBMITTED,
        capacity=capacity,
        submitted_at=at,
        tiers=[TenderBidTier(min_quantity=q, unit_price_pence=p) for q, p in tiers],
        answers=[
            TenderBidAnswer(question_id=q.id, text=text)
            for q, text in zip(tender.questions, answers, strict=True)
        ],
    )
    db.session.add(bid)
    db.session.flush()
    access.record(
        None,
        tender,
        "tender_bid",
        bid.id,
        "bid submitted",
        at,
        after={"status": bid.status.value, "lot": lot.number, "submitted_at": at.isoformat()},
    )
    db.session.commit()
    return bid


def _complete_tender(committee: User, committee2: User, now: datetime) -> Tender:
    started = now - timedelta(days=220)
    deadline = london_instant(add_working_days(london_date(started), 15), time(12, 0))
    starts_on = _first_of_month_after(london_date(deadline) + timedelta(days=30))
    tender = drafting.create_tender(
        committee,
        drafting.TenderInput(
            title=COMPLETE_TITLE,
            description=(
                "Educational psychologist days for assessment, consultation and EHCP advice, "
                "for every member school at one pooled day rate."
            ),
            deadline_at=deadline,
            contract_starts_on=starts_on,
            contract_ends_on=starts_on.replace(year=starts_on.year + 2) - timedelta(days=1),
            min_valid_bids=2,
            price_weight=60,
            quality_weight=30,
            social_value_weight=10,
            school_ids=_member_school_ids(),
        ),
        now=started,
    )
    drafting.add_lot(
        tender.id,
        committee,
        drafting.LotInput(
            title="Educational psychology days",
            description="About 900 days over two years across the partnership, from a "
            "framework of two suppliers ranked by the award.",
            service_id=_service_id("educational-psychology") or 0,
            expected_volume=900,
            max_suppliers=2,
        ),
        now=started,
    )
    drafting.add_question(
        tender.id,
        committee,
        drafting.QuestionInput(
            Criterion.QUALITY, "How will you meet the statutory deadlines for EHCP advice?"
        ),
        now=started,
    )
    drafting.add_question(
        tender.id,
        committee,
        drafting.QuestionInput(
            Criterion.SOCIAL_VALUE, "How will you support trainee psychologists in Ealing?"
        ),
        now=started,
    )
    tender = publication.publish_tender(tender.id, committee, now=started)
    council = _demo_bid(
        tender,
        "Ealing Educational Psychology Service",
        [(0, 52_000), (21, 41_000), (60, 39_500)],
        1_400,
        [
            "Named psychologist per school; EHCP advice within four weeks, tracked weekly.",
            "Two trainee placements a year with Ealing schools.",
        ],
        started + timedelta(days=7),
    )
    company = _demo_bid(
        tender,
        "Northfields Psychology Associates",
        [(0, 56_500), (10, 48_000), (40, 43_000)],
        1_000,
        [
            "A triage line and senior review of every EHCP report within three weeks.",
            "One trainee placement a year.",
        ],
        started + timedelta(days=10),
    )
    if council is None or company is None:
        return tender
    opened = deadline + timedelta(hours=1)
    opening.confirm_opening(tender.id, committee, now=opened)
    opening.confirm_opening(tender.id, committee2, now=opened + timedelta(minutes=20))
    evaluating = deadline + timedelta(days=1)
    opening.start_evaluation(tender.id, committee, now=evaluating)
    lot_id = tender.lots[0].id
    scores = {
        committee.id: {council.id: (75, 80), company.id: (85, 60)},
        committee2.id: {council.id: (70, 70), company.id: (80, 60)},
    }
    for evaluator in (committee, committee2):
        evaluation_service.declare_interests(
            tender.id, lot_id, evaluator, False, "", now=evaluating
        )
        for bid_id, (quality, social) in scores[evaluator.id].items():
            evaluation_service.score_bid(
                tender.id,
                bid_id,
                evaluator,
                {Criterion.QUALITY: quality, Criterion.SOCIAL_VALUE: social},
                {
                    Criterion.QUALITY: "Scored against the published question.",
                    Criterion.SOCIAL_VALUE: "",
                },
                now=evaluating + timedelta(hours=2),
            )
    evaluation_service.moderate_lot(
        tender.id,
        lot_id,
        committee,
        {
            council.id: {Criterion.QUALITY: 73, Criterion.SOCIAL_VALUE: 75},
            company.id: {Criterion.QUALITY: 83, Criterion.SOCIAL_VALUE: 60},
        },
        now=deadline + timedelta(days=3),
    )
    decided = deadline + timedelta(days=5)
    tender = award.decide_award(tender.id, committee, now=decided)
    contract_day = first_contract_day(tender.standstill_ends_on or london_date(decided))
    contracted = london_instant(contract_day, time(10, 0))
    award.enter_into_contracts(tender.id, committee, now=contracted)
    award.complete_tender(tender.id, committee, now=contracted + timedelta(days=1))
    return tender
