"""Ratings' domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class InvalidRating(DomainError):
    """A score outside 1 to 5, or a comment or reply too long (`field` names which)."""

    code = "rating_invalid"


class RatingNotFound(NotFound):
    code = "rating_not_found"


class RatingRefused(Conflict):
    """The work cannot be rated now: not delivered (or approved) yet."""

    code = "rating_refused"


class AlreadyRated(Conflict):
    code = "already_rated"


class AlreadyReplied(Conflict):
    code = "already_replied"
