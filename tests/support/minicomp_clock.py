"""TEST ONLY: move a mini-competition's timetable into the past.

A browser test gets past a quote deadline (at least two working days ahead) without waiting by
moving every instant of the mini-competition and of its quotes some days earlier, straight in
the live server's database. Production code has no such command.
"""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from procurement.minicomps.models import MiniCompetition
from tests.support.live_database import live_database


def shift_mini_competition_dates(
    database_url: str, mini_competition_id: int, days: int, tmp_path: object
) -> None:
    """Move mini-competition `mini_competition_id`'s instants `days` into the past, in the
    database at `database_url`."""
    with live_database(database_url, tmp_path):
        _shift(mini_competition_id, timedelta(days=days))


def _shift(mini_competition_id: int, delta: timedelta) -> None:
    mini = db.session.get(MiniCompetition, mini_competition_id)
    assert mini is not None, f"There is no mini-competition {mini_competition_id}."
    for name in ("created_at", "deadline_at", "opened_at", "decided_at", "cancelled_at"):
        value = getattr(mini, name)
        if value is not None:
            setattr(mini, name, value - delta)
    for quote in mini.quotes:
        for name in ("submitted_at", "withdrawn_at"):
            value = getattr(quote, name)
            if value is not None:
                setattr(quote, name, value - delta)
