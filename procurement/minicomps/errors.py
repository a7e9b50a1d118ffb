"""Mini-competitions' domain errors, each with a stable code and a sentence for people.

A sealed quote is never confirmed to exist: anyone who may not see it gets "Page not found".
"""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class MiniCompetitionError(DomainError):
    """Bad input to a mini-competition use case."""

    code = "mini_competition_invalid"


class InvalidQuote(MiniCompetitionError):
    code = "quote_invalid"


class MiniCompetitionNotFound(NotFound):
    code = "mini_competition_not_found"


class FrameworkNotFound(NotFound):
    code = "framework_not_found"


class NotYourMiniCompetition(NotAllowed):
    code = "mini_competition_not_allowed"


class MiniCompetitionStateConflict(Conflict):
    """The action does not fit the stage the mini-competition is at."""

    code = "mini_competition_state"
