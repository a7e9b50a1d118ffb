"""The catalogue's domain errors."""

from __future__ import annotations

from app.errors import NotFound


class ServiceNotFound(NotFound):
    code = "service_not_found"
