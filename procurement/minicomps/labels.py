"""What people read for a mini-competition's stage, a quote's status and the award method, and
their tag colours (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from procurement.minicomps.models import AwardMethod, QuoteStatus
from procurement.minicomps.rules import Stage

STAGE_LABELS = vocabulary(
    Stage,
    {
        Stage.OPEN: ("Open for quotes", "teal"),
        Stage.CLOSED: ("Closed – waiting to be opened", "grey"),
        Stage.OPENED: ("Quotes opened", "blue"),
        Stage.AWARDED: ("Awarded", "green"),
        Stage.UNSUCCESSFUL: ("Unsuccessful", "red"),
        Stage.CANCELLED: ("Cancelled", "grey"),
    },
)

QUOTE_STATUS_LABELS = vocabulary(
    QuoteStatus,
    {
        QuoteStatus.INVITED: ("No quote", "grey"),
        QuoteStatus.SUBMITTED: ("Quoted", "blue"),
        QuoteStatus.WITHDRAWN: ("Withdrawn", "grey"),
    },
)

METHOD_TEXT = {
    AwardMethod.LOWEST_PRICE: "Lowest compliant price",
    AwardMethod.WEIGHTED: "Weighted score (price and quality)",
}
