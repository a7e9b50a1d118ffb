"""The seam through which the marketplace learns what else covers a service: open buying rounds
pricing it (with their indicative price now), for the service and order pages and the warning
before an order that a round would price lower.

Rounds belong to procurement, which the marketplace does not import: the app factory installs
procurement's round register here (`procurement.rounds.coverage.OpenRoundCoverage`), as it does
for contract prices (`marketplace.orders.contract_prices`). Until one is installed, no round
covers anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class RoundCover:
    """An open buying round pricing a service in one term."""

    round_id: int
    title: str
    term_key: str
    term_label: str
    pledge_deadline_at: datetime
    # What pooled schools would pay per unit now, on average (the indicative price from the
    # pledges so far); None until the first estimate is worked out.
    unit_price_pence: int | None

    def cheaper_than(self, unit_price_pence: int) -> bool:
        return self.unit_price_pence is not None and self.unit_price_pence < unit_price_pence


class Coverage(Protocol):
    def open_rounds(self, service_id: int) -> list[RoundCover]:
        """Open buying rounds taking pledges for the service, soonest deadline first."""


class NoRounds:
    """No round register installed: no round covers any service."""

    def open_rounds(self, service_id: int) -> list[RoundCover]:
        return []


_installed: Coverage = NoRounds()


def install(coverage: Coverage) -> None:
    """Called once by the app factory with procurement's round register."""
    global _installed
    _installed = coverage


def coverage() -> Coverage:
    return _installed


def cheaper_rounds(
    covers: list[RoundCover], unit_price_pence: int | None, term_key: str | None = None
) -> list[RoundCover]:
    """The rounds pricing the service lower than `unit_price_pence` (the overlap to warn of
    before ordering): for the order's term when it is known, else for any term."""
    if unit_price_pence is None:
        return []
    return [
        cover
        for cover in covers
        if (term_key is None or cover.term_key == term_key) and cover.cheaper_than(unit_price_pence)
    ]
