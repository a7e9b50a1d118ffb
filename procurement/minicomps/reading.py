"""What the mini-competition pages show each reader: sealed quotes stay out of sight.

Until the quotes are opened a supplier sees only its own quote and everyone else sees only who
was invited (never whether anyone has quoted). Once opened, the school, the committee and the
admin see every quote; a supplier still sees only its own, with its place after the award.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.audit import events_in_scope
from app.models import PARTNERSHIP_ROLES, AuditEvent, User
from app.money import format_pence
from procurement.minicomps import access, rules
from procurement.minicomps.models import MiniCompetition, MiniCompetitionQuote, QuoteStatus


@dataclass(frozen=True)
class MiniCompetitionPage:
    mini: MiniCompetition
    stage: rules.Stage
    sealed: bool
    is_buyer: bool
    may_read_all: bool  # the school, the committee, the admin
    own_quote: MiniCompetitionQuote | None
    quotes: list[MiniCompetitionQuote]  # the quotes this reader may see
    invited: list[str]  # supplier names, in framework order
    unscored: int  # compliant quotes still without a quality score (weighted awards)


def _framework_order(quote: MiniCompetitionQuote) -> tuple[bool, int, int]:
    return (quote.framework_rank is None, quote.framework_rank or 0, quote.id)


def page_for(mini: MiniCompetition, user: User, now: datetime) -> MiniCompetitionPage:
    current = rules.stage(mini.status.value, mini.deadline_at, now)
    sealed = rules.quotes_sealed(current)
    buyer = access.is_buyer(mini, user)
    may_read_all = buyer or user.role in PARTNERSHIP_ROLES
    own = access.own_quote(mini, user)
    ordered = sorted(mini.quotes, key=_framework_order)
    if sealed or not may_read_all:
        quotes = [own] if own is not None and own.status is not QuoteStatus.INVITED else []
    else:
        quotes = sorted(
            (q for q in ordered if q.status is QuoteStatus.SUBMITTED),
            key=lambda q: (q.rank is None, q.rank or 0, *_framework_order(q)),
        )
    unscored = sum(1 for q in mini.quotes if q.compliant and q.quality_score is None)
    return MiniCompetitionPage(
        mini=mini,
        stage=current,
        sealed=sealed,
        is_buyer=buyer,
        may_read_all=may_read_all,
        own_quote=own,
        quotes=quotes,
        invited=[q.provider.name for q in ordered],
        unscored=unscored,
    )


@dataclass(frozen=True)
class TrailRow:
    at: datetime
    who: str
    what: str
    details: str


def _details(event: AuditEvent) -> str:
    after = dict(event.after or {})
    parts = []
    for key, value in after.items():
        if key.endswith("_pence") and isinstance(value, int):
            value = format_pence(value)
        elif isinstance(value, list):
            value = "; ".join(
                ", ".join(f"{k}: {v}" for k, v in item.items())
                if isinstance(item, dict)
                else str(item)
                for item in value
            )
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def trail(mini: MiniCompetition, now: datetime) -> list[TrailRow]:
    """The audit trail, oldest first; before opening, nothing about quotes (not even that one
    came in)."""
    events = events_in_scope(f"mini_competition:{mini.id}")
    if rules.quotes_sealed(rules.stage(mini.status.value, mini.deadline_at, now)):
        events = [e for e in events if e.entity_type != "mini_competition_quote"]
    return [TrailRow(e.at, e.actor_label, e.action, _details(e)) for e in events]
