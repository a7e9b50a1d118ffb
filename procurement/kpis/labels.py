"""What people read for a KPI's status in a quarter and a committee action's status, and their
tag colours (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from procurement.kpis.models import ActionStatus
from procurement.kpis.rules import KpiStatus

STATUS_TEXT = vocabulary(
    KpiStatus,
    {
        KpiStatus.MET: ("Met", "green"),
        KpiStatus.BELOW: ("Below target", "red"),
        KpiStatus.NO_DATA: ("No data", "grey"),
    },
)

ACTION_STATUS_TEXT = vocabulary(
    ActionStatus,
    {ActionStatus.OPEN: ("Open", "orange"), ActionStatus.CLOSED: ("Closed", "grey")},
)
