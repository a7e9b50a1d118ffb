"""The demo's finished mini-competition: Greenwood's business manager asks the educational
psychology framework's two suppliers for sealed quotes, opens them after the deadline, scores
their quality and awards the call-off order.

Built through the real use cases on an injected clock (three weeks ago up to last week), so its
audit trail, notifications and call-off order are what the app itself writes. Safe to run
again: it is looked up by title first.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import Term, add_working_days
from app.demo.tenders import COMPLETE_TITLE
from app.extensions import db
from app.models import User
from app.time import london_date, london_instant, utcnow
from procurement.contracts.models import Contract, ContractSource
from procurement.minicomps import award, services
from procurement.minicomps.models import AwardMethod, MiniCompetition
from procurement.tenders.models import Tender

TITLE = "EHCP assessments backlog, spring"


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def seed_demo_mini_competition(now: datetime | None = None) -> int:
    """Add the finished demo mini-competition if it is missing; how many were added."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    if db.session.scalar(sa.select(MiniCompetition.id).where(MiniCompetition.title == TITLE)):
        return 0
    sbm = _user("sbm@demo.pooled.test")
    northfields = _user("psychology@demo.pooled.test")
    council = _user("eps@demo.pooled.test")
    tender_id = db.session.scalar(sa.select(Tender.id).where(Tender.title == COMPLETE_TITLE))
    if sbm is None or northfields is None or council is None or tender_id is None:
        return 0
    contract = db.session.scalar(
        sa.select(Contract)
        .where(Contract.source == ContractSource.TENDER, Contract.source_id == tender_id)
        .order_by(Contract.framework_rank, Contract.id)
    )
    if contract is None or sbm.school_id is None:
        return 0
    started = now - timedelta(days=21)
    deadline = london_instant(add_working_days(london_date(started), 5), time(12, 0))
    mini = services.start_mini_competition(
        contract.id,
        sbm,
        services.RequestInput(
            school_id=sbm.school_id,
            title=TITLE,
            requirement=(
                "Ten educational psychologist days before Easter to clear four EHCP needs "
                "assessments and two consultations; reports within the statutory six weeks."
            ),
            quantity=10,
            term_key=Term.containing(london_date(now)).key,
            deadline_at=deadline,
            award_method=AwardMethod.WEIGHTED,
            price_weight=70,
            quality_weight=30,
            po_number="GW-PO-2291",
        ),
        now=started,
    )
    services.submit_quote(
        mini.id,
        northfields,
        unit_price_pence=46_500,
        note="Two named psychologists; first visits within five school days.",
        declared_compliant=True,
        now=started + timedelta(days=1),
    )
    services.submit_quote(
        mini.id,
        council,
        unit_price_pence=44_000,
        note="Your link psychologist; reports within five weeks.",
        declared_compliant=True,
        now=started + timedelta(days=2),
    )
    opened = deadline + timedelta(hours=2)
    mini = award.open_quotes(mini.id, sbm, now=opened)
    scores = {"Northfields Psychology Associates": 85, "Ealing Educational Psychology Service": 70}
    for quote in mini.quotes:
        if quote.unit_price_pence is not None:
            award.score_quality(
                mini.id, quote.id, sbm, scores.get(quote.provider.name, 60), now=opened
            )
    award.award(mini.id, sbm, now=opened + timedelta(hours=1))
    return 1
