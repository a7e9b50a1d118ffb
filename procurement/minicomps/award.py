"""After the deadline: opening the quotes, setting non-compliant ones aside, scoring quality,
and the award, which places the winner's call-off order under its framework contract.

The winner is decided by the pure rule (`procurement.minicomps.rules.decide`); this module
loads, checks who may do what at which stage, records it, and tells the suppliers. The call-off
order goes through the normal order workflow (`marketplace.orders.drafting.submit_draft`):
submitted, then approved at once within the school's approval threshold or sent to its head.
"""

from __future__ import annotations

from datetime import datetime

from app.calendar import Term
from app.extensions import db
from app.models import User
from app.money import format_pence, multiply
from app.time import format_instant, london_date, utcnow
from app.use_case import use_case
from marketplace.orders import access as order_access
from marketplace.orders import rules as order_rules
from marketplace.orders.drafting import submit_draft
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts import calloffs
from procurement.contracts import rules as contract_rules
from procurement.minicomps import access, rules
from procurement.minicomps.emails import tell_suppliers
from procurement.minicomps.errors import (
    MiniCompetitionError,
    MiniCompetitionNotFound,
    MiniCompetitionStateConflict,
)
from procurement.minicomps.models import (
    AwardMethod,
    MiniCompetition,
    MiniCompetitionQuote,
    MiniCompetitionStatus,
    QuoteStatus,
)
from procurement.minicomps.services import NOTE_MAX


def _quote_fields(quote: MiniCompetitionQuote) -> dict[str, object]:
    return {
        "supplier": quote.provider.name,
        "status": quote.status.value,
        "unit_price_pence": quote.unit_price_pence,
        "received_at": quote.submitted_at.isoformat() if quote.submitted_at else None,
        "declared_compliant": quote.declared_compliant,
    }


@use_case
def open_quotes(
    mini_competition_id: int, actor: User, now: datetime | None = None
) -> MiniCompetition:
    """After the deadline, the school opens the quotes (none received: unsuccessful)."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    access.require_buyer(mini, actor)
    current = rules.stage(mini.status.value, mini.deadline_at, now)
    if current is rules.Stage.OPEN:
        raise MiniCompetitionStateConflict(
            f"Quotes can be opened only after the deadline ({format_instant(mini.deadline_at)})."
        )
    if current is not rules.Stage.CLOSED:
        raise MiniCompetitionStateConflict("The quotes have already been opened.")
    mini.status = MiniCompetitionStatus.OPENED
    mini.opened_at = now
    mini.opened_by_id = actor.id
    received = [q for q in mini.quotes if q.status is QuoteStatus.SUBMITTED]
    for quote in received:
        access.record(
            actor,
            mini,
            "mini_competition_quote",
            quote.id,
            "quote opened",
            now,
            after=_quote_fields(quote),
        )
    access.record(
        actor,
        mini,
        "mini_competition",
        mini.id,
        "quotes opened",
        now,
        before={"status": MiniCompetitionStatus.OPEN.value},
        after={"status": mini.status.value, "quotes_received": len(received)},
    )
    if not received:
        _unsuccessful(mini, actor, now, "No quote was received by the deadline.")
    db.session.commit()
    return mini


def _opened_quote(mini: MiniCompetition, quote_id: int) -> MiniCompetitionQuote:
    if mini.status is not MiniCompetitionStatus.OPENED:
        raise MiniCompetitionStateConflict(
            "Quotes are checked and scored between opening and the award."
        )
    quote = next((q for q in mini.quotes if q.id == quote_id), None)
    if quote is None:
        raise MiniCompetitionNotFound("Page not found")
    if quote.status is not QuoteStatus.SUBMITTED:
        raise MiniCompetitionStateConflict(f"{quote.provider.name} did not send a quote.")
    return quote


@use_case
def set_aside_quote(
    mini_competition_id: int,
    quote_id: int,
    actor: User,
    reason: str,
    now: datetime | None = None,
) -> MiniCompetitionQuote:
    """After opening: set a quote aside as not compliant, saying why (its supplier is told at
    the award)."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    access.require_buyer(mini, actor)
    quote = _opened_quote(mini, quote_id)
    reason = (reason or "").strip()
    if not reason:
        raise MiniCompetitionError("Say why the quote is not compliant", field="reason")
    if len(reason) > NOTE_MAX:
        raise MiniCompetitionError(
            f"Keep the reason to {NOTE_MAX:,} characters or fewer", field="reason"
        )
    before = {"set_aside_reason": quote.set_aside_reason}
    quote.set_aside_reason = reason
    access.record(
        actor,
        mini,
        "mini_competition_quote",
        quote.id,
        "set aside as not compliant",
        now,
        before=before,
        after={"supplier": quote.provider.name, "reason": reason},
    )
    db.session.commit()
    return quote


@use_case
def score_quality(
    mini_competition_id: int,
    quote_id: int,
    actor: User,
    score: int | None,
    now: datetime | None = None,
) -> MiniCompetitionQuote:
    """After opening, for a weighted award: the school scores a quote's quality 0–100."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    access.require_buyer(mini, actor)
    if mini.award_method is not AwardMethod.WEIGHTED:
        raise MiniCompetitionStateConflict("This mini-competition is won on price alone.")
    quote = _opened_quote(mini, quote_id)
    if score is None or not 0 <= score <= 100:
        raise MiniCompetitionError("Give a whole number from 0 to 100", field="score")
    before = {"quality_score": quote.quality_score}
    quote.quality_score = score
    access.record(
        actor,
        mini,
        "mini_competition_quote",
        quote.id,
        "quality scored",
        now,
        before=before,
        after={"supplier": quote.provider.name, "quality_score": score},
    )
    db.session.commit()
    return quote


def _unsuccessful(mini: MiniCompetition, actor: User, now: datetime, why: str) -> None:
    before = {"status": mini.status.value}
    mini.status = MiniCompetitionStatus.UNSUCCESSFUL
    mini.decided_at = now
    mini.decision_note = why
    access.record(
        actor,
        mini,
        "mini_competition",
        mini.id,
        "unsuccessful",
        now,
        before=before,
        after={"status": mini.status.value, "note": why},
    )
    tell_suppliers(
        mini,
        [q.provider_id for q in mini.quotes],
        event="unsuccessful",
        subject=f"Quote request {mini.reference}: no award",
        message=f"“{mini.title}” for {mini.school.name} was not awarded. {why}",
    )


@use_case
def award(mini_competition_id: int, actor: User, now: datetime | None = None) -> MiniCompetition:
    """Decide the winner by the published method and place its call-off order; every supplier
    that quoted is told the outcome."""
    now = now or utcnow()
    mini = access.locked(mini_competition_id, actor)
    access.require_buyer(mini, actor)
    if mini.status is not MiniCompetitionStatus.OPENED:
        raise MiniCompetitionStateConflict(
            "The award follows the opening of the quotes, once."
            if mini.status is MiniCompetitionStatus.OPEN
            else "This mini-competition has already been decided."
        )
    received = [q for q in mini.quotes if q.status is QuoteStatus.SUBMITTED]
    judged = [
        rules.QuoteToJudge(
            quote_id=q.id,
            unit_price_pence=q.unit_price_pence or 0,
            received_at=q.submitted_at or now,
            compliant=q.compliant,
            framework_rank=q.framework_rank,
            quality=q.quality_score,
        )
        for q in received
    ]
    try:
        decision = rules.decide(
            judged, mini.award_method.value, mini.price_weight, mini.quality_weight
        )
    except rules.JudgingError as exc:
        raise MiniCompetitionError(str(exc)) from None
    if decision.winner is None:
        _unsuccessful(mini, actor, now, decision.explanation)
        db.session.commit()
        return mini
    by_id = {q.id: q for q in received}
    for judged_quote in decision.ranking:
        quote = by_id[judged_quote.quote_id]
        quote.rank = judged_quote.rank
        quote.score_hundredths = judged_quote.total_hundredths
    winner = by_id[decision.winner.quote_id]
    order = _call_off(mini, winner, actor, now)
    mini.status = MiniCompetitionStatus.AWARDED
    mini.decided_at = now
    mini.decision_note = decision.explanation
    mini.order_id = order.id
    access.record(
        actor,
        mini,
        "mini_competition",
        mini.id,
        "awarded",
        now,
        before={"status": MiniCompetitionStatus.OPENED.value},
        after={
            "status": mini.status.value,
            "winner": winner.provider.name,
            "unit_price_pence": winner.unit_price_pence,
            "ranking": [
                {
                    "supplier": by_id[j.quote_id].provider.name,
                    "rank": j.rank,
                    "score": j.total_hundredths / 100,
                }
                for j in decision.ranking
            ],
            "note": decision.explanation,
            "order_id": order.id,
        },
    )
    _tell_outcome(mini, winner, received, decision)
    db.session.commit()
    return mini


def _call_off(
    mini: MiniCompetition, winner: MiniCompetitionQuote, actor: User, now: datetime
) -> Order:
    """The winner's call-off order under its contract at the quoted price, submitted into the
    school's normal order workflow. As any call-off, it must fit in what the contract has left
    (counted under the contract's row lock, as `calloffs.call_off` does) and the contract must
    still be live for the term: otherwise nothing is awarded, and the school is told why."""
    contract = calloffs.locked_contract(winner.contract_id)
    assert winner.unit_price_pence is not None
    total_pence = multiply(winner.unit_price_pence, mini.quantity)
    unit = mini.service.unit.value
    problem = contract_rules.period_problem(
        status=contract.status.value,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        term=Term.parse(mini.term_key),
        today=london_date(now),
    ) or contract_rules.drawdown_problem(
        calloffs.drawdown_of(contract),
        quantity=mini.quantity,
        total_pence=total_pence,
        unit=unit,
        units=order_rules.plural(unit, 2),
        reference=contract.reference,
    )
    if problem:
        raise MiniCompetitionStateConflict(
            f"{winner.provider.name} cannot be awarded the call-off: {problem}. Nothing was "
            "awarded: the committee can change the contract, or set this quote aside as not "
            "compliant (saying why) to award the next."
        )
    order = Order(
        school_id=mini.school_id,
        provider_id=winner.provider_id,
        service_id=mini.service_id,
        offer_id=None,
        contract_id=contract.id,
        kind=OrderKind.CALL_OFF,
        term_key=mini.term_key,
        quantity=mini.quantity,
        entitled_quantity=0,
        unit_price_pence=winner.unit_price_pence,
        setup_pence=0,
        total_pence=total_pence,
        po_number=mini.po_number,
        notes=(
            f"Call-off from mini-competition {mini.reference} (“{mini.title}”) under contract "
            f"{contract.reference}: {mini.quantity:,} at the quoted "
            f"{format_pence(winner.unit_price_pence)} a unit."
        ),
        status=OrderStatus.DRAFT,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    order_access.record(
        actor,
        order,
        "created",
        None,
        contract_id=contract.id,
        mini_competition_id=mini.id,
        po_number=order.po_number,
    )
    submit_draft(order, actor, today=london_date(now))
    return order


def _tell_outcome(
    mini: MiniCompetition,
    winner: MiniCompetitionQuote,
    received: list[MiniCompetitionQuote],
    decision: rules.Decision,
) -> None:
    places = len(decision.ranking)
    for quote in received:
        if quote.id == winner.id:
            message = (
                f"Your quote for “{mini.title}” ({mini.school.name}) won: a call-off order for "
                f"{mini.quantity:,} at {format_pence(quote.unit_price_pence)} a unit follows "
                "under your framework contract."
            )
            subject = f"Quote request {mini.reference}: your quote won"
        elif not quote.compliant:
            message = (
                f"Your quote for “{mini.title}” ({mini.school.name}) was not successful: it was "
                f"set aside as not compliant ({quote.set_aside_reason or 'no declaration'})."
            )
            subject = f"Quote request {mini.reference}: not successful"
        else:
            # Its own place and the method, never another supplier's price.
            method = (
                "lowest compliant price"
                if mini.award_method is AwardMethod.LOWEST_PRICE
                else f"weighted score (price {mini.price_weight}%, quality {mini.quality_weight}%)"
            )
            message = (
                f"Your quote for “{mini.title}” ({mini.school.name}) was not successful: by "
                f"{method} it was placed {quote.rank} of {places}."
            )
            subject = f"Quote request {mini.reference}: not successful"
        tell_suppliers(
            mini,
            [quote.provider_id],
            event=f"outcome-{quote.provider_id}",
            subject=subject,
            message=message,
        )
