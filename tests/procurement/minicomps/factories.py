"""Mini-competition test data, built through the real use cases with an injected clock.

`make_framework` awards the test counselling tender to both providers (a framework of two:
A ranked 1, B ranked 2; both schools take part); `start` sends a quote request on it.
Distinctive quote prices make a leak of a sealed quote easy to spot in any page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from app.calendar import Term, add_working_days
from app.models import User
from app.time import london_date, london_instant, utcnow
from procurement.contracts.models import Contract
from procurement.minicomps import services
from procurement.minicomps.models import AwardMethod, MiniCompetition
from procurement.tenders import award
from tests import factories
from tests.procurement.tenders.factories import evaluate, make_tender, open_bids, submit_both_bids

SECRET_QUOTE_A = 31_247  # £312.47
SECRET_QUOTE_B = 29_853  # £298.53
SECRET_NOTE_A = "Xylophone plan from supplier A"


@dataclass
class Framework:
    world: factories.World
    contract_a: Contract  # ranked 1
    contract_b: Contract  # ranked 2


def make_framework(world: factories.World, now: datetime | None = None) -> Framework:
    """A and B both win the counselling tender's lot; contracts entered into at `now`."""
    now = now or utcnow() - timedelta(days=30)
    tw = make_tender(
        world, now=now - timedelta(days=60), deadline_at=now - timedelta(days=40), max_suppliers=2
    )
    bid_a, bid_b = submit_both_bids(tw, now=now - timedelta(days=50))
    open_bids(tw, now=now - timedelta(days=39))
    evaluate(tw, {bid_a.id: (60, 60), bid_b.id: (60, 60)}, now=now - timedelta(days=38))
    award.decide_award(tw.tender.id, world.committee, now=now - timedelta(days=30))
    contracts = award.enter_into_contracts(tw.tender.id, world.committee, now=now)
    by_provider = {c.provider_id: c for c in contracts}
    return Framework(world, by_provider[world.provider_a.id], by_provider[world.provider_b.id])


def deadline_for(started: datetime, working_days: int = 3) -> datetime:
    return london_instant(add_working_days(london_date(started), working_days), time(12, 0))


def request_input(school_id: int, started: datetime, **overrides: object) -> services.RequestInput:
    values: dict[str, object] = {
        "school_id": school_id,
        "title": "Counselling for Year 6",
        "requirement": "Twelve counselling days for Year 6 before SATs.",
        "quantity": 12,
        "term_key": Term.containing(london_date(utcnow())).key,
        "deadline_at": deadline_for(started),
        "award_method": AwardMethod.LOWEST_PRICE,
        "price_weight": 100,
        "quality_weight": 0,
        "po_number": "PO-MC-1",
    }
    values.update(overrides)
    return services.RequestInput(**values)


def start(
    fw: Framework, actor: User | None = None, started: datetime | None = None, **overrides: object
) -> MiniCompetition:
    """School A's business manager asks for quotes (at `started`, default now)."""
    started = started or utcnow()
    actor = actor or fw.world.sbm_a
    return services.start_mini_competition(
        fw.contract_a.id,
        actor,
        request_input(fw.world.school_a.id, started, **overrides),
        now=started,
    )


def quote(mini: MiniCompetition, user: User, price: int, at: datetime, note: str = "") -> None:
    services.submit_quote(
        mini.id, user, unit_price_pence=price, note=note, declared_compliant=True, now=at
    )
