"""Domain errors and the error pages."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

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


_TEMPLATES = {400: "400", 403: "403", 404: "404", 405: "404", 413: "400", 429: "429"}


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code >= 500:
            db.session.rollback()
            return render_template("errors/500.html"), code
        name = _TEMPLATES.get(code)
        if name is None:
            return error
        return render_template(f"errors/{name}.html", error=error), code

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        name = _TEMPLATES.get(error.http_status, "400")
        return render_template(f"errors/{name}.html", error=error), error.http_status
