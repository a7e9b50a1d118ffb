"""Entitlements' domain errors."""

from __future__ import annotations

from app.errors import DomainError


class InvalidEntitlement(DomainError):
    code = "entitlement_invalid"
