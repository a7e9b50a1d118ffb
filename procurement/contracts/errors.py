"""Contracts' domain errors."""

from __future__ import annotations

from app.errors import NotFound


class ContractNotFound(NotFound):
    code = "contract_not_found"
