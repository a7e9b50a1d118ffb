"""What people read for a contract's status and its amendments', and their tag colours
(registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from procurement.contracts.models import AmendmentKind, AmendmentStatus, ContractStatus

STATUS_TEXT = vocabulary(
    ContractStatus,
    {
        ContractStatus.PENDING: ("Pending", "blue"),
        ContractStatus.ACTIVE: ("Active", "green"),
        ContractStatus.EXPIRED: ("Expired", "orange"),
        ContractStatus.TERMINATED: ("Terminated", "grey"),
    },
)

AMENDMENT_STATUS_TEXT = vocabulary(
    AmendmentStatus,
    {
        AmendmentStatus.PROPOSED: ("Waiting for approval", "yellow"),
        AmendmentStatus.APPROVED: ("Approved", "green"),
        AmendmentStatus.REJECTED: ("Rejected", "red"),
        AmendmentStatus.WITHDRAWN: ("Withdrawn", "grey"),
    },
)

AMENDMENT_KIND_TEXT = {
    AmendmentKind.PRICE_INDEXATION: "Price indexation",
    AmendmentKind.NEW_PRICES: "New prices",
    AmendmentKind.EXTENSION: "Extension",
    AmendmentKind.VOLUME_CHANGE: "Volume change",
}
