"""Running a mini-competition up to its deadline: the school's quote request, and the
suppliers' sealed quotes (submit, replace, withdraw).

Every public use case takes `now` (tests inject it), checks the stage at that instant, writes
an audit event in scope ``mini_competition:<id>`` and commits once at its end; a refused one
writes nothing. Until the quotes are opened no event, page or message says what a quote costs
or whether a supplier has quoted, except to that supplier. Opening and the award are in
`procurement.minicomps.award`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import User
from app.money import format_pence
from app.time import format_instant, london_date, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import Service
from marketplace.orders.drafting import clean_po
from marketplace.orders.errors import InvalidOrder
from procurement.minicomps import access, rules
from procurement.minicomps.emails import tell_suppliers
from procurement.minicomps.errors import (
    InvalidQuote,
    MiniCompetitionError,
    MiniCompetitionNotFound,
    MiniCompetitionStateConflict,
    NotYourMiniCompetition,
)
from procurement.minicomps.models import (
    AwardMethod,
    MiniCompetition,
    MiniCompetitionQuote,
    MiniCompetitionStatus,
    QuoteStatus,
)

TITLE_MAX = 200
REQUIREMENT_MAX = 4_000
NOTE_MAX = 2_000
MIN_SUPPLIERS = 2
# A quoted unit price above this (£100,000) is a typing mistake, not a quote.
PRICE_MAX_PENCE = 10_000_000
QUANTITY_MAX = 100_000
# The call-off order's total must fit the orders table (a 32-bit whole number of pence).
TOTAL_MAX_PENCE = 2_147_483_647


@dataclass(frozen=True)
class RequestInput:
    """What the school asks the framework's suppliers to quote for."""

    school_id: int
    title: str
    requirement: str
    quantity: int
    term_key: str
    deadline_at: datetime
    award_method: AwardMethod
    price_weight: int
    quality_weight: int
    po_number: str


def request_terms(today: date, until: date) -> list[Term]:
    """The terms a request may be for: from the current term to the one the contracts end in."""
    terms: list[Term] = []
    year = AcademicYear.containing(today)
    while year.starts_on <= until:
        terms += [t for t in year.terms() if t.ends_on >= today and t.starts_on <= until]
        year = AcademicYear(year.start_year + 1)
    return terms


def _clean(value: str, limit: int, field: str, missing: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise MiniCompetitionError(missing, field=field)
    if len(text) > limit:
        raise MiniCompetitionError(f"{what} must be {limit:,} characters or fewer", field=field)
    return text


@use_case
def start_mini_competition(
    contract_id: int, actor: User, data: RequestInput, now: datetime | None = None
) -> MiniCompetition:
    """Send a sealed quote request to the framework's suppliers the school calls off from."""
    now = now or utcnow()
    framework = access.get_framework_for_user(contract_id, actor)
    if data.school_id not in framework.buyer_school_ids:
        if not framework.buyer_school_ids:
            raise NotYourMiniCompetition(
                "Only a school taking part (its business manager or head, its trust's finance "
                "lead) or the committee can run a mini-competition."
            )
        raise MiniCompetitionError(
            "Choose a school taking part in this framework", field="school_id"
        )
    title = _clean(data.title, TITLE_MAX, "title", "Enter a short title", "The title")
    requirement = _clean(
        data.requirement,
        REQUIREMENT_MAX,
        "requirement",
        "Describe what the school needs",
        "The requirement",
    )
    if data.quantity is None or data.quantity < 1:
        raise MiniCompetitionError("Enter a quantity of at least 1", field="quantity")
    if data.quantity > QUANTITY_MAX:
        raise MiniCompetitionError(
            f"Enter a quantity of {QUANTITY_MAX:,} or fewer", field="quantity"
        )
    try:
        term = Term.parse(data.term_key or "")
    except ValueError:
        raise MiniCompetitionError("Choose the term", field="term_key") from None
    today = london_date(now)
    if term < Term.containing(today):
        raise MiniCompetitionError(f"{term.label} is over: choose a later term", field="term_key")
    problem = rules.deadline_problem(data.deadline_at, now)
    if problem:
        raise MiniCompetitionError(problem, field="deadline_on")
    method = AwardMethod(data.award_method)
    price_weight, quality_weight = (
        (100, 0) if method is AwardMethod.LOWEST_PRICE else (data.price_weight, data.quality_weight)
    )
    problem = rules.weights_problem(method.value, price_weight, quality_weight)
    if problem:
        raise MiniCompetitionError(problem, field="price_weight")
    try:
        po_number = clean_po(data.po_number)
    except InvalidOrder as exc:
        raise MiniCompetitionError(exc.message, field="po_number") from None
    invited = access.invitable_contracts(framework.key, data.school_id, today)
    if len(invited) < MIN_SUPPLIERS:
        raise MiniCompetitionStateConflict(
            f"A mini-competition needs at least {MIN_SUPPLIERS} suppliers on live contracts "
            f"that the school takes part in; this framework has {len(invited)}."
        )
    ends_on = min(c.ends_on for c in invited)
    if term.starts_on > ends_on:
        raise MiniCompetitionError(
            f"The framework's contracts end on {ends_on:%-d %B %Y}: choose an earlier term",
            field="term_key",
        )
    mini = MiniCompetition(
        school_id=data.school_id,
        source=framework.contract.source,
        source_id=framework.contract.source_id,
        service_id=framework.contract.service_id,
        title=title,
        requirement=requirement,
        quantity=data.quantity,
        term_key=term.key,
        po_number=po_number,
        deadline_at=data.deadline_at,
        award_method=method,
        price_weight=price_weight,
        quality_weight=quality_weight,
        status=MiniCompetitionStatus.OPEN,
        created_by_id=actor.id,
        created_at=now,
        quotes=[
            MiniCompetitionQuote(
                contract_id=c.id,
                provider_id=c.provider_id,
                framework_rank=c.framework_rank,
                status=QuoteStatus.INVITED,
            )
            for c in invited
        ],
    )
    db.session.add(mini)
    db.session.flush()
    access.record(
        actor,
        mini,
        "mini_competition",
        mini.id,
        "quote request sent",
        now,
        after={
            "school_id": mini.school_id,
            "quantity": mini.quantity,
            "term_key": mini.term_key,
            "deadline_at": mini.deadline_at.isoformat(),
            "award_method": method.value,
            "weights": [price_weight, quality_weight],
            "suppliers": [c.provider.name for c in invited],
        },
    )
    service = db.session.get(Service, mini.service_id)
    unit = service.unit.value if service else "unit"
    tell_suppliers(
        mini,
        [c.provider_id for c in invited],
        event="invited",
        subject=f"Quote request {mini.reference}: {title}",
        message=(
            f"{mini.school.name} asks for your quote under your framework contract: "
            f"{mini.quantity:,} {unit}s ({title}) in {term.label}. Send your sealed quote "
            f"before {format_instant(mini.deadline_at)}."
        ),
    )
    db.session.commit()
    return mini


def _quote_stage(mini: MiniCompetition, actor: User, now: datetime) -> MiniCompetitionQuote:
    """The supplier's own invited quote row, while quotes are taken."""
    quote = access.own_quote(mini, actor)
    if quote is None:
        raise MiniCompetitionNotFound("Page not found")
    current = rules.stage(mini.status.value, mini.deadline_at, now)
    if current is not rules.Stage.OPEN:
        if now >= mini.deadline_at:
            raise MiniCompetitionStateConflict(
                f"The deadline ({format_instant(mini.deadline_at)}) has passed: quotes can no "
                "longer be sent, changed or withdrawn."
            )
        raise MiniCompetitionStateConflict("This mini-competition is no longer taking quotes.")
    return quote


@use_case
def submit_quote(
    mini_competition_id: int,
    actor: User,
    *,
    unit_price_pence: int | None,
    note: str,
    declared_compliant: bool,
    now: datetime | None = None,
) -> MiniCompetitionQuote:
    """Send (or replace) your sealed quote: a unit price, a note and the declaration."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    quote = _quote_stage(mini, actor, now)
    if unit_price_pence is None or unit_price_pence <= 0:
        raise InvalidQuote("Enter your price per unit, more than £0", field="unit_price")
    if unit_price_pence > PRICE_MAX_PENCE:
        raise InvalidQuote(
            "That price is too high: enter the price of one unit", field="unit_price"
        )
    if unit_price_pence * mini.quantity > TOTAL_MAX_PENCE:
        raise InvalidQuote(
            f"That price is too high: {mini.quantity:,} at it would come to more than "
            f"{format_pence(TOTAL_MAX_PENCE)}. Enter the price of one unit",
            field="unit_price",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidQuote(f"Keep the note to {NOTE_MAX:,} characters or fewer", field="note")
    if not declared_compliant:
        raise InvalidQuote(
            "Confirm that your quote meets the requirement and your contract's terms",
            field="declared_compliant",
        )
    replacing = quote.status is QuoteStatus.SUBMITTED
    quote.status = QuoteStatus.SUBMITTED
    quote.unit_price_pence = unit_price_pence
    quote.note = note
    quote.declared_compliant = True
    quote.submitted_at = now
    quote.withdrawn_at = None
    # Sealed: the trail says that a quote came in and when, never its price.
    access.record(
        actor,
        mini,
        "mini_competition_quote",
        quote.id,
        "quote replaced" if replacing else "quote submitted",
        now,
        after={"status": quote.status.value, "received_at": now.isoformat()},
    )
    db.session.commit()
    return quote


@use_case
def withdraw_quote(
    mini_competition_id: int, actor: User, now: datetime | None = None
) -> MiniCompetitionQuote:
    """Take your quote back before the deadline (you may send a new one until then)."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    quote = _quote_stage(mini, actor, now)
    if quote.status is not QuoteStatus.SUBMITTED:
        raise MiniCompetitionStateConflict("You have no quote to withdraw.")
    quote.status = QuoteStatus.WITHDRAWN
    quote.unit_price_pence = None
    quote.note = ""
    quote.declared_compliant = False
    quote.withdrawn_at = now
    access.record(
        actor,
        mini,
        "mini_competition_quote",
        quote.id,
        "quote withdrawn",
        now,
        after={"status": quote.status.value},
    )
    db.session.commit()
    return quote


@use_case
def cancel_mini_competition(
    mini_competition_id: int, actor: User, reason: str, now: datetime | None = None
) -> MiniCompetition:
    """Call the request off before the quotes are opened: quotes are discarded unseen."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    access.require_buyer(mini, actor)
    if mini.status is not MiniCompetitionStatus.OPEN:
        raise MiniCompetitionStateConflict(
            "Only a request whose quotes are not opened can be cancelled."
        )
    reason = _clean(
        reason, NOTE_MAX, "reason", "Say why it is cancelled: suppliers are told", "The reason"
    )
    mini.status = MiniCompetitionStatus.CANCELLED
    mini.cancelled_at = now
    mini.decision_note = f"Cancelled: {reason}"
    for quote in mini.quotes:
        quote.unit_price_pence = None
        quote.note = ""
    access.record(
        actor,
        mini,
        "mini_competition",
        mini.id,
        "cancelled",
        now,
        before={"status": MiniCompetitionStatus.OPEN.value},
        after={"status": mini.status.value, "reason": reason},
    )
    tell_suppliers(
        mini,
        [q.provider_id for q in mini.quotes],
        event="cancelled",
        subject=f"Quote request {mini.reference} cancelled",
        message=(
            f"{mini.school.name} cancelled “{mini.title}”: {reason} Any quote was discarded "
            "unopened."
        ),
    )
    db.session.commit()
    return mini
