"""Who is emailed about billing: the school's SBMs when an invoice is issued here (no
Stripe) and when it is overdue; provider users when a term's payables are ready."""

from __future__ import annotations

from datetime import timedelta

from app.models import Role
from app.time import london_today
from marketplace.billing import runs
from marketplace.billing.emails import send_overdue_notices, send_payables_ready
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import gateway_from_config
from tests import factories
from tests.marketplace.billing.conftest import invoices, make_order, previous_term
from tests.support.outbox import emails
from tests.support.smtp import link_in, text_of


def bill(as_of=None):
    return runs.execute(runs.start_run(None, as_of), gateway_from_config())


def test_an_invoice_issued_here_is_emailed_to_the_schools_sbms(world, no_stripe, mailbox):
    second_sbm = factories.make_user(Role.SBM, school=world.school_a)
    order = make_order(world.school_a, world.offer_a, 4)
    bill()
    invoice = invoice_for_order(order.id)
    told = [r for r in emails("invoice") if r.subject_id == str(invoice.id)]
    assert {r.recipient for r in told} == {world.sbm_a.email, second_sbm.email}
    [message] = [
        m
        for m in mailbox.wait_for(world.sbm_a.email)
        if m["Subject"].startswith(f"Invoice {invoice.number}")
    ]
    body = text_of(message)
    assert message["Subject"] == f"Invoice {invoice.number}: {invoice.title}"
    assert "£1,000.00" in body and "PO-7731" in body
    assert link_in(message, f"/invoices/{invoice.id}")
    before = len(emails("invoice"))
    bill()  # nothing new to bill, nothing new to tell
    assert len(emails("invoice")) == before


def test_with_stripe_the_school_gets_stripes_invoice_not_ours(world, stripe_config):
    make_order(world.school_a, world.offer_a, 4)
    bill()
    assert emails("invoice") == []


def test_an_overdue_invoice_is_emailed_once(world, no_stripe):
    order = make_order(world.school_a, world.offer_a, 4)
    bill(london_today())
    invoice = invoice_for_order(order.id)
    due_dates = {i.due_on for i in invoices()}
    assert due_dates == {invoice.due_on}  # every invoice of the run is due the same day
    schools_billed = len({i.school_id for i in invoices()})
    assert send_overdue_notices(invoice.due_on) == 0  # due today: not yet overdue
    told = send_overdue_notices(invoice.due_on + timedelta(days=1))
    assert told == len([i for i in invoices()]) and schools_billed >= 1
    overdue = [r for r in emails("invoice") if r.subject == f"Invoice {invoice.number} is overdue"]
    assert [r.recipient for r in overdue] == [world.sbm_a.email]
    assert "has not been paid" in overdue[0].text_body
    assert send_overdue_notices(invoice.due_on + timedelta(days=2)) == 0


def test_providers_hear_what_they_are_owed_once_a_term_has_ended(world, no_stripe):
    last = previous_term()
    make_order(world.school_a, world.offer_a, 3, term_key=last.key, unit_price_pence=10_000)
    day_after = last.ends_on + timedelta(days=1)
    assert send_payables_ready(last.ends_on) == 0  # the term has not ended yet
    assert send_payables_ready(day_after) == 1
    [row] = emails("payables_ready")
    assert row.recipient == world.provider_user_a.email
    assert row.subject == f"What you are owed for {last.label}"
    assert "£285.00" in row.text_body  # £300 less the 5% fee
    assert send_payables_ready(day_after + timedelta(days=1)) == 0
    assert send_payables_ready(london_today() + timedelta(days=400)) == 0
