"""Billing end to end: the demo partnership, `flask billing run`, gunicorn and the local Stripe.

One server per backend (module scope): a fresh database with `flask demo seed`, gunicorn with
STRIPE_API_KEY / STRIPE_API_BASE / STRIPE_WEBHOOK_SECRET pointing at the local Stripe server,
which delivers real signed webhooks to the app's /stripe/webhook.
"""

from __future__ import annotations

import csv
import http.cookiejar
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import AuditEvent, School
from marketplace.billing import rules as billing_rules
from marketplace.billing import webhooks as billing_events
from marketplace.billing.models import (
    BillingCustomer,
    BillingState,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    StripeEvent,
)
from marketplace.offers.models import Offer
from marketplace.orders.models import Order, OrderStatus
from tests.conftest import make_app
from tests.marketplace.billing.conftest import make_order, stripe_customers, stripe_invoices
from tests.support.browser import ROOT, DemoTemplates, LiveServer, demo_server, sign_in
from tests.support.stripe_fixtures import (
    TEST_WEBHOOK_SECRET,
    mark_overdue,
    pay_by_bank_transfer,
    register_webhook,
    resend_event,
    stripe_client,
    stripe_env,
    unregister_webhook,
    webhook_deliveries,
)

DEMO_MEMBER_SCHOOLS = 64  # 67 Ealing schools, 3 not members
GREENWOOD_URN = 101899  # the demo SBM's school
# Every invoice event but "overdue", so a test can deliver that one itself.
DELIVERED_EVENTS = [t for t in billing_events.EVENT_TYPES if t != "invoice.overdue"]


@pytest.fixture(scope="module")
def billing_server(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    localstripe_url: str,
    demo_templates: DemoTemplates,
) -> Iterator[LiveServer]:
    """The demo partnership on gunicorn (2 workers), billing through the local Stripe."""
    tmp = tmp_path_factory.mktemp(f"billing-live-{backend}")
    with demo_server(backend, tmp, demo_templates, **stripe_env(localstripe_url)) as server:
        webhook_id = register_webhook(
            localstripe_url, server.url + "/stripe/webhook", events=DELIVERED_EVENTS
        )
        try:
            yield server
        finally:
            unregister_webhook(localstripe_url, webhook_id)


@pytest.fixture(scope="module")
def database(billing_server: LiveServer) -> Iterator[Callable[[], Session]]:
    """Fresh sessions on the live server's database, for looking at what happened."""
    engine = sa.create_engine(billing_server.database_url)
    try:
        yield lambda: Session(engine, expire_on_commit=False)
    finally:
        engine.dispose()


def scalar(database: Callable[[], Session], stmt: Any) -> Any:
    with database() as session:
        return session.scalar(stmt)


def count_of(database: Callable[[], Session], model: Any, *where: Any) -> int:
    return scalar(database, sa.select(sa.func.count()).select_from(model).where(*where))


def wait_for(check: Callable[[], Any], timeout: float = 20, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not true within {timeout}s")


def namespace(database: Callable[[], Session]) -> str:
    return scalar(database, sa.select(BillingState.value).where(BillingState.key == "namespace"))


class Visitor:
    """A signed-in visitor over plain HTTP (cookies kept, CSRF token from the form)."""

    def __init__(self, server: LiveServer, email: str, password: str = "pooled-demo") -> None:
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        form = self.get("/sign-in")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
            r'name="csrf_token" value="([^"]+)"', form
        )
        assert token, "no CSRF token on the sign-in page"
        data = urllib.parse.urlencode(
            {"csrf_token": token.group(1), "email": email, "password": password}
        ).encode()
        page = self.opener.open(server.url + "/sign-in", data=data, timeout=30).read().decode()
        assert "Sign out" in page, "sign-in failed"

    def get(self, path: str) -> str:
        return self.opener.open(self.server.url + path, timeout=30).read().decode()


def post_webhook(server: LiveServer, body: bytes, signature: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1)
        server.url + "/stripe/webhook",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def sign(body: bytes, secret: str = TEST_WEBHOOK_SECRET) -> str:
    import hashlib
    import hmac

    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def test_a_run_killed_half_way_is_finished_by_the_next_one_billing_each_school_once(
    billing_server: LiveServer, database: Callable[[], Session], localstripe_url: str
) -> None:
    """`flask billing run` on the demo partnership, killed with SIGKILL part-way through
    issuing invoices in Stripe, then run again: exactly one customer per member school and one
    membership invoice each, and one invoice per delivered order of the demo's term, here and
    in Stripe; a third run creates nothing."""
    issued = Invoice.stripe_invoice_id.is_not(None)
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "wsgi", "billing", "run"],
        cwd=ROOT,
        env=billing_server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: count_of(database, Invoice, issued) >= 8, timeout=60, every=0.01)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    at_kill = count_of(database, Invoice, issued)
    assert process.returncode == -signal.SIGKILL
    assert 8 <= at_kill < DEMO_MEMBER_SCHOOLS, "the run was not stopped half-way"

    rerun = billing_server.flask("billing", "run")

    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    assert "0 new invoices written" in rerun.stdout
    ns = namespace(database)
    client = stripe_client(localstripe_url)
    with database() as session:
        members = set(session.scalars(sa.select(School.id).where(School.is_member.is_(True))))
        rows = session.scalars(sa.select(Invoice)).all()
        customers = session.scalars(sa.select(BillingCustomer)).all()
        delivered = session.scalar(
            sa.select(sa.func.count(Order.id)).where(Order.status == OrderStatus.INVOICED)
        )
        order_lines = session.scalars(
            sa.select(InvoiceLine.order_id).where(InvoiceLine.order_id.is_not(None))
        ).all()
    assert len(members) == DEMO_MEMBER_SCHOOLS
    memberships = [i for i in rows if i.kind is InvoiceKind.MEMBERSHIP]
    assert sorted(i.school_id for i in memberships) == sorted(members)  # one per member school
    # The demo's delivered orders are billed too, each once.
    assert delivered > 0 and len(order_lines) == len(set(order_lines)) == delivered
    assert {InvoiceKind.MEMBERSHIP, InvoiceKind.ORDER} <= {i.kind for i in rows}
    assert all(i.status is InvoiceStatus.OPEN and i.sent_at for i in rows)
    remote = stripe_invoices(client, ns)
    assert sorted(i.id for i in remote) == sorted(i.stripe_invoice_id for i in rows)
    remote_customers = stripe_customers(client, ns)
    assert sorted(c.id for c in remote_customers) == sorted(c.stripe_customer_id for c in customers)
    assert len(remote_customers) == DEMO_MEMBER_SCHOOLS
    school_of_customer = {c.stripe_customer_id: c.school_id for c in customers}
    school_of_invoice = {i.stripe_invoice_id: i.school_id for i in rows}
    assert all(school_of_customer[i.customer] == school_of_invoice[i.id] for i in remote)
    totals = {i.id: i.total for i in remote}
    assert all(totals[i.stripe_invoice_id] == i.total_pence for i in rows)

    third = billing_server.flask("billing", "run")
    assert third.returncode == 0
    assert "0 invoices created" in third.stdout
    assert len(stripe_invoices(client, ns)) == len(rows)
    assert len(stripe_customers(client, ns)) == DEMO_MEMBER_SCHOOLS


@pytest.fixture(scope="module")
def greenwood_invoice(billing_server: LiveServer, database: Callable[[], Session]) -> Invoice:
    """The demo SBM's school's membership invoice (billing is run if it has not been)."""
    result = billing_server.flask("billing", "run")
    assert result.returncode == 0, result.stderr
    invoice = scalar(
        database,
        sa.select(Invoice)
        .join(School, School.id == Invoice.school_id)
        .where(School.urn == GREENWOOD_URN),
    )
    assert invoice is not None and invoice.stripe_invoice_id
    return invoice


def test_paying_in_stripe_marks_the_invoice_paid_through_the_webhook(
    billing_server: LiveServer,
    database: Callable[[], Session],
    localstripe_url: str,
    greenwood_invoice: Invoice,
) -> None:
    stripe_id = greenwood_invoice.stripe_invoice_id
    pay_by_bank_transfer(localstripe_url, stripe_id)

    wait_for(
        lambda: (
            scalar(database, sa.select(Invoice.status).where(Invoice.id == greenwood_invoice.id))
            is InvoiceStatus.PAID
        )
    )

    paid_event = scalar(
        database,
        sa.select(StripeEvent).where(
            StripeEvent.object_id == stripe_id, StripeEvent.type == "invoice.paid"
        ),
    )
    assert paid_event is not None and paid_event.source == "webhook"
    sbm = Visitor(billing_server, "sbm@demo.pooled.test")
    page = sbm.get("/invoices")
    assert greenwood_invoice.number in page
    detail = sbm.get(f"/invoices/{greenwood_invoice.id}")
    assert 'id="amount-due">£0.00' in detail
    assert "Paid" in detail

    # The same event again (a replay, freshly signed by the server): received, no effect.
    audit_before = count_of(database, AuditEvent)
    events_before = count_of(database, StripeEvent)
    [delivery] = resend_event(localstripe_url, paid_event.event_id)
    assert delivery["status"] == 200
    assert json.loads(delivery["response"])["duplicate"] is True
    assert (count_of(database, AuditEvent), count_of(database, StripeEvent)) == (
        audit_before,
        events_before,
    )

    # A forged event: refused with 400, nothing recorded.
    forged = json.dumps(
        {
            "id": "evt_forged",
            "object": "event",
            "type": "invoice.voided",
            "data": {"object": {"id": stripe_id, "object": "invoice", "status": "void"}},
        }
    ).encode()
    status, _ = post_webhook(billing_server, forged, sign(forged, "whsec_someone_else"))
    assert status == 400
    status, _ = post_webhook(billing_server, forged, "")
    assert status == 400
    assert count_of(database, StripeEvent, StripeEvent.event_id == "evt_forged") == 0
    assert scalar(
        database, sa.select(Invoice.status).where(Invoice.id == greenwood_invoice.id)
    ) is (InvoiceStatus.PAID)
    deliveries = webhook_deliveries(localstripe_url, event_id=paid_event.event_id)
    assert [d["status"] for d in deliveries] == [200, 200]


def test_the_same_event_delivered_ten_times_at_once_is_processed_once(
    billing_server: LiveServer,
    database: Callable[[], Session],
    localstripe_url: str,
    greenwood_invoice: Invoice,
) -> None:
    other = scalar(
        database,
        sa.select(Invoice)
        .where(Invoice.id != greenwood_invoice.id, Invoice.status == InvoiceStatus.OPEN)
        .order_by(Invoice.id),
    )
    mark_overdue(localstripe_url, other.stripe_invoice_id)  # not delivered by the server
    client = stripe_client(localstripe_url)
    event = next(
        e
        for e in client.v1.events.list({"type": "invoice.overdue", "limit": 100}).data
        if e.data.object.id == other.stripe_invoice_id
    )
    body = json.dumps(event.to_dict(), default=str).encode()
    results: list[tuple[int, dict[str, Any]]] = []
    start = threading.Barrier(10)

    def deliver() -> None:
        start.wait()
        results.append(post_webhook(billing_server, body, sign(body)))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in results] == [200] * 10
    assert sorted(answer["duplicate"] for _, answer in results) == [False] + [True] * 9
    assert count_of(database, StripeEvent, StripeEvent.event_id == event.id) == 1


def test_the_payables_csv_adds_up_to_the_delivered_work_less_the_fee(
    billing_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app = make_app(billing_server.database_url, tmp_path_factory.mktemp("payables-app"))
    from app.extensions import db

    with app.app_context():
        offers = db.session.scalars(sa.select(Offer).order_by(Offer.id).limit(3)).all()
        schools = db.session.scalars(sa.select(School).order_by(School.id).limit(3)).all()
        for n, (offer, school) in enumerate(zip(offers, schools, strict=True)):
            make_order(school, offer, quantity=n + 2, unit_price_pence=12_345 + n * 7)
        make_order(schools[0], offers[0], quantity=1, status=OrderStatus.CONFIRMED)
        db.session.commit()
        delivered = db.session.scalars(
            sa.select(Order.total_pence).where(
                Order.status.in_([OrderStatus.DELIVERED, OrderStatus.INVOICED])
            )
        ).all()
        db.session.remove()
        db.engine.dispose()
    work = sum(delivered)
    fee = sum(billing_rules.fee_pence(total, 500) for total in delivered)

    text = Visitor(billing_server, "admin@demo.pooled.test").get("/billing/payables.csv")

    every = list(csv.DictReader(io.StringIO(text)))
    # The demo's approved supply timesheets are owed to their agencies too (kind "supply"), and
    # its payments to providers are listed after what is owed (kind "payment").
    rows = [r for r in every if r["Kind"] not in ("supply", "payment")]
    assert {r["Kind"] for r in every} >= {"supply", "payment"}
    assert len(rows) == len(delivered) >= 3
    pence = lambda value: int(Decimal(value) * 100)  # noqa: E731
    assert sum(pence(r["Value (£, excl. VAT)"]) for r in rows) == work
    assert sum(pence(r["Partnership fee (£)"]) for r in rows) == fee
    assert sum(pence(r["Owed to provider (£)"]) for r in rows) == work - fee


@pytest.mark.browser
def test_the_admin_starts_a_run_and_the_page_follows_it_to_the_end(
    billing_server: LiveServer, database: Callable[[], Session], page: Any, greenwood_invoice
) -> None:
    """No JavaScript: the page refreshes itself while the run works in the background."""
    before = count_of(database, Invoice)
    sign_in(page, billing_server, "admin@demo.pooled.test")
    page.goto(billing_server.url + "/billing")
    assert page.locator("#stripe-status").count() == 1

    page.get_by_role("button", name="Start a billing run").click()

    page.wait_for_selector("#runs tbody tr:first-child :text('Finished')", timeout=60_000)
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    created = count_of(database, Invoice) - before
    assert page.locator("#run-progress").inner_text().startswith(f"{created} invoice")
