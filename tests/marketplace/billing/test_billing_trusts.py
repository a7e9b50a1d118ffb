"""A trust invoiced once: one invoice per billing run for all its schools' due items, addressed
to the trust, each line naming its school; each item billed once; each school sees only its
own lines; credits still work; in Stripe, one customer for the trust."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import stripe

from app.extensions import db
from app.models import School
from marketplace.billing import runs
from marketplace.billing.credits import credit_cancelled_order
from marketplace.billing.models import (
    BillingCustomer,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import namespace
from marketplace.billing.stripe_gateway import StripeGateway
from marketplace.orders.models import OrderStatus
from tests import factories
from tests.marketplace.billing.conftest import invoices, make_order, ours, stripe_invoices
from tests.support import outbox


def run_billing(gateway=None) -> tuple[runs.RunReport, int]:
    run = runs.start_run(None)
    run_id = run.id
    return runs.execute(run, gateway), run_id


@pytest.fixture
def trust_schools(world) -> tuple[School, School]:
    """The world's trust, invoiced once, with a second school (Gamma, not a member)."""
    gamma = factories.make_school("Gamma Primary School", trust=world.trust, pupils=300)
    world.trust.invoice_once = True
    world.trust.address = "Trust House\n1 Alpha Road\nEaling W5 1AA"
    db.session.commit()
    return world.school_a, gamma


def trust_invoices(trust_id: int) -> list[Invoice]:
    return [i for i in invoices() if i.trust_id == trust_id]


@pytest.mark.usefixtures("no_stripe")
def test_a_trust_invoiced_once_gets_one_invoice_for_all_its_schools_orders(
    world, trust_schools
) -> None:
    alpha, gamma = trust_schools
    order_a = make_order(alpha, world.offer_a, quantity=3, po_number="PO-A")
    order_g = make_order(gamma, world.offer_b, quantity=2, po_number="PO-G")
    order_b = make_order(world.school_b, world.offer_a, quantity=1)
    db.session.commit()

    report, run_id = run_billing()

    [trust_invoice] = trust_invoices(world.trust.id)
    assert trust_invoice.school_id is None
    assert trust_invoice.billing_key == f"trust-{world.trust.id}-run-{run_id}"
    assert trust_invoice.payer_name == "Alpha Learning Trust"
    assert trust_invoice.status is InvoiceStatus.OPEN and trust_invoice.number
    by_order = {line.order_id: line for line in trust_invoice.lines}
    assert set(by_order) == {order_a.id, order_g.id}
    assert by_order[order_a.id].school_id == alpha.id
    assert by_order[order_a.id].description.startswith("Alpha Primary School: ")
    assert by_order[order_g.id].school_id == gamma.id
    assert by_order[order_g.id].description.startswith("Gamma Primary School: ")
    assert trust_invoice.total_pence == 3 * 25_000 + 2 * 27_000
    assert trust_invoice.po_number == "PO-A, PO-G"
    # The school outside the trust, and memberships, are billed to each school as before.
    own = invoice_for_order(order_b.id)
    assert own is not None and own.school_id == world.school_b.id and own.trust_id is None
    membership = [i for i in invoices() if i.kind.value == "membership"]
    assert {i.school_id for i in membership} == {alpha.id, world.school_b.id}
    assert report.invoices_created == 4
    for order in (order_a, order_g):
        db.session.refresh(order)
        assert order.status is OrderStatus.INVOICED


@pytest.mark.usefixtures("no_stripe")
def test_each_item_is_billed_once_and_a_later_run_bills_only_what_is_new(
    world, trust_schools
) -> None:
    alpha, gamma = trust_schools
    make_order(alpha, world.offer_a, quantity=3)
    db.session.commit()
    run_billing()

    again, _ = run_billing()
    assert again.invoices_created == 0

    later = make_order(gamma, world.offer_a, quantity=1)
    db.session.commit()
    third, run_id = run_billing()

    assert third.invoices_created == 1
    first, second = trust_invoices(world.trust.id)
    assert [line.order_id for line in second.lines] == [later.id]
    assert second.billing_key == f"trust-{world.trust.id}-run-{run_id}"
    order_lines = db.session.scalar(
        sa.select(sa.func.count(InvoiceLine.id)).where(InvoiceLine.order_id.is_not(None))
    )
    assert order_lines == 2


@pytest.mark.usefixtures("no_stripe")
def test_a_school_leaving_invoice_once_is_billed_on_its_own_again(world, trust_schools) -> None:
    alpha, _ = trust_schools
    world.trust.invoice_once = False
    order = make_order(alpha, world.offer_a, quantity=2)
    db.session.commit()

    run_billing()

    invoice = invoice_for_order(order.id)
    assert invoice is not None and invoice.school_id == alpha.id and invoice.trust_id is None
    assert trust_invoices(world.trust.id) == []


@pytest.mark.usefixtures("no_stripe")
def test_the_trust_sees_its_invoice_and_each_school_only_its_own_lines(
    client, auth, world, trust_schools
) -> None:
    alpha, gamma = trust_schools
    make_order(alpha, world.offer_a, quantity=3, po_number="PO-ALPHA")
    make_order(gamma, world.offer_b, quantity=2, po_number="PO-GAMMA")
    db.session.commit()
    run_billing()
    [invoice] = trust_invoices(world.trust.id)

    auth.as_user(world.trust_user)
    listed = client.get("/invoices").get_data(as_text=True)
    assert f'data-invoice="{invoice.id}"' in listed and "Alpha Learning Trust" in listed
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "Alpha Primary School:" in page and "Gamma Primary School:" in page
    assert "£1,290.00" in page  # 3 × £250 + 2 × £270
    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 200

    auth.logout()
    auth.as_user(world.sbm_a)
    listed = client.get("/invoices").get_data(as_text=True)
    assert f'data-invoice="{invoice.id}"' in listed and "Paid by Alpha Learning Trust" in listed
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "Alpha Primary School:" in page and "Gamma Primary School" not in page
    assert "£750.00" in page and "£1,290.00" not in page
    assert "PO-ALPHA" in page and "PO-GAMMA" not in page and "PO-GAMMA" not in listed
    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 404
    # What the school itself still has to pay: its own membership, not the trust's invoice.
    membership = next(i for i in invoices() if i.school_id == alpha.id)
    assert f'id="outstanding">{_money(membership.amount_due_pence)}' in listed

    auth.logout()
    auth.as_user(world.sbm_b)
    assert client.get(f"/invoices/{invoice.id}").status_code == 404
    assert f'data-invoice="{invoice.id}"' not in client.get("/invoices").get_data(as_text=True)


def _money(pence: int) -> str:
    return f"£{pence / 100:,.2f}"


@pytest.mark.usefixtures("no_stripe")
def test_the_trusts_finance_leads_are_told_of_its_invoice(world, trust_schools) -> None:
    alpha, _ = trust_schools
    make_order(alpha, world.offer_a, quantity=1)
    db.session.commit()

    run_billing()

    [invoice] = trust_invoices(world.trust.id)
    told = [m for m in outbox.emails("invoice") if m.subject_id == str(invoice.id)]
    assert [m.recipient for m in told] == [world.trust_user.email]


@pytest.mark.usefixtures("no_stripe")
def test_a_line_on_the_trusts_invoice_can_be_credited_for_its_school(world, trust_schools) -> None:
    alpha, gamma = trust_schools
    order = make_order(gamma, world.offer_b, quantity=2)
    make_order(alpha, world.offer_a, quantity=1)
    db.session.commit()
    run_billing()
    [invoice] = trust_invoices(world.trust.id)

    order.status = OrderStatus.CANCELLED
    note = credit_cancelled_order(order, 27_000, world.trust_user)
    db.session.commit()

    assert note is not None and note.school_id == gamma.id
    assert note.status is CreditNoteStatus.ISSUED and note.invoice_id == invoice.id
    db.session.refresh(invoice)
    assert invoice.credited_pence == 27_000
    assert invoice.amount_due_pence == 25_000 + 2 * 27_000 - 27_000


@pytest.mark.usefixtures("stripe_config")
def test_in_stripe_the_trust_is_one_customer_billed_once(
    world, trust_schools, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    alpha, gamma = trust_schools
    world.trust.finance_email = "finance@alpha-trust.example"
    make_order(alpha, world.offer_a, quantity=3)
    make_order(gamma, world.offer_b, quantity=2)
    db.session.commit()

    report, _ = run_billing(gateway)
    assert report.failures == []

    [invoice] = trust_invoices(world.trust.id)
    assert invoice.status is InvoiceStatus.OPEN and invoice.sent_at is not None
    ns = namespace()
    customers = ours(
        client_stripe.v1.customers.list({"limit": 100}).auto_paging_iter(), "pooled_trust", ns
    )
    [customer] = customers
    assert customer.email == "finance@alpha-trust.example"
    assert customer.metadata["trust_code"] == world.trust.code
    assert invoice.stripe_customer_id == customer.id
    stored = db.session.scalar(
        sa.select(BillingCustomer).where(BillingCustomer.trust_id == world.trust.id)
    )
    assert stored is not None and stored.stripe_customer_id == customer.id
    remote = client_stripe.v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert remote.total == invoice.total_pence == 3 * 25_000 + 2 * 27_000
    assert remote.customer == customer.id

    before = len(stripe_invoices(client_stripe, ns))
    again, _ = run_billing(gateway)
    assert (again.invoices_created, again.to_push, again.customers_created) == (0, 0, 0)
    assert len(stripe_invoices(client_stripe, ns)) == before


def test_the_trust_sets_where_its_invoice_goes(client, auth, world) -> None:
    auth.as_user(world.trust_user)
    bad = client.post(
        f"/trusts/{world.trust.id}",
        data={"invoicing": "once", "finance_email": "not an email", "address": ""},
    )
    assert bad.status_code == 400
    assert "Enter an email address like" in bad.get_data(as_text=True)
    db.session.refresh(world.trust)
    assert world.trust.invoice_once is False

    done = client.post(
        f"/trusts/{world.trust.id}",
        data={
            "invoicing": "once",
            "finance_email": "Finance@Alpha-Trust.example",
            "address": "Trust House\n1 Alpha Road",
        },
    )
    assert done.status_code == 302
    db.session.refresh(world.trust)
    assert world.trust.invoice_once is True
    assert world.trust.finance_email == "finance@alpha-trust.example"
    assert world.trust.address == "Trust House\n1 Alpha Road"
