"""The kinds of message Pooled sends, who may turn them off, and how people choose to get them.

Pure: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Delivery(StrEnum):
    """How a person wants one kind of message by email."""

    IMMEDIATELY = "immediately"
    DIGEST = "digest"
    OFF = "off"


DELIVERY_TEXT = {
    Delivery.IMMEDIATELY: "Email me straight away",
    Delivery.DIGEST: "Once a day, in a daily summary",
    Delivery.OFF: "Do not email me (it still shows in my notifications)",
}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    # Messages the law or security requires: always emailed straight away, never turned off.
    required: bool = False


KINDS: tuple[Kind, ...] = (
    Kind("order_awaiting_approval", "Orders waiting for your approval"),
    Kind("order_decided", "Your orders: approved, rejected, confirmed, declined, delivered"),
    Kind("round_opened", "Buying rounds opening"),
    Kind("round_closing", "Buying rounds closing soon"),
    Kind("round_awarded", "Buying round awards"),
    Kind("tender_published", "New tenders in your categories"),
    Kind("clarification_answered", "Clarification answers on tenders you follow"),
    Kind("tender_update", "Changes, cancellations and contracts of tenders you bid in"),
    Kind("bid_deadline", "Bid deadlines coming up"),
    Kind("mini_competition", "Mini-competitions: quote requests to you and their outcomes"),
    Kind("standstill_letter", "Award decisions on your bids (standstill letters)", required=True),
    Kind("contract_ending", "Contracts ending: renewal reminders 120, 90 and 30 days before"),
    Kind("contract_changed", "Contract changes and terminations (and changes to approve)"),
    Kind("kpi_action", "Contract KPIs below target (committee actions)"),
    Kind("invoice", "Invoices issued and overdue"),
    Kind("payables_ready", "Payments for a term"),
    Kind("payment_sent", "Payments the partnership has sent you"),
    Kind("supply_cover", "Supply cover: requests for your agency, proposed workers, bookings"),
    Kind("supply_timesheet", "Supply timesheets to approve, and queried timesheets"),
    Kind("supply_awr", "Agency workers nearing equal pay (Agency Workers Regulations)"),
    Kind("compliance_expiring", "Your compliance documents expiring"),
    Kind("rating_received", "Schools' ratings of your work"),
    Kind("provider_application_received", "New applications to become a provider"),
    Kind("digest", "Daily summary", required=True),
    Kind("invitation", "Invitations", required=True),
    Kind("password_reset", "Password resets", required=True),
    # To someone without an account yet: the answer to their application to become a provider.
    Kind("provider_application", "Provider applications", required=True),
)
KIND_BY_KEY = {kind.key: kind for kind in KINDS}
# Kinds a person sees on the preferences page (the account messages are not event news).
CHOOSABLE = tuple(
    k
    for k in KINDS
    if k.key not in {"digest", "invitation", "password_reset", "provider_application"}
)


def kind(key: str) -> Kind:
    """The kind with this key; an unknown key is a programming error."""
    return KIND_BY_KEY[key]


def effective_delivery(kind_key: str, chosen: Delivery | None) -> Delivery:
    """What actually happens: required kinds go straight away whatever was chosen; others
    follow the person's choice, straight away when they have not chosen."""
    if kind(kind_key).required:
        return Delivery.IMMEDIATELY
    return chosen or Delivery.IMMEDIATELY
