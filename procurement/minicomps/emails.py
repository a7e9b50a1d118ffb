"""Who is told about a mini-competition: the invited suppliers when the request is sent (and
if it is cancelled), and every supplier that quoted when it is awarded (the winner that its
call-off order follows, the others that they were not successful and why)."""

from __future__ import annotations

from collections.abc import Iterable

from app.notifications.rendering import link
from app.notifications.services import notify
from procurement.minicomps.models import MiniCompetition
from procurement.tenders.emails import provider_users


def tell_suppliers(
    mini: MiniCompetition, provider_ids: Iterable[int], *, event: str, subject: str, message: str
) -> int:
    """Tell each of these suppliers' users, in the app and by email; how many were told."""
    written = notify(
        "mini_competition",
        provider_users(provider_ids),
        event=f"mini-competition-{mini.id}-{event}",
        template="mini_competition",
        subject=subject,
        link=link("procurement.mini_competition_detail", mini_competition_id=mini.id),
        about=("mini_competition", mini.id),
        summary=message,
        mini=mini,
        message=message,
    )
    return len(written)
