"""The rules of ratings, pure: what may be rated, valid scores, and the averages shown.

Averages are shown only from SHOWN_FROM ratings up, so that no single school's rating can be
picked out; below that a summary carries the count and no figure at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

SCORE_MIN = 1
SCORE_MAX = 5
COMMENT_MAX = 2_000
REPLY_MAX = 2_000
# Fewer ratings than this and no average (nor any comment) is shown to anyone but the provider.
SHOWN_FROM = 3
DIMENSIONS = ("quality", "timeliness", "communication")
DIMENSION_LABELS = {
    "quality": "Quality",
    "timeliness": "Timeliness",
    "communication": "Communication",
}
# An order's statuses once the work is delivered (marketplace.orders.models.OrderStatus values).
RATEABLE_ORDER_STATUSES = frozenset({"delivered", "invoiced"})
RATEABLE_TIMESHEET_STATUSES = frozenset({"approved"})
_TWO_PLACES = Decimal("0.01")
_ONE_PLACE = Decimal("0.1")


class Scored(Protocol):
    """Anything with the three scores (a Rating row, or Scores)."""

    quality: int
    timeliness: int
    communication: int


@dataclass(frozen=True)
class Scores:
    quality: int
    timeliness: int
    communication: int


def score_problems(scores: Scores, comment: str = "") -> dict[str, str]:
    """Each field's problem (a score outside 1 to 5, a comment too long); empty when valid."""
    problems: dict[str, str] = {}
    for name in DIMENSIONS:
        value = getattr(scores, name)
        if not isinstance(value, int) or isinstance(value, bool):
            problems[name] = f"Choose a score for {DIMENSION_LABELS[name].lower()}"
        elif not SCORE_MIN <= value <= SCORE_MAX:
            problems[name] = (
                f"The {DIMENSION_LABELS[name].lower()} score must be from "
                f"{SCORE_MIN} to {SCORE_MAX}"
            )
    if len(comment) > COMMENT_MAX:
        problems["comment"] = f"The comment must be {COMMENT_MAX:,} characters or fewer"
    return problems


def reply_problem(reply: str, *, already_replied: bool) -> str | None:
    """Why this reply cannot be given: the provider has replied already, or the text is blank
    or too long; None when it can."""
    if already_replied:
        return "You have already replied to this rating. A reply is given once."
    if not reply.strip():
        return "Enter your reply"
    if len(reply) > REPLY_MAX:
        return f"The reply must be {REPLY_MAX:,} characters or fewer"
    return None


def order_rating_problem(status: str, *, already_rated: bool) -> str | None:
    """Why the school cannot rate this order now; None when it can."""
    if already_rated:
        return "Your school has already rated this order. A rating is given once."
    if status not in RATEABLE_ORDER_STATUSES:
        return "An order can be rated once it has been delivered."
    return None


def timesheet_rating_problem(status: str, *, already_rated: bool) -> str | None:
    """Why the school cannot rate this timesheet week now; None when it can."""
    if already_rated:
        return "Your school has already rated this week. A rating is given once."
    if status not in RATEABLE_TIMESHEET_STATUSES:
        return "A timesheet week can be rated once your school has approved it."
    return None


def _mean(total: int, count: int) -> Decimal:
    return (Decimal(total) / Decimal(count)).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Summary:
    """How a provider, offer or contract is rated: the count, and the averages (to two
    places, half up) only when `shown` — from SHOWN_FROM ratings up; None below that.
    `overall` is the mean of every score given on every dimension."""

    count: int
    quality: Decimal | None = None
    timeliness: Decimal | None = None
    communication: Decimal | None = None
    overall: Decimal | None = None

    @property
    def shown(self) -> bool:
        return self.count >= SHOWN_FROM

    def dimensions(self) -> list[tuple[str, str]]:
        """(label, average to one place) per dimension, in the order pages show them."""
        return [(DIMENSION_LABELS[name], self.text(name)) for name in DIMENSIONS]

    def text(self, name: str = "overall") -> str:
        """An average to one place, half up ("4.3"); "" while the averages are held back."""
        value = getattr(self, name)
        if value is None:
            return ""
        return str(value.quantize(_ONE_PLACE, rounding=ROUND_HALF_UP))


def summary_from_totals(
    count: int, quality_total: int, timeliness_total: int, communication_total: int
) -> Summary:
    """The summary of `count` ratings whose scores add up to these totals (from SQL)."""
    if count < SHOWN_FROM:
        return Summary(count=count)
    return Summary(
        count=count,
        quality=_mean(quality_total, count),
        timeliness=_mean(timeliness_total, count),
        communication=_mean(communication_total, count),
        overall=_mean(quality_total + timeliness_total + communication_total, 3 * count),
    )


def summarise(ratings: Iterable[Scored]) -> Summary:
    """The summary of these ratings (the same rule as `summary_from_totals`)."""
    rows = list(ratings)
    return summary_from_totals(
        len(rows),
        sum(r.quality for r in rows),
        sum(r.timeliness for r in rows),
        sum(r.communication for r in rows),
    )


def average_score(ratings: Iterable[Scored]) -> Decimal | None:
    """The mean of every score of these ratings on every dimension, 1 to 5 to two places
    (half up); None when there are none. Not held back below SHOWN_FROM: for figures such as
    a contract's satisfaction KPI, which are not shown per school."""
    rows = list(ratings)
    if not rows:
        return None
    total = sum(r.quality + r.timeliness + r.communication for r in rows)
    return _mean(total, 3 * len(rows))


def average_of(ratings: Iterable[Scored], dimension: str) -> Decimal | None:
    """The mean score on one dimension (quality, timeliness or communication); None if none."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"not a rating dimension: {dimension!r}")
    rows = list(ratings)
    if not rows:
        return None
    return _mean(sum(getattr(r, dimension) for r in rows), len(rows))


def satisfaction_percent(ratings: Iterable[Scored]) -> Decimal | None:
    """The average score as a percentage of the best (5 → 100, 1 → 20), to two places; None
    when there are no ratings. For a KPI with a percentage target."""
    average = average_score(ratings)
    if average is None:
        return None
    return (average * 100 / SCORE_MAX).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
