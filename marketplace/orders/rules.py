"""Who may order an offer, for which terms, and which orders wait for the head.

Pure: imports the standard library only. Each check returns a sentence for the school when
the answer is no, and None when the answer is yes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.calendar import add_working_days

MAX_ORDER_QUANTITY = 100_000  # more than any one school could need: a typing mistake


def quantity_problem(quantity: object, *, min_quantity: int = 1, unit: str = "unit") -> str | None:
    """Whole numbers from the offer's minimum up to MAX_ORDER_QUANTITY."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return "Enter the quantity as a whole number, like 5"
    if quantity < 1:
        return "The quantity must be at least 1"
    if quantity > MAX_ORDER_QUANTITY:
        return f"The quantity must be {MAX_ORDER_QUANTITY:,} or fewer"
    if quantity < min_quantity:
        return f"This offer has a minimum order of {min_quantity} {plural(unit, min_quantity)}"
    return None


def offer_problem(*, status: str, valid_from: date, valid_to: date, today: date) -> str | None:
    """A live offer that has not expired can be ordered (perhaps for a later term)."""
    if status == "withdrawn":
        return "This offer has been withdrawn by the provider and can no longer be ordered"
    if status != "live":
        return "This offer is not published yet"
    if valid_to < today:
        return f"This offer expired on {valid_to:%-d %B %Y} and can no longer be ordered"
    return None


def eligibility_problem(
    *,
    areas: Collection[str],
    excluded_school_ids: Collection[int],
    school_id: int,
    school_area: str,
    school_provider_id: int | None = None,
    offer_provider_id: int | None = None,
) -> str | None:
    """An offer may serve only some areas and exclude named schools."""
    if school_provider_id is not None and school_provider_id == offer_provider_id:
        return "This is your own school’s offer"
    if school_id in set(excluded_school_ids):
        return "The provider does not offer this to your school"
    if areas and school_area not in set(areas):
        return f"Only offered in {', '.join(sorted(areas))}"
    return None


def term_problem(
    *,
    term_label: str,
    term_starts_on: date,
    term_ends_on: date,
    valid_from: date,
    valid_to: date,
    earliest_start: date,
) -> str | None:
    """A term can be ordered if the offer runs in it and the lead time still fits inside it."""
    if term_starts_on > valid_to or term_ends_on < valid_from:
        return f"This offer does not run in {term_label}"
    if term_ends_on < earliest_start or earliest_start > valid_to:
        return (
            f"Too late to order for {term_label}: with the provider’s lead time the earliest "
            f"start is {earliest_start:%-d %B %Y}"
        )
    return None


@dataclass(frozen=True)
class ApprovalChain:
    """A school's approval chain: orders costing up to `threshold_pence` need no approval;
    above it the head approves; above `second_pence` (when set) a second approver must
    approve as well."""

    threshold_pence: int
    second_pence: int | None = None


class ApprovalStep(StrEnum):
    HEAD = "head"  # the school's head (budget holder), or its trust's finance lead
    SECOND = "second"  # a different person: chair of governors, trust CFO or another head

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS = {
    ApprovalStep.HEAD: "Budget holder (head)",
    ApprovalStep.SECOND: "Second approver (chair of governors or trust)",
}
# Who may give each step (role values, so this module stays free of the app's models).
STEP_ROLES = {
    ApprovalStep.HEAD: frozenset({"head", "trust"}),
    ApprovalStep.SECOND: frozenset({"head", "governor", "trust"}),
}


def approvals_needed(total_pence: int, chain: ApprovalChain) -> tuple[ApprovalStep, ...]:
    """The approvals an order of `total_pence` needs under the school's chain, in order.

    Up to the threshold: none (approved when submitted). Above it, up to the second step (or
    with no second step): the head. Above the second step: the head, then a second approver.
    """
    if not needs_approval(total_pence, chain.threshold_pence):
        return ()
    if chain.second_pence is None or total_pence <= chain.second_pence:
        return (ApprovalStep.HEAD,)
    return (ApprovalStep.HEAD, ApprovalStep.SECOND)


def needs_approval(total_pence: int, threshold_pence: int) -> bool:
    """Whether anyone must approve: an order (or pledge) costing more than the school's
    approval threshold waits; one costing the threshold or less is approved when submitted.

    The first step of `approvals_needed`: `Order.needs_approval` applies it to a loaded order
    and, on the class, builds the same comparison as an SQL condition.
    """
    return total_pence > threshold_pence


def next_step(needed: tuple[ApprovalStep, ...], given: int) -> tuple[int, ApprovalStep] | None:
    """The step number (from 1) and step still to give, after `given` approvals; None when
    the chain is complete."""
    if given >= len(needed):
        return None
    return given + 1, needed[given]


def approver_problem(
    step: ApprovalStep, *, role: str, approver_id: int, earlier_approver_ids: Collection[int]
) -> str | None:
    """Whether this person may give this step: the right role, and never the same person
    twice on one order."""
    if role not in STEP_ROLES[step]:
        if step is ApprovalStep.HEAD:
            return "This order waits for the head (budget holder) or the trust to approve it first"
        return (
            "Only a second approver (chair of governors, the trust or another head) can "
            "approve it now"
        )
    if approver_id in set(earlier_approver_ids):
        return (
            "You have already approved this order. The second approval must come from a "
            "different person."
        )
    return None


MAX_APPROVAL_POUNDS = 10_000_000  # £10 million: more than any one school's order


def chain_problems(threshold_pounds: int | None, second_pounds: int | None) -> dict[str, str]:
    """What is wrong with an approval chain a head enters, by field; empty when it is fine.
    Whole pounds; the second step, when given, is at least the first."""
    problems: dict[str, str] = {}
    if threshold_pounds is None:
        problems["threshold"] = "Enter the amount orders need no approval up to, in whole pounds"
    elif not 0 <= threshold_pounds <= MAX_APPROVAL_POUNDS:
        problems["threshold"] = (
            f"The amount must be between £0 and £{MAX_APPROVAL_POUNDS:,}, in whole pounds"
        )
    if second_pounds is not None:
        if not 0 <= second_pounds <= MAX_APPROVAL_POUNDS:
            problems["second"] = (
                f"The amount must be between £0 and £{MAX_APPROVAL_POUNDS:,}, in whole pounds"
            )
        elif threshold_pounds is not None and "threshold" not in problems:
            if second_pounds < threshold_pounds:
                problems["second"] = (
                    f"The second approval amount must be at least £{threshold_pounds:,}, "
                    "the amount orders need no approval up to"
                )
    return problems


def order_starts_on(term_starts_on: date, submitted_on: date | None, lead_time_days: int) -> date:
    """When an order's work can start: the term's first day, or later when the provider's lead
    time (working days from submission) runs past it."""
    if submitted_on is None:
        return term_starts_on
    return max(term_starts_on, add_working_days(submitted_on, max(0, lead_time_days)))


def delivery_problem(*, today: date, starts_on: date) -> str | None:
    """Delivery cannot be recorded before the order's work can have started."""
    if today < starts_on:
        return (
            f"This order starts on {starts_on:%-d %B %Y}, so its delivery cannot be recorded "
            "before then; nothing was changed."
        )
    return None


def acceptance_due_on(delivered_on: date, working_days: int) -> date:
    """The last day the school can confirm receipt or raise a dispute: `working_days` London
    working days after the day delivery was recorded."""
    return add_working_days(delivered_on, working_days)


def deemed_accepted(due_on: date | None, as_of: date) -> bool:
    """An undisputed delivery is accepted once its window has passed (the day after due_on)."""
    return due_on is not None and as_of > due_on


def plural(unit: str, count: int) -> str:
    """'day' → 'days', 'staff head' → 'staff heads', 'ECT' → 'ECTs'."""
    return unit if count == 1 else unit + "s"
