"""The demo buying round: counselling days for next term, open, with some schools' pledges in."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.calendar import Term
from app.extensions import db
from app.models import Role, School, User
from app.time import london_date, utcnow
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders.rules import needs_approval
from procurement.rounds.access import audit_scope
from procurement.rounds.approvals import price_lists
from procurement.rounds.estimates import request_refresh
from procurement.rounds.lifecycle import offer_runs_in, terms_to_choose
from procurement.rounds.models import BuyingRound, Pledge, RoundOffer, RoundService, RoundStatus
from procurement.rounds.rules import pledge_estimate_pence

DEMO_ROUND_TITLE = "Counselling days for next term"
# (school URN, days) pledged already; Greenwood Primary (the demo SBM's school) is left to pledge.
DEMO_PLEDGES = [
    (101867, 12),  # Acton Gardens Primary
    (101868, 8),  # East Acton Primary
    (101869, 15),  # Oldfield Primary
    (101873, 6),  # St John's Primary
    (101877, 10),  # Mayfield Primary
    (101880, 9),  # Downe Manor Primary
    (101886, 14),  # Selborne Primary
    (101893, 5),  # Clifton Primary
    (101898, 11),  # Gifford Primary
    (101902, 7),  # Willow Tree Primary
    (101907, 6),  # Stanhope Primary
    (101928, 18),  # Villiers High
]
NO_PO_URN = 101907  # Stanhope Primary has not given its purchase-order number yet


def _demo_term(today: date, offers: list[Offer]) -> Term | None:
    """The next term all the counselling offers run in (the current one if none later)."""
    current = Term.containing(today)
    for term in terms_to_choose(today):
        if term > current and all(offer_runs_in(o, term) for o in offers):
            return term
    return current if all(offer_runs_in(o, current) for o in offers) else None


def seed_demo_round(now: datetime | None = None) -> int:
    """Add the demo round (counselling days, open, some pledges in); 0 if it exists. No commit."""
    now = now or utcnow()
    if db.session.scalar(sa.select(BuyingRound.id).where(BuyingRound.title == DEMO_ROUND_TITLE)):
        return 0
    db.session.flush()
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .join(Service, Service.id == Offer.service_id)
            .where(Service.slug == "counselling", Offer.status == OfferStatus.LIVE)
            .options(selectinload(Offer.capacities))
            .order_by(Offer.id)
        )
    )
    if not offers:
        return 0
    term = _demo_term(london_date(now), offers)
    if term is None:
        return 0
    deadline = min(
        now + timedelta(days=14),
        datetime.combine(term.starts_on, datetime.min.time(), tzinfo=now.tzinfo)
        - timedelta(days=1),
    )
    committee = db.session.scalar(
        sa.select(User).where(User.role == Role.COMMITTEE).order_by(User.id)
    )
    buying_round = BuyingRound(
        title=DEMO_ROUND_TITLE,
        description=(
            "Pledge the counselling days your school needs next term. Pooled together, the "
            "partnership reaches the providers' volume prices; every school pays no more than "
            "it would alone."
        ),
        status=RoundStatus.OPEN,
        term_keys=[term.key],
        pledge_deadline_at=deadline,
        max_share_percent=100,
        min_providers=1,
        single_source=False,
        created_by_id=committee.id if committee else None,
        opened_at=now,
        services=[RoundService(service_id=offers[0].service_id)],
        offers=[RoundOffer(offer_id=o.id) for o in offers],
    )
    db.session.add(buying_round)
    db.session.flush()
    urns = [urn for urn, _ in DEMO_PLEDGES]
    schools = {s.urn: s for s in db.session.scalars(sa.select(School).where(School.urn.in_(urns)))}
    lists = price_lists(buying_round)[offers[0].service_id]
    one_waits = False
    for urn, days in DEMO_PLEDGES:
        school = schools.get(urn)
        if school is None:
            continue
        estimate = pledge_estimate_pence(days, lists)
        # Most pledges are approved (within the threshold, or by the head) and carry the
        # school's PO; the largest one over its school's threshold waits for its head, and one
        # was made without a PO yet.
        waiting = (
            not one_waits
            and days >= 14
            and needs_approval(estimate, school.approval_threshold_pence)
        )
        one_waits = one_waits or waiting
        db.session.add(
            Pledge(
                round_id=buying_round.id,
                school_id=school.id,
                service_id=offers[0].service_id,
                term_key=term.key,
                quantity=days,
                estimated_pence=estimate,
                approved_at=None if waiting else now,
                po_number="" if urn == NO_PO_URN else f"PO-{urn}-CNS",
                created_at=now,
                updated_at=now,
            )
        )
    audit.record(
        committee,
        "round",
        buying_round.id,
        "created",
        after=buying_round.snapshot(),
        scope=audit_scope(buying_round),
    )
    request_refresh(buying_round.id)  # its indicative price, worked out once this commits
    db.session.flush()
    return 1
