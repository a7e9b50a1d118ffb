"""Pytest fixtures and helpers to run real Stripe client code against the local Stripe server.

Register as a plugin (``pytest_plugins = ["tests.support.stripe_fixtures"]``) or import
``localstripe_url`` into a test module. Nothing here imports the Flask app. The helpers call the
server's ``/_test`` and ``/_config`` routes (tests/support/localstripe_server.py).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import pytest
import stripe

from tests.support.localstripe_server import HOST, serve_in_thread

TEST_API_KEY = "sk_test_pooled_local"
TEST_WEBHOOK_SECRET = "whsec_pooled_local_test"


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """Base URL of a local Stripe server on 127.0.0.1 (free port), stopped after the session."""
    server = serve_in_thread()
    try:
        yield server.url
    finally:
        server.stop()


def stripe_client(
    base_url: str, api_key: str = TEST_API_KEY, *, max_network_retries: int = 0
) -> stripe.StripeClient:
    """A ``stripe.StripeClient`` whose API calls go to the local server."""
    return stripe.StripeClient(
        api_key, base_addresses={"api": base_url}, max_network_retries=max_network_retries
    )


def stripe_env(base_url: str, webhook_secret: str = TEST_WEBHOOK_SECRET) -> dict[str, str]:
    """The environment the app reads: STRIPE_API_KEY, STRIPE_API_BASE, STRIPE_WEBHOOK_SECRET."""
    return {
        "STRIPE_API_KEY": TEST_API_KEY,
        "STRIPE_API_BASE": base_url,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
    }


def call(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the server's /_config or /_test helpers (JSON in, JSON out; errors raise)."""
    if not base_url.startswith("http://"):
        raise ValueError(f"not a local http URL: {base_url}")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (http only, checked above)
        base_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TEST_API_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise LocalStripeError(exc.code, detail) from None


class LocalStripeError(Exception):
    """A /_test or /_config helper answered with an error."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def register_webhook(
    base_url: str,
    url: str,
    secret: str = TEST_WEBHOOK_SECRET,
    *,
    webhook_id: str | None = None,
    events: list[str] | None = None,
) -> str:
    """Have the server deliver signed events to ``url``; returns the webhook's id."""
    webhook_id = webhook_id or f"wh_{uuid4().hex[:12]}"
    body: dict[str, Any] = {"url": url, "secret": secret}
    if events is not None:
        body["events"] = events
    call(base_url, "POST", f"/_config/webhooks/{webhook_id}", body)
    return webhook_id


def unregister_webhook(base_url: str, webhook_id: str) -> None:
    """Stop delivering to a webhook registered with ``register_webhook``."""
    call(base_url, "DELETE", f"/_config/webhooks/{webhook_id}")


def webhook_deliveries(
    base_url: str, *, event_id: str | None = None, webhook_id: str | None = None
) -> list[dict[str, Any]]:
    """Delivery attempts so far (oldest first): event, type, url, status, ok, error."""
    query = "&".join(
        f"{k}={v}" for k, v in (("event", event_id), ("webhook", webhook_id)) if v is not None
    )
    return call(base_url, "GET", "/_test/webhook_deliveries" + (f"?{query}" if query else ""))[
        "data"
    ]


def resend_event(base_url: str, event_id: str) -> list[dict[str, Any]]:
    """Deliver an event again now (same event id, fresh signature); returns the attempts."""
    return call(base_url, "POST", f"/_test/events/{event_id}/resend", {})["data"]


def fail_invoice_payment(base_url: str, invoice_id: str) -> dict[str, Any]:
    """Simulate a failed payment attempt (invoice.payment_failed); the invoice stays open."""
    return call(base_url, "POST", f"/_test/invoices/{invoice_id}/fail_payment", {})


def pay_by_bank_transfer(base_url: str, invoice_id: str) -> dict[str, Any]:
    """Simulate the school's bank transfer of what is left (invoice.paid, payment_succeeded)."""
    return call(base_url, "POST", f"/_test/invoices/{invoice_id}/bank_transfer", {})


def mark_overdue(base_url: str, invoice_id: str) -> dict[str, Any]:
    """Simulate the due date passing (invoice.overdue)."""
    return call(base_url, "POST", f"/_test/invoices/{invoice_id}/overdue", {})


@dataclass(frozen=True)
class ReceivedWebhook:
    """One request as the receiving endpoint saw it: raw body and Stripe-Signature."""

    body: bytes
    signature: str | None
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        """The body parsed as JSON (not verified; use stripe.Webhook.construct_event)."""
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A tiny HTTP endpoint on 127.0.0.1 that records webhook deliveries and answers 200."""

    host: str = HOST
    status: int = 200
    received: list[ReceivedWebhook] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _arrivals: queue.Queue[ReceivedWebhook] = field(default_factory=queue.Queue)

    @property
    def url(self) -> str:
        """Where to register the webhook."""
        assert self._server is not None, "start() the receiver first"
        return f"http://{self.host}:{self._server.server_address[1]}/stripe/webhook"

    def start(self) -> WebhookReceiver:
        """Listen on a free port in a background thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                webhook = ReceivedWebhook(
                    body=self.rfile.read(length),
                    signature=self.headers.get("Stripe-Signature"),
                    headers=dict(self.headers.items()),
                )
                receiver.received.append(webhook)
                receiver._arrivals.put(webhook)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and join the thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_for(
        self, predicate: Callable[[ReceivedWebhook], bool], timeout: float = 10.0
    ) -> ReceivedWebhook:
        """The first delivery (already received or arriving within ``timeout``) that matches."""
        for webhook in list(self.received):
            if predicate(webhook):
                return webhook
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                webhook = self._arrivals.get(timeout=left)
            except queue.Empty:
                break
            if predicate(webhook):
                return webhook
        raise AssertionError(f"no matching webhook within {timeout}s; got {len(self.received)}")

    def wait_for_event(
        self, event_type: str, object_id: str | None = None, timeout: float = 10.0
    ) -> ReceivedWebhook:
        """The first delivery of ``event_type`` (about ``object_id`` if given)."""

        def matches(webhook: ReceivedWebhook) -> bool:
            event = webhook.event
            return event.get("type") == event_type and (
                object_id is None or event["data"]["object"].get("id") == object_id
            )

        return self.wait_for(matches, timeout)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
