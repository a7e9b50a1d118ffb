"""Buying rounds' domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class RoundError(DomainError):
    """Bad input to a round use case."""

    code = "round_invalid"


class RoundNotFound(NotFound):
    code = "round_not_found"


class RunNotFound(NotFound):
    code = "round_run_not_found"


class NoticeNotFound(NotFound):
    code = "round_notice_not_found"


class PledgeNotAllowed(NotAllowed):
    """Someone tried to pledge for a school that is not theirs, or without a school."""

    code = "pledge_not_allowed"


class PledgingClosed(Conflict):
    """The round is not open for pledges (draft, past its deadline, run, awarded, cancelled)."""

    code = "pledging_closed"


class RoundStateConflict(Conflict):
    """The round is not in a state that allows this (e.g. already awarded)."""

    code = "round_state"


class RunStateConflict(Conflict):
    """The run cannot do this (still running, infeasible, already started)."""

    code = "run_state"


class AwardCapacityConflict(Conflict):
    """An offer no longer has the capacity a run allocated to it."""

    code = "award_capacity"
