"""What people read for a contract's status, and its tag colour (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from procurement.contracts.models import ContractStatus

STATUS_TEXT = vocabulary(
    ContractStatus,
    {
        ContractStatus.PENDING: ("Pending", "blue"),
        ContractStatus.ACTIVE: ("Active", "green"),
        ContractStatus.EXPIRED: ("Expired", "orange"),
        ContractStatus.TERMINATED: ("Terminated", "grey"),
    },
)
