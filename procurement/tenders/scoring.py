"""Scoring bids: the evaluated price, the price formula, weighted totals and the ranking.

Pure: imports the standard library only, so every rule is tested with plain values.

The formula, as the tender states it to bidders:

- **Evaluated price** of a bid = the lot's expected volume × the unit price of the bid's
  all-units tier for that volume (the tier with the highest "from" quantity not above it).
- **Price score** = price weight × lowest evaluated price among the lot's valid bids ÷ this
  bid's evaluated price (the cheapest bid gets the full weight).
- **Quality score** = quality weight × moderated quality score (0–100) ÷ 100; the same for
  **social value**.
- **Total** = price + quality + social value, out of 100, computed exactly (fractions) and
  shown to two decimal places. Higher is better; equal totals go to the bid received first
  (server receipt time), then to the lower bid number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


class EvaluationError(ValueError):
    """Bids cannot be scored from these inputs."""


@dataclass(frozen=True, order=True)
class PriceTier:
    """From `min_quantity` units up, every unit costs `unit_price_pence`."""

    min_quantity: int
    unit_price_pence: int


@dataclass(frozen=True)
class Weights:
    """Percentages that add up to 100."""

    price: int
    quality: int
    social_value: int

    def __post_init__(self) -> None:
        if min(self.price, self.quality, self.social_value) < 0:
            raise EvaluationError("Weights cannot be negative")
        if self.price + self.quality + self.social_value != 100:
            raise EvaluationError("The weights must add up to 100")


@dataclass(frozen=True)
class BidToScore:
    bid_id: int
    received_at: datetime
    tiers: tuple[PriceTier, ...]
    quality: int  # moderated, 0–100 (0 when the criterion has no weight)
    social_value: int


@dataclass(frozen=True)
class ScoredBid:
    bid_id: int
    rank: int
    received_at: datetime
    evaluated_price_pence: int
    price_score: Fraction
    quality_score: Fraction
    social_value_score: Fraction

    @property
    def total(self) -> Fraction:
        return self.price_score + self.quality_score + self.social_value_score

    @property
    def total_hundredths(self) -> int:
        """The total out of 100 in hundredths, rounded half up (7512 means 75.12)."""
        return hundredths(self.total)


def hundredths(value: Fraction) -> int:
    """A non-negative fraction in hundredths, rounded half up."""
    scaled = value * 100
    return int((scaled * 2 + 1) // 2)


def unit_price_for(tiers: Sequence[PriceTier], volume: int) -> PriceTier:
    """The all-units tier that applies to `volume` units."""
    if volume < 1:
        raise EvaluationError("The expected volume must be at least 1")
    eligible = [t for t in tiers if t.min_quantity <= volume]
    if not eligible:
        raise EvaluationError("The bid has no price for the expected volume")
    return max(eligible, key=lambda t: t.min_quantity)


def evaluated_price(tiers: Sequence[PriceTier], volume: int) -> int:
    """The bid's price, in pence, for the lot's whole expected volume."""
    return unit_price_for(tiers, volume).unit_price_pence * volume


def _check_score(value: int) -> None:
    if not 0 <= value <= 100:
        raise EvaluationError("Scores are between 0 and 100")


def rank(bids: Sequence[BidToScore], weights: Weights, volume: int) -> list[ScoredBid]:
    """Score the valid bids of one lot and rank them, best first."""
    if not bids:
        return []
    prices = {}
    for bid in bids:
        _check_score(bid.quality)
        _check_score(bid.social_value)
        price = evaluated_price(bid.tiers, volume)
        if price <= 0:
            raise EvaluationError("Evaluated prices must be more than zero")
        prices[bid.bid_id] = price
    lowest = min(prices.values())
    scored = [
        ScoredBid(
            bid_id=bid.bid_id,
            rank=0,
            received_at=bid.received_at,
            evaluated_price_pence=prices[bid.bid_id],
            price_score=Fraction(weights.price * lowest, prices[bid.bid_id]),
            quality_score=Fraction(weights.quality * bid.quality, 100),
            social_value_score=Fraction(weights.social_value * bid.social_value, 100),
        )
        for bid in bids
    ]
    scored.sort(key=lambda s: (-s.total, s.received_at, s.bid_id))
    return [
        ScoredBid(
            bid_id=s.bid_id,
            rank=position,
            received_at=s.received_at,
            evaluated_price_pence=s.evaluated_price_pence,
            price_score=s.price_score,
            quality_score=s.quality_score,
            social_value_score=s.social_value_score,
        )
        for position, s in enumerate(scored, start=1)
    ]


def suggested_score(scores: Sequence[int]) -> int | None:
    """The evaluators' mean, rounded half up: where moderation starts."""
    if not scores:
        return None
    return int((Fraction(sum(scores), len(scores)) * 2 + 1) // 2)
