"""Contract KPIs' domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class InvalidKpi(DomainError):
    """Bad input for a KPI, a return or an action."""

    code = "kpi_invalid"


class KpiNotFound(NotFound):
    code = "kpi_not_found"

    def __init__(self) -> None:
        super().__init__("Page not found")


class KpiActionNotFound(NotFound):
    code = "kpi_action_not_found"

    def __init__(self) -> None:
        super().__init__("Page not found")


class KpiNotAllowed(NotAllowed):
    code = "kpi_not_allowed"


class ReturnLocked(Conflict):
    """The quarter's return deadline has passed (or the quarter has not begun)."""

    code = "kpi_return_locked"


class KpiStateConflict(Conflict):
    code = "kpi_conflict"
