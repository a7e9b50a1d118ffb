"""How a school's subscription is worked out. Pure: standard library only."""

from __future__ import annotations

from dataclasses import dataclass

from app.money import format_pence, multiply, percent_of


@dataclass(frozen=True)
class SubscriptionBreakdown:
    """A school's subscription for one academic year.

    `subscription_pence` is what the school pays: pupils × rate, capped when a cap applies.
    `council_match_pence` is what the council adds on top (not billed to the school).
    """

    pupils: int
    rate_per_pupil_pence: int
    uncapped_pence: int
    cap_pence: int | None
    subscription_pence: int
    council_match_bp: int
    council_match_pence: int

    @property
    def capped(self) -> bool:
        return self.cap_pence is not None and self.uncapped_pence > self.cap_pence

    @property
    def partnership_income_pence(self) -> int:
        return self.subscription_pence + self.council_match_pence

    def explanation(self) -> list[str]:
        """The working, line by line, in words a business manager would use."""
        lines = [
            f"{self.pupils:,} pupils × {format_pence(self.rate_per_pupil_pence)} a pupil"
            f" = {format_pence(self.uncapped_pence)}"
        ]
        if self.capped:
            lines.append(f"Capped at {format_pence(self.cap_pence)} a school")
        lines.append(f"Subscription: {format_pence(self.subscription_pence)}")
        lines.append(
            f"Council match ({self.council_match_bp / 100:g}% of the subscription):"
            f" {format_pence(self.council_match_pence)}, paid by the council"
        )
        return lines


def subscription(
    pupils: int, rate_per_pupil_pence: int, cap_pence: int | None, council_match_bp: int
) -> SubscriptionBreakdown:
    """Pupils × rate, capped; the council's match as a share of what the school pays."""
    if pupils < 0 or rate_per_pupil_pence < 0:
        raise ValueError("pupils and rate cannot be negative")
    if cap_pence is not None and cap_pence < 0:
        raise ValueError("a cap cannot be negative")
    uncapped = multiply(rate_per_pupil_pence, pupils)
    amount = uncapped if cap_pence is None else min(uncapped, cap_pence)
    return SubscriptionBreakdown(
        pupils=pupils,
        rate_per_pupil_pence=rate_per_pupil_pence,
        uncapped_pence=uncapped,
        cap_pence=cap_pence,
        subscription_pence=amount,
        council_match_bp=council_match_bp,
        council_match_pence=percent_of(amount, council_match_bp),
    )
