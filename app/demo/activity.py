"""A term of real activity for the demo partnership, made by driving the real use cases.

Schools order traded services (some waiting for their head, some confirmed, some delivered), a
buying round for speech and language therapy was pledged, run and awarded before the term
began, the partnership office ran billing (without Stripe: invoices are issued locally) and
recorded two grants; Greenwood's business manager has a line in the basket, not yet checked
out. Everything the dashboards show of the demo comes from here, through the
same code the pages use; nothing is written as a figure.

Safe to run twice: it does nothing when the demo's orders are already there.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.demo.schools import DEMO_SCHOOL_URN
from app.errors import DomainError
from app.extensions import db
from app.models import Grant, Role, School, User
from marketplace.billing import runs
from marketplace.billing.state import stripe_configured
from marketplace.catalogue.models import Service, ServiceKind
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders import acceptance, basket, decisions, drafting
from marketplace.orders.models import Order
from procurement.rounds.access import get_round
from procurement.rounds.approvals import approve_pledges
from procurement.rounds.award import award_run
from procurement.rounds.inputs import awaiting
from procurement.rounds.lifecycle import RoundInput, change_rules, close_pledging, create_round
from procurement.rounds.models import BuyingRound, RoundStatus
from procurement.rounds.pledges import save_pledges
from procurement.rounds.runs import execute_run, queue_run

PO_PREFIX = "DEMO-"
ROUND_TITLE = "Speech and language therapy, autumn term"
COMPARED_ROUND_TITLE = "Counselling days this term: one provider or two?"
COMPARED_SCHOOLS = 14
# Traded services schools order in the demo, and how many units one school typically buys.
ORDERED = {
    "counselling": (4, 12),
    "speech-language-therapy": (6, 20),
    "educational-psychology": (2, 6),
    "hr-advisory": (20, 60),
    "governance-clerking": (1, 1),
    "extra-clerked-meeting": (1, 3),
    "ect-appropriate-body": (1, 4),
    "payroll": (40, 120),
}
ORDERING_SCHOOLS = 30
PLEDGING_SCHOOLS = 18
# Not a password: a stored hash that no password matches (werkzeug reads it as malformed).
NO_PASSWORD = "!no-password"  # noqa: S105


def seed_demo_activity(today: date) -> dict[str, int]:
    """Orders, an awarded round, a billing run and grants; {} when already seeded."""
    if db.session.scalar(sa.select(Order.id).where(Order.po_number.like(f"{PO_PREFIX}%")).limit(1)):
        return {}
    rng = random.Random(2026)  # the same demo every time
    admin = _user(Role.ADMIN)
    committee = _user(Role.COMMITTEE)
    if admin is None or committee is None:
        return {}
    added = {"orders": 0, "round call-offs": 0, "grants": 0, "invoices": 0}
    added["round call-offs"] = _awarded_round(committee, today, rng)
    last_year = AcademicYear.containing(today).starts_on - timedelta(days=300)
    added["invoices"] = _billing(last_year)
    _paid_last_year(last_year, rng)
    added["orders"] = _orders(admin, today, rng)
    added["invoices"] += _billing(today)
    added["grants"] = _grants(admin, today)
    added["compared runs"] = seed_compared_round(committee, today)
    added["basket lines"] = _basket(today)
    return added


def _user(role: Role) -> User | None:
    return db.session.scalar(sa.select(User).where(User.role == role).order_by(User.id).limit(1))


def _schools(rng: random.Random, count: int) -> list[School]:
    schools = list(
        db.session.scalars(
            sa.select(School)
            .where(School.is_member.is_(True), School.pupils.is_not(None))
            .order_by(School.urn)
        )
    )
    chosen = rng.sample(schools, min(count, len(schools)))
    # The demo accounts' own school always takes part, so its people see what it did.
    own = next((school for school in schools if school.urn == DEMO_SCHOOL_URN), None)
    if own is not None and own not in chosen:
        chosen[-1] = own
    return chosen


def _live_offers(slug: str) -> list[Offer]:
    return list(
        db.session.scalars(
            sa.select(Offer)
            .join(Service, Service.id == Offer.service_id)
            .where(
                Service.slug == slug,
                Service.kind == ServiceKind.TRADED,
                Offer.status == OfferStatus.LIVE,
            )
            .order_by(Offer.id)
        )
    )


def _orders(actor: User, today: date, rng: random.Random) -> int:
    """Orders for this term and next, taken as far along their lifecycle as the demo needs."""
    term = Term.containing(today)
    placed = 0
    disputes: list[int] = []
    for school in _schools(rng, ORDERING_SCHOOLS):
        for slug in rng.sample(sorted(ORDERED), rng.randint(1, 3)):
            offers = _live_offers(slug)
            if not offers:
                continue
            offer = rng.choice(offers)
            low, high = ORDERED[slug]
            later = Term.containing(term.ends_on + timedelta(days=1))
            term_key = term.key if rng.random() < 0.7 else later.key
            try:
                order = drafting.create_draft(
                    school_id=school.id,
                    offer_id=offer.id,
                    term_key=term_key,
                    quantity=rng.randint(low, high),
                    po_number=f"{PO_PREFIX}{school.urn}-{placed + 1:03d}",
                    actor=actor,
                    today=today,
                )
                placed += 1
                stage = rng.random()
                if stage < 0.1:
                    continue  # a draft the SBM has not sent yet
                order = drafting.submit(order.id, school.id, actor, today=today)
                if order.status.value == "submitted":
                    if stage < 0.18:
                        decisions.reject(
                            order.id,
                            school.id,
                            _head_like(school),
                            "Not in this term’s budget: order it again next term.",
                        )
                        continue
                    if stage < 0.3:
                        continue  # waiting for the head
                    decisions.approve(order.id, school.id, _head_like(school))
                    if order.status.value == "submitted":  # over the school's second step
                        if stage < 0.35:
                            continue  # waiting for the second approver
                        decisions.approve(order.id, school.id, _second_approver(school))
                if stage < 0.45:
                    continue  # waiting for the provider
                if term_key == term.key and rng.random() < 0.6 and today >= term.starts_on:
                    # Work already done this term: the order was placed before the term began.
                    order.created_at = order.submitted_at = datetime.combine(
                        term.starts_on - timedelta(days=30), time(10), tzinfo=UTC
                    )
                    decisions.confirm(order.id, offer.provider_id, actor)
                    decisions.deliver(order.id, offer.provider_id, actor, today=today)
                    _after_delivery(order.id, school, stage, disputes)
                else:
                    decisions.confirm(order.id, offer.provider_id, actor)
            except DomainError:
                continue  # capacity ran out or the offer is not for this school: as in life
    return placed


def _basket(today: date) -> int:
    """Greenwood's business manager has put two educational psychology days in the basket."""
    school = db.session.scalar(sa.select(School).where(School.urn == DEMO_SCHOOL_URN))
    offers = _live_offers("educational-psychology")
    if school is None or not offers:
        return 0
    next_term = Term.containing(Term.containing(today).ends_on + timedelta(days=1))
    try:
        basket.add_line(
            school_id=school.id,
            offer_id=offers[-1].id,
            term_key=next_term.key,
            quantity=2,
            actor=_sbm_like(school),
            today=today,
        )
    except DomainError:
        return 0  # not orderable today (the demo's dates move with the calendar)
    return 1


def _after_delivery(order_id: int, school: School, stage: float, disputes: list[int]) -> None:
    """Most schools confirm receipt at once (billed tonight); one disputes a delivery; the
    rest are still inside their window to confirm or dispute."""
    if not disputes:
        acceptance.dispute(
            order_id,
            school.id,
            _sbm_like(school),
            "Two of the sessions did not take place; the counsellor was off sick.",
        )
        disputes.append(order_id)
    elif stage < 0.8:
        acceptance.confirm_receipt(order_id, school.id, _sbm_like(school))


def _head_like(school: School) -> User:
    """The school's head, or a stand-in head account for the demo's other schools."""
    return _stand_in(school, Role.HEAD, "head", f"Head of {school.name}")


def _second_approver(school: School) -> User:
    """The school's chair of governors (second approver), or a stand-in for the demo's past."""
    return _stand_in(school, Role.GOVERNOR, "governor", f"Chair of governors, {school.name}")


def _stand_in(school: School, role: Role, prefix: str, name: str) -> User:
    """The school's user in this role, or a stand-in that cannot sign in, for the demo's past."""
    user = db.session.scalar(
        sa.select(User).where(User.school_id == school.id, User.role == role).limit(1)
    )
    if user is None:
        user = User(
            email=f"{prefix}.{school.urn}@demo.pooled.test",
            name=name[:120],
            role=role,
            school_id=school.id,
            active=False,  # cannot sign in: it only stands in for the demo's past activity
        )
        user.password_hash = NO_PASSWORD  # matches no password: it can never sign in
        db.session.add(user)
        db.session.commit()
    return user


def _awarded_round(committee: User, today: date, rng: random.Random) -> int:
    """A round pledged and awarded before this term began, with its call-off orders."""
    term = Term.containing(today)
    offers = _live_offers("speech-language-therapy")
    if not offers:
        return 0
    opened = datetime.combine(term.starts_on - timedelta(days=40), time(9), tzinfo=UTC)
    deadline = opened + timedelta(days=21)
    try:
        buying_round = create_round(
            RoundInput(
                title=ROUND_TITLE,
                description=(
                    "Therapy hours for the autumn term, pooled to reach the providers' volume "
                    "prices. Every school pays no more than it would have alone."
                ),
                service_ids=[offers[0].service_id],
                term_keys=[term.key],
                offer_ids=[o.id for o in offers],
                pledge_deadline_at=deadline,
                max_share_percent=100,
                min_providers=1,
                single_source=False,
                open_now=True,
            ),
            committee,
            now=opened,
        )
        for n, school in enumerate(_schools(rng, PLEDGING_SCHOOLS)):
            sbm = _sbm_like(school)
            pledged_at = opened + timedelta(days=1 + n % 10)
            save_pledges(
                buying_round.id,
                school.id,
                {(offers[0].service_id, term.key): rng.randint(8, 40)},
                sbm,
                now=pledged_at,
                po_number=f"{PO_PREFIX}{school.urn}-SLT",
            )
            if awaiting(buying_round.id, school.id):  # over the threshold: the head approves
                approve_pledges(buying_round.id, school.id, _head_like(school), pledged_at)
        close_pledging(buying_round.id, committee, now=deadline + timedelta(hours=1))
        run = queue_run(buying_round.id, committee, now=deadline + timedelta(hours=2))
        run = execute_run(run.id)
        summary = award_run(buying_round.id, run.id, committee, now=deadline + timedelta(days=1))
    except DomainError:
        db.session.rollback()
        return 0
    assert get_round(buying_round.id).status is RoundStatus.AWARDED
    return summary.orders


def seed_compared_round(committee: User, today: date) -> int:
    """A counselling round pledged, closed and run twice under different rules, not awarded
    yet: the committee compares the two runs (the round's "Compare two runs" page) before it
    chooses. How many runs it added; 0 when the round exists or cannot be made."""
    if db.session.scalar(
        sa.select(BuyingRound.id).where(BuyingRound.title == COMPARED_ROUND_TITLE)
    ):
        return 0
    term = Term.containing(today)
    offers = _live_offers("counselling")
    if len(offers) < 2:
        return 0
    rng = random.Random(3070)  # its own, so the rest of the demo stays as it was
    opened = datetime.combine(term.starts_on - timedelta(days=30), time(9), tzinfo=UTC)
    deadline = opened + timedelta(days=14)
    try:
        buying_round = create_round(
            RoundInput(
                title=COMPARED_ROUND_TITLE,
                description=(
                    "Counselling days for this term. The committee is weighing continuity "
                    "(each school with one counsellor) and resilience (two providers) against "
                    "the lowest price before it awards."
                ),
                service_ids=[offers[0].service_id],
                term_keys=[term.key],
                offer_ids=[o.id for o in offers],
                pledge_deadline_at=deadline,
                max_share_percent=100,
                min_providers=1,
                single_source=False,
                open_now=True,
            ),
            committee,
            now=opened,
        )
        for n, school in enumerate(_schools(rng, COMPARED_SCHOOLS)):
            pledged_at = opened + timedelta(days=1 + n % 7)
            save_pledges(
                buying_round.id,
                school.id,
                {(offers[0].service_id, term.key): rng.randint(3, 12)},
                _sbm_like(school),
                now=pledged_at,
                po_number=f"{PO_PREFIX}{school.urn}-CNS",
            )
            if awaiting(buying_round.id, school.id):  # over the threshold: the head approves
                approve_pledges(buying_round.id, school.id, _head_like(school), pledged_at)
        close_pledging(buying_round.id, committee, now=deadline + timedelta(hours=1))
        # The cheapest allocation first; then with each school kept to one counsellor and no
        # provider winning more than 60%, to see what continuity and resilience cost.
        execute_run(queue_run(buying_round.id, committee, now=deadline + timedelta(hours=2)).id)
        change_rules(
            buying_round.id,
            max_share_percent=60,
            min_providers=2,
            single_source=True,
            actor=committee,
        )
        execute_run(queue_run(buying_round.id, committee, now=deadline + timedelta(hours=3)).id)
    except DomainError:
        db.session.rollback()
        return 0
    return 2


def _sbm_like(school: School) -> User:
    """The school's business manager, or a stand-in account for the demo's other schools."""
    return _stand_in(school, Role.SBM, "sbm", f"Business manager, {school.name}")


def _billing(as_of: date) -> int:
    """Bill what is due on a day, as the partnership office does (issued here, without Stripe)."""
    if stripe_configured():
        return 0  # with Stripe configured the office runs billing itself
    run = runs.start_run(None, as_of=as_of)
    return runs.execute(run, None).invoices_created


def _paid_last_year(as_of: date, rng: random.Random) -> None:
    """Last year's subscriptions were paid by bank transfer, but for a few schools' still due.

    Without Stripe there is no webhook to say so; the demo records the transfers itself.
    """
    from marketplace.billing.models import Invoice, InvoiceStatus

    year = AcademicYear.containing(as_of)
    invoices = list(
        db.session.scalars(
            sa.select(Invoice)
            .where(Invoice.status == InvoiceStatus.OPEN, Invoice.issued_at.is_not(None))
            .order_by(Invoice.id)
        )
    )
    unpaid = {invoice.id for invoice in rng.sample(invoices, min(3, len(invoices)))}
    for invoice in invoices:
        if invoice.id in unpaid or invoice.due_on is None or invoice.due_on > year.ends_on:
            continue
        invoice.status = InvoiceStatus.PAID
        invoice.amount_paid_pence = invoice.total_pence - invoice.credited_pence
        paid_on = invoice.due_on - timedelta(days=rng.randint(0, 20))
        invoice.paid_at = datetime.combine(paid_on, time(10), tzinfo=UTC)
    db.session.commit()


def _grants(actor: User, today: date) -> int:
    year = AcademicYear.containing(today)
    grants = [
        ("Department for Education", "School-led improvement grant", 4_500_000, year.starts_on),
        (
            "London Borough of Ealing",
            "Commission: attendance support programme",
            2_750_000,
            year.starts_on + timedelta(days=45),
        ),
        (
            "Department for Education",
            "School-led improvement grant",
            4_200_000,
            year.starts_on - timedelta(days=300),
        ),
    ]
    for source, description, amount, received_on in grants:
        db.session.add(
            Grant(
                source=source,
                description=description,
                amount_pence=amount,
                received_on=received_on,
                recorded_by_id=actor.id,
            )
        )
    db.session.commit()
    return len(grants)
