"""One vocabulary of statuses: every status value has one label, and pages and emails use it
(an order waiting for its budget holder is "Awaiting approval" on the home page, the orders
page and the dashboard; an unpaid invoice is "To pay" on the invoices page and the dashboard)."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

import pytest

from app.extensions import db
from app.statuses import VocabularyError, registered, status_colour, status_label, vocabulary
from app.time import london_today
from marketplace.billing.models import (
    BillingRunStatus,
    CreditNoteStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
)
from marketplace.orders import decisions
from marketplace.orders.models import OrderStatus
from marketplace.supply.models import BookingStatus, ProposalStatus, RequestStatus, TimesheetStatus
from procurement.contracts.models import AmendmentStatus, ContractStatus
from procurement.kpis.models import ActionStatus
from procurement.kpis.rules import KpiStatus
from procurement.rounds.models import RoundStatus, RunStatus
from procurement.tenders.models import BidStatus, TenderStage
from tests.marketplace.billing.conftest import make_order
from tests.support.outbox import emails

DOMAIN_STATUSES = [
    OrderStatus,
    InvoiceStatus,
    CreditNoteStatus,
    BillingRunStatus,
    RoundStatus,
    RunStatus,
    ContractStatus,
    AmendmentStatus,
    TenderStage,
    BidStatus,
    RequestStatus,
    ProposalStatus,
    BookingStatus,
    TimesheetStatus,
    KpiStatus,
    ActionStatus,
]
# Words the issue found disagreeing with the vocabulary, as a tag or a table's status cell.
OLD_WORDS = re.compile(
    r'(govuk-tag[^"]*">|<td class="govuk-table__cell">)(Submitted|Due|Tier price)<'
)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_a_vocabulary_must_give_every_status_value_words_and_a_known_colour():
    with pytest.raises(VocabularyError, match="no words for blue"):
        vocabulary(Colour, {Colour.RED: ("Red", "red")})
    with pytest.raises(VocabularyError, match="unknown tag colours"):
        vocabulary(Colour, {Colour.RED: ("Red", "red"), Colour.BLUE: ("Blue", "sky")})


@pytest.mark.parametrize("enum", DOMAIN_STATUSES, ids=lambda e: e.__name__)
def test_every_status_value_has_one_label_and_colour(app, enum):
    labels = registered()[enum]
    assert set(labels) == set(enum)
    assert all(label.strip() for label in labels.values())
    assert len(set(labels.values())) == len(labels), "two values of one status read the same"
    assert all(status_colour(member) for member in enum)


def test_the_words_agree_across_home_orders_dashboard_and_invoices(client, auth, world):
    today = london_today()
    order = make_order(world.school_a, world.offer_a, status=OrderStatus.SUBMITTED)
    db.session.add(
        Invoice(
            school_id=world.school_a.id,
            kind=InvoiceKind.MEMBERSHIP,
            title="Membership",
            period="statuses",
            billing_key="statuses-1",
            status=InvoiceStatus.OPEN,
            net_pence=10_000,
            total_pence=10_000,
            due_on=today + timedelta(days=9),
            number="INV-STATUS-1",
        )
    )
    db.session.commit()
    auth.as_user(world.sbm_a)
    awaiting = status_label(OrderStatus.SUBMITTED)
    to_pay = status_label(InvoiceStatus.OPEN)
    assert (awaiting, to_pay) == ("Awaiting approval", "To pay")
    pages = {path: client.get(path).get_data(as_text=True) for path in
             ("/home", "/orders", f"/orders/{order.id}", "/dashboard", "/invoices")}  # fmt: skip
    for path in ("/home", "/orders", f"/orders/{order.id}"):
        assert awaiting in pages[path], path
    for path in ("/dashboard", "/invoices"):
        assert to_pay in pages[path], path
    for path, page in pages.items():
        assert OLD_WORDS.search(page) is None, f"{path}: {OLD_WORDS.search(page).group(0)}"


def test_an_email_about_an_order_uses_the_same_word_as_its_page(client, auth, world):
    order = make_order(world.school_a, world.offer_a, status=OrderStatus.SUBMITTED)
    order.created_by_id = world.sbm_a.id
    db.session.commit()
    decisions.approve(order.id, world.school_a.id, world.head_a)
    [message] = emails("order_decided", to=world.sbm_a)
    word = status_label(OrderStatus.APPROVED).lower()
    assert f"has been {word}" in message.subject
    assert f"has been {word}" in message.text_body
