"""What people read for a tender's stage and a bid's status, and their tag colours: one
vocabulary for every page and email (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from procurement.tenders.models import BidStatus, TenderStage

STAGE_LABELS = vocabulary(
    TenderStage,
    {
        TenderStage.DRAFT: ("Draft", "grey"),
        TenderStage.OPEN: ("Open for bids", "teal"),
        TenderStage.CLOSED: ("Closed – waiting to be opened", "grey"),
        TenderStage.OPENED: ("Bids opened", "blue"),
        TenderStage.EVALUATION: ("Evaluation", "blue"),
        TenderStage.STANDSTILL: ("Standstill", "yellow"),
        TenderStage.CONTRACTED: ("Contracted", "green"),
        TenderStage.COMPLETE: ("Complete", "green"),
        TenderStage.CANCELLED: ("Cancelled", "grey"),
        TenderStage.UNSUCCESSFUL: ("Unsuccessful", "red"),
    },
)

BID_STATUS_LABELS = vocabulary(
    BidStatus,
    {
        BidStatus.SUBMITTED: ("Submitted", "blue"),
        BidStatus.WITHDRAWN: ("Withdrawn", "grey"),
        BidStatus.DISQUALIFIED: ("Disqualified", "red"),
    },
)
