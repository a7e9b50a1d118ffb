"""Domain errors and the error pages."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, RequestURITooLarge

from app.extensions import db


class DomainError(Exception):
    """A rule of the trade was broken; `code` is stable, `message` is for people, and `field`
    names the form field the message belongs to, if any."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class NotAllowed(DomainError):
    code = "not_allowed"
    http_status = 403


class Conflict(DomainError):
    """The action clashes with the record's current state (e.g. already submitted)."""

    code = "conflict"
    http_status = 409


def refusal_status(error: DomainError) -> int:
    """How every view answers a use case's refusal (the one mapping from DomainError to HTTP).

    A 403 or 404 is raised as it is, to the app's error page: the thing asked for is not there,
    or not the user's to see, so there is no page to show again. Anything else (400 for bad
    input, 409 for a clash with the record's state) is the status of the page the view shows
    again, with the message on the field it names or at the top.
    """
    if error.http_status in (403, 404):
        raise error
    return error.http_status


_TEMPLATES = {400: "400", 403: "403", 404: "404", 405: "404", 413: "400", 414: "414", 429: "429"}


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_overlong_addresses() -> None:
        """A styled 414 for an address longer than MAX_URL_LENGTH, before any view reads it."""
        if len(request.full_path) > app.config["MAX_URL_LENGTH"]:
            raise RequestURITooLarge()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if code >= 500:
            db.session.rollback()
            return render_template("errors/500.html"), code
        name = _TEMPLATES.get(code)
        if name is None:
            return error
        return render_template(f"errors/{name}.html", error=error), code

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        name = _TEMPLATES.get(error.http_status, "400")
        return render_template(f"errors/{name}.html", error=error), error.http_status
