"""The rules of a mini-competition: its stages, the notice it gives, when quotes are sealed,
and who wins.

Pure: the standard library, `app.calendar`, `app.money`, `app.time` and the tender scoring
arithmetic only.

- **Notice**: the deadline falls on or after the `NOTICE_WORKING_DAYS`-th working day after
  the day the request is sent (England and Wales bank holidays excluded).
- **Sealed**: until the quotes are opened (which is possible only after the deadline) nobody
  but a quote's own supplier sees its price, its note, or even whether it exists.
- **Lowest compliant price**: the compliant quote with the lowest unit price wins; equal prices
  go to the quote received first, then to the better framework rank, then to the lower quote
  number.
- **Weighted score**: price score = price weight × lowest compliant price ÷ this price; quality
  score = quality weight × the school's quality score (0–100) ÷ 100; the highest total wins,
  computed exactly (fractions) and shown to two decimal places. Equal totals go to the lower
  price, then to the quote received first, then to the better framework rank, then to the
  lower quote number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction

from app.calendar import add_working_days
from app.money import format_pence
from app.time import london_date
from procurement.tenders.scoring import hundredths

NOTICE_WORKING_DAYS = 2
LOWEST_PRICE = "lowest_price"
WEIGHTED = "weighted"


class Stage(StrEnum):
    """Where a mini-competition is at an instant (its stored status, and the clock)."""

    OPEN = "open"  # taking quotes
    CLOSED = "closed"  # deadline passed, quotes not yet opened
    OPENED = "opened"
    AWARDED = "awarded"
    UNSUCCESSFUL = "unsuccessful"
    CANCELLED = "cancelled"


def stage(status: str, deadline_at: datetime, now: datetime) -> Stage:
    """The stage: an open request whose deadline has passed is closed, waiting to be opened."""
    if status == Stage.OPEN and now >= deadline_at:
        return Stage.CLOSED
    return Stage(status)


def quotes_sealed(current: Stage) -> bool:
    """True while nobody but each supplier may see its own quote (until opening)."""
    return current in (Stage.OPEN, Stage.CLOSED, Stage.CANCELLED)


def earliest_deadline_day(now: datetime) -> date:
    """The first day a deadline may fall on for a request sent at `now`."""
    return add_working_days(london_date(now), NOTICE_WORKING_DAYS)


def deadline_problem(deadline_at: datetime, now: datetime) -> str | None:
    """Why this deadline gives suppliers too little notice, or None when it is fine."""
    earliest = earliest_deadline_day(now)
    if london_date(deadline_at) < earliest:
        return (
            f"The deadline must be at least {NOTICE_WORKING_DAYS} working days ahead: "
            f"{earliest:%A %-d %B %Y} or later"
        )
    return None


def weights_problem(method: str, price_weight: int, quality_weight: int) -> str | None:
    """Why these weights do not work for the award method, or None."""
    if method == LOWEST_PRICE:
        return None
    if min(price_weight, quality_weight) < 0:
        return "Weights cannot be negative"
    if price_weight + quality_weight != 100:
        return "The price and quality weights must add up to 100"
    if price_weight == 0:
        return "A weighted award needs some weight on price (use at least 1%)"
    return None


@dataclass(frozen=True)
class QuoteToJudge:
    quote_id: int
    unit_price_pence: int
    received_at: datetime
    compliant: bool
    framework_rank: int | None = None
    quality: int | None = None  # the school's score, 0–100 (weighted awards only)


@dataclass(frozen=True)
class JudgedQuote:
    quote_id: int
    rank: int
    unit_price_pence: int
    price_score: Fraction
    quality_score: Fraction

    @property
    def total(self) -> Fraction:
        return self.price_score + self.quality_score

    @property
    def total_hundredths(self) -> int:
        return hundredths(self.total)


@dataclass(frozen=True)
class Decision:
    """The compliant quotes best first, and how the winner was chosen, in words."""

    ranking: tuple[JudgedQuote, ...]
    explanation: str

    @property
    def winner(self) -> JudgedQuote | None:
        return self.ranking[0] if self.ranking else None


class JudgingError(ValueError):
    """The quotes cannot be judged from these inputs."""


def _framework_key(quote: QuoteToJudge) -> int:
    return quote.framework_rank if quote.framework_rank is not None else 10**9


def decide(
    quotes: Sequence[QuoteToJudge], method: str, price_weight: int = 100, quality_weight: int = 0
) -> Decision:
    """Rank the compliant quotes and say who wins and why (ties included)."""
    compliant = [q for q in quotes if q.compliant]
    if not compliant:
        return Decision((), "No compliant quote was received, so nothing can be awarded.")
    for quote in compliant:
        if quote.unit_price_pence <= 0:
            raise JudgingError("Quoted prices must be more than zero")
    lowest = min(q.unit_price_pence for q in compliant)
    if method == LOWEST_PRICE:
        scored = [(q, Fraction(100 * lowest, q.unit_price_pence), Fraction(0)) for q in compliant]
        scored.sort(
            key=lambda s: (
                s[0].unit_price_pence,
                s[0].received_at,
                _framework_key(s[0]),
                s[0].quote_id,
            )
        )
    elif method == WEIGHTED:
        problem = weights_problem(method, price_weight, quality_weight)
        if problem:
            raise JudgingError(problem)
        missing = [q.quote_id for q in compliant if q.quality is None]
        if missing and quality_weight:
            raise JudgingError("Score the quality of every compliant quote first")
        for quote in compliant:
            if quote.quality is not None and not 0 <= quote.quality <= 100:
                raise JudgingError("Quality scores are between 0 and 100")
        scored = [
            (
                q,
                Fraction(price_weight * lowest, q.unit_price_pence),
                Fraction(quality_weight * (q.quality or 0), 100),
            )
            for q in compliant
        ]
        scored.sort(
            key=lambda s: (
                -(s[1] + s[2]),
                s[0].unit_price_pence,
                s[0].received_at,
                _framework_key(s[0]),
                s[0].quote_id,
            )
        )
    else:
        raise JudgingError(f"Unknown award method: {method}")
    ranking = tuple(
        JudgedQuote(
            quote_id=q.quote_id,
            rank=position,
            unit_price_pence=q.unit_price_pence,
            price_score=price,
            quality_score=quality,
        )
        for position, (q, price, quality) in enumerate(scored, start=1)
    )
    by_id = {q.quote_id: q for q in compliant}
    return Decision(ranking, _explain(ranking, by_id, method, len(quotes) - len(compliant)))


def _explain(
    ranking: tuple[JudgedQuote, ...], quotes: dict[int, QuoteToJudge], method: str, set_aside: int
) -> str:
    winner = ranking[0]
    parts = []
    if method == LOWEST_PRICE:
        parts.append(
            f"Lowest compliant price wins: {format_pence(winner.unit_price_pence)} a unit "
            f"(out of {len(ranking)} compliant quote{'s' if len(ranking) != 1 else ''})."
        )
        tied = [j for j in ranking if j.unit_price_pence == winner.unit_price_pence]
    else:
        parts.append(
            f"Highest weighted score wins: {winner.total_hundredths / 100:.2f} out of 100 at "
            f"{format_pence(winner.unit_price_pence)} a unit (out of {len(ranking)} compliant "
            f"quote{'s' if len(ranking) != 1 else ''})."
        )
        tied = [j for j in ranking if j.total == winner.total]
    if len(tied) > 1:
        if method == WEIGHTED and len({j.unit_price_pence for j in tied}) > 1:
            reason = "the lower price wins"
        else:
            first, second = quotes[tied[0].quote_id], quotes[tied[1].quote_id]
            if first.received_at != second.received_at:
                reason = "the quote received first wins"
            elif _framework_key(first) != _framework_key(second):
                reason = "the supplier ranked higher on the framework wins"
            else:
                reason = "the lower quote number wins"
        what = "price" if method == LOWEST_PRICE else "total score"
        parts.append(f"{len(tied)} quotes tied on {what}: {reason}.")
    if set_aside:
        parts.append(
            f"{set_aside} quote{'s were' if set_aside != 1 else ' was'} not compliant "
            "and not considered."
        )
    return " ".join(parts)
