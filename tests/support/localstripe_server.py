"""A local Stripe for tests: the part of Stripe's API that Pooled's billing adapter calls.

Test-only: nothing under ``app/``, ``marketplace/`` or ``procurement/`` may import it.

Why its own server on the standard library rather than localstripe (PyPI, GPL) extended, as it
was: localstripe served none of the adapter's calls (marketplace/billing/stripe_gateway.py) in
the shape the current API has, so the extension replaced its invoices, patched its customers and
tax rates in place, and carried what nobody calls (cards, subscriptions, plans, coupons,
aiohttp). Alone, the same behaviour is a quarter of the code and one dependency less. It is one
module of about 1,000 lines (over the usual 500) because it is one fake of one outside service,
read top to bottom: its two halves (the machinery, the endpoints) would each need the other.

What it serves, in the SDK's form encoding and Stripe's JSON (README: "Trying billing locally"):
customers (create, retrieve, list by ``email``); exclusive tax rates (create, list);
``send_invoice`` invoices (create with ``days_until_due``, ``custom_fields``, ``description``,
``footer``, ``metadata``; retrieve; list by ``customer``/``created``; finalize, send, void, pay
``paid_out_of_band``); items on a draft (``unit_amount_decimal`` × ``quantity`` with
``tax_rates``: create, update, list by ``invoice``); credit notes of custom lines on an open or
paid invoice (create, retrieve, list by ``invoice``); events (list by ``created``, ``type``,
``types``). Like Stripe: lists newest first with ``limit``/``starting_after``; Stripe-shaped
errors, unknown parameters and URLs refused; what Stripe refuses refused with a 400 that changes
nothing; ``Idempotency-Key`` replays (other parameters or endpoint: ``idempotency_error``);
events delivered to webhooks in order, 0.2 s later, signed ``t=…,v1=<HMAC-SHA256>`` for
``stripe.Webhook.construct_event``. Requests run one at a time (one lock), so two with the same
key never race. ``TEST_ROUTES`` (no API key) play the school, the bank and the webhook settings.

Tests run it in a thread (``serve_in_thread``, from tests/support/stripe_fixtures.py); people run
it on 127.0.0.1 (``--port 0`` picks a free port; the first line printed is its URL)::

    python -m tests.support.localstripe_server --port 8420
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import html
import itertools
import json
import operator
import queue
import re
import secrets
import signal
import string
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

import stripe

HOST = "127.0.0.1"
DEFAULT_PORT = 8420
MAX_AMOUNT = 99_999_999  # Stripe's largest GBP amount: £999,999.99
DAY = 86_400
CREDIT_NOTE_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
WEBHOOK_DELAY = 0.2  # seconds from an event to its delivery: Stripe's are not instant either

Object = dict[str, Any]
Answer = tuple[int, Any, dict[str, str]]  # status, body (an object, a list or a Page), headers

TEST_ROUTES = """
POST   /_test/invoices/{id}/bank_transfer   the school pays what is left by bank transfer
POST   /_test/invoices/{id}/fail_payment    a payment attempt fails; the invoice stays open
POST   /_test/invoices/{id}/overdue         the due date passes: invoice.overdue
GET    /_test/invoices/{id}/hosted          the invoice as the school sees it (hosted_invoice_url)
POST   /_test/events/{id}/resend            deliver an event again now: same id, fresh signature
GET    /_test/webhook_deliveries            every delivery attempt so far [event, webhook]
POST   /_config/webhooks/{id}               deliver signed events to url [secret, events]
DELETE /_config/webhooks/{id}               stop delivering there
"""


# ---- errors, parameters and money ----------------------------------------------------------


class StripeError(Exception):
    """An error as Stripe answers it: ``{"error": {"type", "message", "code", "param"}}``."""

    def __init__(self, message: str, status: int = 400, **details: str | None) -> None:
        super().__init__(message)
        self.status = status
        fields = {"type": "invalid_request_error", "message": message, **details}
        self.body = {"error": {k: v for k, v in fields.items() if v}}

    def answer(self) -> Answer:
        return self.status, self.body, {}


def refuse(message: str, **details: str | None) -> NoReturn:
    raise StripeError(message, **details)


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        *path, last = re.findall(r"[^\[\]]+", key)
        node = root
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value

    def lists(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if value and all(k.isdigit() for k in value):
            return [lists(value[k]) for k in sorted(value, key=int)]
        return {k: lists(v) for k, v in value.items()}

    return lists(root)


class Params:
    """A request's parameters, each read once and typed; any left unread is refused."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        if not isinstance(data, dict):
            refuse(f"Invalid object: {prefix}", param=prefix)
        self.data = dict(data)
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def raw(self, key: str, required: bool = False) -> Any:
        value = self.data.pop(key, None)
        if value in (None, "") and required:
            refuse(f"Missing required param: {self.name(key)}.", code="parameter_missing")
        return None if value == "" else value

    def text(self, key: str, *, required: bool = False, max_length: int = 5000) -> str | None:
        value = self.raw(key, required)
        if value is not None and (not isinstance(value, str) or len(value) > max_length):
            refuse(f"{self.name(key)} must be a string of at most {max_length} characters.")
        return value

    def number(self, key: str, *, required: bool = False) -> Decimal | None:
        value = self.raw(key, required)
        try:
            return None if value is None else Decimal(str(value))
        except InvalidOperation:
            refuse(f"Invalid decimal: {value}", param=self.name(key))

    def whole(self, key: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        """A whole number, from an integer or a decimal string (``unit_amount_decimal``)."""
        value = self.number(key, required=required)
        if value is None:
            return None
        if value != value.to_integral_value():
            refuse(f"{self.name(key)}: fractional amounts are not supported here.")
        if minimum is not None and value < minimum:
            refuse(f"{self.name(key)} must be at least {minimum}.", param=self.name(key))
        return int(value)

    def flag(self, key: str) -> bool | None:
        value = self.raw(key)
        if value not in (None, True, False, "true", "false"):
            refuse(f"Invalid boolean: {value}", param=self.name(key))
        return value if value in (None, True, False) else value == "true"

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.raw(key, required)
        if value is not None and not isinstance(value, list):
            refuse(f"Invalid array: {self.name(key)}", param=self.name(key))
        return value or []

    def metadata(self) -> dict[str, str]:
        value = self.raw("metadata") or {}
        if not isinstance(value, dict) or len(value) > 50:
            refuse("metadata must be an object of at most 50 keys.", param=self.name("metadata"))
        for k, v in value.items():
            if len(k) > 40 or not isinstance(v, str) or len(v) > 500:
                refuse(f"Invalid metadata[{k}]: keys up to 40, values up to 500 characters.")
        return value

    def done(self) -> None:
        """Refuse what nobody read, as Stripe refuses an unknown parameter."""
        for key in self.data:
            refuse(
                f"Received unknown parameter: {self.name(key)}",
                code="parameter_unknown",
                param=self.name(key),
            )


COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def created_filter(value: Any) -> Callable[[Object], bool]:
    """``created`` as Stripe takes it: a Unix time, or bounds ``gt``/``gte``/``lt``/``lte``."""
    bounds = value if isinstance(value, dict) else {"eq": value}
    try:
        checks = [({"eq": operator.eq, **COMPARE}[k], int(v)) for k, v in bounds.items()]
    except (KeyError, ValueError):
        refuse(f"Invalid created: {value}", param="created")
    return lambda obj: all(compare(obj["created"], limit) for compare, limit in checks)


def vat(amount: int, rates: list[Object]) -> list[Object]:
    """A line's tax per (exclusive) rate, rounded half up, as on a Stripe invoice line."""
    return [
        {
            "amount": int(
                (amount * Decimal(str(rate["percentage"])) / 100).quantize(1, ROUND_HALF_UP)
            ),
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": rate["id"]},
            "taxability_reason": "standard_rated",
            "taxable_amount": amount,
            "type": "tax_rate_details",
        }
        for rate in rates
    ]


def totals(lines: list[Object]) -> tuple[int, list[Object], int]:
    """Subtotal, taxes per rate (``total_taxes``) and total of invoice or credit note lines."""
    by_rate: dict[str, Object] = {}
    for tax in (tax for line in lines for tax in line["taxes"]):
        rate = tax["tax_rate_details"]["tax_rate"]
        total = by_rate.setdefault(rate, {**tax, "amount": 0, "taxable_amount": 0})
        total["amount"] += tax["amount"]
        total["taxable_amount"] += tax["taxable_amount"]
    subtotal = sum(line["amount"] for line in lines)
    taxes = list(by_rate.values())
    return subtotal, taxes, subtotal + sum(t["amount"] for t in taxes)


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's signature: ``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Page(str):
    """An answer that is an HTML page rather than JSON."""


# ---- the state -----------------------------------------------------------------------------


@dataclass
class Webhook:
    id: str
    url: str
    secret: str
    events: list[str] | None  # None: every event

    def wants(self, event: Object) -> bool:
        return self.events is None or event["type"] in self.events


class LocalStripe:
    """Every object by id, as Stripe's JSON (keys starting with ``_`` are never shown)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.lock = threading.Lock()
        self.objects: dict[str, Object] = {}
        self.replies: dict[tuple[str, str], tuple[str, str, Answer]] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.deliveries: list[Object] = []
        self.outbox: queue.Queue[tuple[float, Object]] = queue.Queue()
        self.serial = itertools.count(1)
        threading.Thread(target=self._deliver_in_order, daemon=True).start()

    def new(self, prefix: str, kind: str, **fields: Any) -> Object:
        # Ids sort in creation order here (not at Stripe; nothing may rely on it).
        object_id = f"{prefix}_{next(self.serial):07d}{secrets.token_hex(4)}"
        obj = {"id": object_id, "object": kind, "created": int(time.time()), "livemode": False}
        self.objects[object_id] = obj | fields
        return self.objects[object_id]

    def get(self, kind: str, object_id: Any, param: str | None = None) -> Object:
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj["object"] != kind:
            label = kind.replace("_", " ")
            message = f"No such {label}: '{object_id}'"
            raise StripeError(message, 404, code="resource_missing", param=param)
        return obj

    def all(self, kind: str, **equal: Any) -> list[Object]:
        """Objects of a kind whose fields equal ``equal`` (None: any value), newest first."""
        return [
            o
            for o in reversed(self.objects.values())
            if o["object"] == kind and all(v is None or o.get(k) == v for k, v in equal.items())
        ]

    @staticmethod
    def shown(obj: Object) -> Object:
        return copy.deepcopy({k: v for k, v in obj.items() if not k.startswith("_")})

    # -- answering a request ---------------------------------------------------------------

    def answer(self, method: str, path: str, data: dict[str, Any], headers: Any) -> Answer:
        matches = ((h, m) for verb, p, h in ROUTES if verb == method and (m := p.match(path)))
        handler, match = next(matches, (None, None))
        if handler is None or match is None:
            return StripeError(f"Unrecognized request URL ({method}: {path}).", 404).answer()
        api_key = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if path.startswith("/v1/") and not api_key.startswith("sk_"):
            return StripeError("Invalid API Key provided: use a secret key (sk_…).", 401).answer()
        if handler is resend_event:  # it delivers over HTTP: never while holding the lock
            return self._run(handler, data, match)
        key = (
            headers.get("Idempotency-Key") if path.startswith("/v1/") and method == "POST" else None
        )
        request = (f"{method} {path}", json.dumps(data, sort_keys=True))
        with self.lock:
            if key and (api_key, key) in self.replies:
                return self._replay(request, *self.replies[(api_key, key)])
            answer = self._run(handler, data, match)
            if key and 200 <= answer[0] < 300:
                self.replies[(api_key, key)] = (*request, answer)
            return answer

    def _run(self, handler: Handler, data: dict[str, Any], match: re.Match[str]) -> Answer:
        try:
            return 200, handler(self, Params(data), **match.groupdict()), {}
        except StripeError as exc:
            return exc.answer()
        except Exception as exc:  # a bug here: say so as Stripe's 500s do, and do not retry
            traceback.print_exc()
            body = {"error": {"type": "api_error", "message": f"The local Stripe crashed: {exc!r}"}}
            return 500, body, {"Stripe-Should-Retry": "false"}

    @staticmethod
    def _replay(request: tuple[str, str], endpoint: str, params: str, saved: Answer) -> Answer:
        if request == (endpoint, params):
            return saved[0], saved[1], {"Idempotent-Replayed": "true"}
        if request[0] != endpoint:
            message = (
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{endpoint}' vs '{request[0]}')."
            )
        else:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with."
            )
        return 400, {"error": {"type": "idempotency_error", "message": message}}, {}

    # -- events and webhooks ---------------------------------------------------------------

    def emit(self, event_type: str, obj: Object) -> None:
        """Record an event (listed at once) and queue it for the webhooks."""
        data = {"object": self.shown(obj)}
        event = self.new("evt", "event", type=event_type, data=data, api_version=stripe.api_version)
        self.outbox.put((time.monotonic() + WEBHOOK_DELAY, self.shown(event)))

    def _deliver_in_order(self) -> None:
        while True:
            due, event = self.outbox.get()
            time.sleep(max(0.0, due - time.monotonic()))
            with self.lock:
                targets = [w for w in self.webhooks.values() if w.wants(event)]
            for webhook in targets:
                self.deliver(event, webhook, resend=False)

    def deliver(self, event: Object, webhook: Webhook, *, resend: bool) -> Object:
        """POST one event to one webhook now, freshly signed; the attempt is recorded."""
        payload = json.dumps(event, indent=2).encode()
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked on registration)
            webhook.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(payload, webhook.secret, int(time.time())),
            },
        )
        attempt: Object = {"event": event["id"], "type": event["type"], "webhook": webhook.id}
        attempt |= {"url": webhook.url, "resend": resend, "status": None, "error": None}
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                attempt |= {"status": response.status, "response": response.read().decode()}
        except urllib.error.HTTPError as exc:
            attempt |= {"status": exc.code, "response": exc.read().decode(errors="replace")}
        except OSError as exc:
            attempt["error"] = f"{type(exc).__name__}: {exc}"
        attempt["ok"] = attempt["status"] is not None and 200 <= attempt["status"] < 300
        with self.lock:
            self.deliveries.append(attempt)
        return attempt

    # -- invoices: money and transitions ---------------------------------------------------

    def recount(self, invoice: Object) -> Object:
        """An invoice's lines and totals from its items, credit notes, balance and payments."""
        lines = [
            {
                "id": item["_line"],
                "object": "line_item",
                "invoice": invoice["id"],
                "parent": {
                    "type": "invoice_item_details",
                    "invoice_item_details": {"invoice_item": item["id"]},
                },
                "taxes": vat(item["amount"], item["tax_rates"]),
                **{k: item[k] for k in ("amount", "currency", "description", "pricing")},
                **{k: copy.deepcopy(item[k]) for k in ("metadata", "quantity")},
            }
            for item in (self.objects[item_id] for item_id in invoice["_items"])
        ]
        subtotal, taxes, total = totals(lines)
        due = total - invoice["_balance_applied"] - invoice["pre_payment_credit_notes_amount"]
        invoice |= {
            "lines": {"object": "list", "data": lines, "has_more": False, "url": "/v1/invoices"},
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "total_taxes": taxes,
            "total": total,
            "total_excluding_tax": subtotal,
            "amount_due": max(0, due),
            "amount_remaining": 0
            if invoice["status"] == "void"
            else max(0, due) - invoice["amount_paid"],
        }
        return invoice

    def finalize(self, invoice: Object) -> None:
        """Draft → open: numbered, due ``days_until_due`` from now, the customer's credit used."""
        customer = self.objects[invoice["customer"]]
        now = int(time.time())
        invoice["number"] = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        invoice["status_transitions"]["finalized_at"] = now
        invoice["due_date"] = now + invoice["_days_until_due"] * DAY
        invoice["starting_balance"] = customer["balance"]
        if customer["balance"] < 0:
            invoice["_balance_applied"] = min(-customer["balance"], self.recount(invoice)["total"])
            customer["balance"] += invoice["_balance_applied"]
        invoice["ending_balance"] = customer["balance"]
        invoice["hosted_invoice_url"] = f"{self.base_url}/_test/invoices/{invoice['id']}/hosted"
        invoice["status"] = "open"
        self.emit("invoice.finalized", self.recount(invoice))
        if invoice["amount_due"] == 0:
            self.paid(invoice, 0, through_stripe=True)

    def paid(self, invoice: Object, amount: int, *, through_stripe: bool) -> None:
        """Paid in full: ``invoice.paid``, and ``invoice.payment_succeeded`` if Stripe took it."""
        invoice["amount_paid"] += amount
        invoice["status"] = "paid"
        invoice["status_transitions"]["paid_at"] = int(time.time())
        self.emit("invoice.paid", self.recount(invoice))
        if through_stripe:
            self.emit("invoice.payment_succeeded", invoice)

    def invoice(
        self, invoice_id: Any, *, status: str, action: str, param: str | None = None
    ) -> Object:
        """An invoice in ``status``, or Stripe's refusal to ``action`` it."""
        invoice = self.get("invoice", invoice_id, param)
        if invoice["status"] != status:
            message = f"You can only {action} {status} invoices; {invoice['id']} is"
            refuse(f"{message} {invoice['status']}.", code="invoice_not_editable")
        return invoice


# ---- the routes ----------------------------------------------------------------------------

Handler = Callable[..., Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register ``handler(stripe, params, **ids)`` for ``path`` ({name} matches one segment)."""
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, pattern, handler))
        return handler

    return register


# What can be listed (newest first) and by what, and what can be retrieved, by URL.
LISTS = {
    "customers": ("customer", ("email",)),
    "tax_rates": ("tax_rate", ()),
    "invoices": ("invoice", ("customer",)),
    "invoiceitems": ("invoiceitem", ("invoice",)),
    "credit_notes": ("credit_note", ("invoice",)),
    "events": ("event", ()),
}
RETRIEVABLE = {"customers": "customer", "invoices": "invoice", "credit_notes": "credit_note"}


@route("GET", "/v1/{kind}")
def list_objects(stripe: LocalStripe, p: Params, kind: str) -> Object:
    """One page of a list: ``limit`` (1-100, default 10) after ``starting_after``."""
    if kind not in LISTS:
        raise StripeError(f"Unrecognized request URL (GET: /v1/{kind}).", 404)
    object_name, filters = LISTS[kind]
    found = stripe.all(object_name, **{name: p.text(name) for name in filters})
    if kind in ("invoices", "events") and (created := p.raw("created")) is not None:
        found = list(filter(created_filter(created), found))
    if kind == "events" and (wanted := p.text("type")):  # invoice.* for every invoice event
        found = [
            e for e in found if re.fullmatch(re.escape(wanted).replace(r"\*", ".*"), e["type"])
        ]
    if kind == "events" and (types := p.items("types")):
        found = [e for e in found if e["type"] in types]
    limit = min(p.whole("limit", minimum=1) or 10, 100)
    after = p.text("starting_after")
    p.done()
    start = 0
    if after is not None:
        ids = [o["id"] for o in found]
        if after not in ids:
            raise StripeError(f"No such object: '{after}'", code="resource_missing")
        start = ids.index(after) + 1
    return {
        "object": "list",
        "data": [stripe.shown(o) for o in found[start : start + limit]],
        "has_more": len(found) > start + limit,
        "url": f"/v1/{kind}",
    }


@route("GET", "/v1/{kind}/{id}")
def retrieve(stripe: LocalStripe, p: Params, kind: str, id: str) -> Object:
    p.done()
    if kind not in RETRIEVABLE:
        raise StripeError(f"Unrecognized request URL (GET: /v1/{kind}/{id}).", 404)
    return stripe.shown(stripe.get(RETRIEVABLE[kind], id))


@route("POST", "/v1/customers")
def create_customer(stripe: LocalStripe, p: Params) -> Object:
    fields = {
        "name": p.text("name", max_length=256),
        "email": p.text("email", max_length=512),
        "metadata": p.metadata(),
        "preferred_locales": p.items("preferred_locales"),
    }
    p.done()
    used = {c["invoice_prefix"] for c in stripe.all("customer")}
    prefix = ""
    while not prefix or prefix in used:
        prefix = "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))
    customer = stripe.new(
        "cus", "customer", balance=0, invoice_prefix=prefix, next_invoice_sequence=1, **fields
    )
    return stripe.shown(customer)


@route("POST", "/v1/tax_rates")
def create_tax_rate(stripe: LocalStripe, p: Params) -> Object:
    fields = {
        "display_name": p.text("display_name", required=True, max_length=50),
        "percentage": float(p.number("percentage", required=True) or 0),
        "inclusive": p.flag("inclusive"),
        "country": p.text("country"),
        "tax_type": p.text("tax_type"),
        "metadata": p.metadata(),
    }
    p.done()
    if fields["inclusive"] is not False:
        refuse("Only exclusive tax rates (inclusive=false) are supported here.", param="inclusive")
    return stripe.shown(stripe.new("txr", "tax_rate", active=True, **fields))


@route("POST", "/v1/invoices")
def create_invoice(stripe: LocalStripe, p: Params) -> Object:
    """A draft ``send_invoice`` invoice, due ``days_until_due`` days after finalizing."""
    customer = stripe.get("customer", p.text("customer", required=True), "customer")
    if p.text("collection_method", required=True) != "send_invoice":
        refuse("Only collection_method=send_invoice is supported here.", param="collection_method")
    days = p.whole("days_until_due", minimum=0)
    if days is None:
        message = "Invoices with collection_method=send_invoice need days_until_due."
        refuse(message, code="parameter_missing", param="days_until_due")
    currency = (p.text("currency") or "gbp").lower()
    if not re.fullmatch("[a-z]{3}", currency):
        refuse(f"Invalid currency: {currency}", param="currency")
    if p.text("pending_invoice_items_behavior") not in (None, "exclude"):
        refuse("Only pending_invoice_items_behavior=exclude is supported here.")
    custom_fields = []
    for index, entry in enumerate(p.items("custom_fields")):
        field = Params(entry, f"custom_fields[{index}]")
        name = field.text("name", required=True, max_length=40)
        custom_fields.append(
            {"name": name, "value": field.text("value", required=True, max_length=140)}
        )
        field.done()
    if len(custom_fields) > 4:
        refuse("An invoice can have at most 4 custom fields.", param="custom_fields")
    fields = {
        "description": p.text("description", max_length=1500),
        "footer": p.text("footer"),
        "metadata": p.metadata(),
        "auto_advance": bool(p.flag("auto_advance")),
    }
    p.done()
    invoice = stripe.new(
        "in",
        "invoice",
        customer=customer["id"],
        collection_method="send_invoice",
        currency=currency,
        custom_fields=custom_fields or None,
        status="draft",
        due_date=int(time.time()) + days * DAY,
        attempted=False,
        starting_balance=customer["balance"],
        status_transitions=dict.fromkeys(("finalized_at", "paid_at", "voided_at")),
        **dict.fromkeys(("number", "hosted_invoice_url", "ending_balance")),
        **dict.fromkeys(("amount_paid", "attempt_count"), 0),
        **dict.fromkeys(("pre_payment_credit_notes_amount", "post_payment_credit_notes_amount"), 0),
        _days_until_due=days,
        _items=[],
        _balance_applied=0,
        **fields,
    )
    stripe.emit("invoice.created", stripe.recount(invoice))
    return stripe.shown(invoice)


@route("POST", "/v1/invoices/{id}/finalize")
def finalize_invoice(stripe: LocalStripe, p: Params, id: str) -> Object:
    invoice = stripe.get("invoice", id)
    auto_advance = p.flag("auto_advance")
    p.done()
    if invoice["status"] != "draft":
        refuse("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
    invoice["auto_advance"] = invoice["auto_advance"] if auto_advance is None else auto_advance
    stripe.finalize(invoice)
    return stripe.shown(invoice)


@route("POST", "/v1/invoices/{id}/send")
def send_invoice(stripe: LocalStripe, p: Params, id: str) -> Object:
    """Email the invoice (nothing is emailed here): ``invoice.sent``; a draft is finalized."""
    p.done()
    invoice = stripe.get("invoice", id)
    if invoice["status"] == "void":
        refuse("This invoice is void and can no longer be sent.")
    if not stripe.objects[invoice["customer"]]["email"]:
        refuse("The customer has no email address, so the invoice cannot be sent.")
    if invoice["status"] == "draft":
        stripe.finalize(invoice)
    stripe.emit("invoice.sent", invoice)
    return stripe.shown(invoice)


@route("POST", "/v1/invoices/{id}/void")
def void_invoice(stripe: LocalStripe, p: Params, id: str) -> Object:
    p.done()
    invoice = stripe.invoice(id, status="open", action="void")
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = int(time.time())
    stripe.emit("invoice.voided", stripe.recount(invoice))
    return stripe.shown(invoice)


@route("POST", "/v1/invoices/{id}/pay")
def pay_invoice(stripe: LocalStripe, p: Params, id: str) -> Object:
    """Record a payment made outside Stripe (a cheque; a transfer noted by hand)."""
    if p.flag("paid_out_of_band") is not True:
        refuse("Only paid_out_of_band=true is supported here (there are no cards).")
    p.done()
    invoice = stripe.get("invoice", id)
    if invoice["status"] in ("paid", "void"):
        refuse(f"Invoice is already {invoice['status']}.")
    if invoice["status"] == "draft":
        stripe.finalize(invoice)  # as Stripe does; a zero invoice is paid by finalizing
    if invoice["status"] == "open":
        stripe.paid(invoice, invoice["amount_remaining"], through_stripe=False)
    return stripe.shown(invoice)


def priced(item: Object, p: Params, *, required: bool) -> Object:
    """The item with ``unit_amount_decimal``, ``quantity`` and ``description`` applied."""
    unit = p.whole("unit_amount_decimal", required=required)
    quantity = p.whole("quantity", minimum=0)
    description = p.text("description", max_length=500)
    item = dict(item)
    if unit is not None:
        item["pricing"] = {"type": "price_details", "unit_amount_decimal": str(unit)}
    item["quantity"] = item["quantity"] if quantity is None else quantity
    item["description"] = item["description"] if description is None else description
    item["amount"] = int(item["pricing"]["unit_amount_decimal"]) * item["quantity"]
    if abs(item["amount"]) > MAX_AMOUNT:
        refuse(f"Amount must be no more than {MAX_AMOUNT} (in pence).", param="unit_amount_decimal")
    return item


@route("POST", "/v1/invoiceitems")
def create_invoice_item(stripe: LocalStripe, p: Params) -> Object:
    """A line on a draft invoice: ``unit_amount_decimal`` × ``quantity``, with tax rates."""
    invoice = stripe.invoice(
        p.text("invoice", required=True), status="draft", action="add items to", param="invoice"
    )
    if p.text("customer", required=True) != invoice["customer"]:
        refuse("The invoice belongs to another customer.", param="customer")
    if p.text("currency", required=True) != invoice["currency"]:
        refuse("The item's currency must be the invoice's.", param="currency")
    rates = [stripe.get("tax_rate", r, "tax_rates") for r in p.items("tax_rates")]
    fields = priced({"quantity": 1, "description": None}, p, required=True)
    metadata = p.metadata()
    p.done()
    item = stripe.new(
        "ii",
        "invoiceitem",
        customer=invoice["customer"],
        invoice=invoice["id"],
        currency=invoice["currency"],
        metadata=metadata,
        tax_rates=copy.deepcopy(rates),
        _line=f"il_{secrets.token_hex(7)}",
        **fields,
    )
    invoice["_items"].append(item["id"])
    stripe.recount(invoice)
    return stripe.shown(item)


@route("POST", "/v1/invoiceitems/{id}")
def update_invoice_item(stripe: LocalStripe, p: Params, id: str) -> Object:
    item = stripe.get("invoiceitem", id)
    invoice = stripe.invoice(item["invoice"], status="draft", action="change the items of")
    changed = priced(item, p, required=False)
    p.done()
    item |= changed
    stripe.recount(invoice)
    return stripe.shown(item)


@route("POST", "/v1/credit_notes")
def create_credit_note(stripe: LocalStripe, p: Params) -> Object:
    """Credit an open or paid invoice: off what is still due first; the rest to the balance."""
    invoice = stripe.get("invoice", p.text("invoice", required=True), "invoice")
    if invoice["status"] not in ("open", "paid"):
        refuse(
            f"Credit notes need an open or paid invoice; {invoice['id']} is {invoice['status']}."
        )
    lines = []
    for index, entry in enumerate(p.items("lines", required=True)):
        line = Params(entry, f"lines[{index}]")
        if line.text("type", required=True) != "custom_line_item":
            refuse("Only custom_line_item credit note lines are supported here.")
        amount = line.whole("unit_amount", required=True, minimum=1) or 0
        amount *= line.whole("quantity", minimum=1) or 1
        rates = [stripe.get("tax_rate", r, line.name("tax_rates")) for r in line.items("tax_rates")]
        description = line.text("description", max_length=500)
        line.done()
        lines.append(
            {
                "id": f"cnli_{secrets.token_hex(7)}",
                "object": "credit_note_line_item",
                "type": "custom_line_item",
                "description": description,
                "amount": amount,
                "tax_rates": copy.deepcopy(rates),
                "taxes": vat(amount, rates),
            }
        )
    credit_amount = p.whole("credit_amount", minimum=0) or 0
    fields = {"reason": p.text("reason"), "memo": p.text("memo"), "metadata": p.metadata()}
    p.done()
    if fields["reason"] not in (None, *CREDIT_NOTE_REASONS):
        refuse(f"Invalid reason: must be one of {', '.join(CREDIT_NOTE_REASONS)}.", param="reason")
    subtotal, taxes, total = totals(lines)
    issued = stripe.all("credit_note", invoice=invoice["id"])
    left = invoice["total"] - sum(n["total"] for n in issued)
    if total > left:
        refuse(
            f"The credit note total ({total}) is more than the invoice has left to credit ({left})."
        )
    before = min(total, invoice["amount_remaining"]) if invoice["status"] == "open" else 0
    if credit_amount != total - before:
        message = f"The post-payment part of this credit note is {total - before}"
        refuse(f"{message}: credit_amount must be exactly that (got {credit_amount}).")
    note = stripe.new(
        "cn",
        "credit_note",
        invoice=invoice["id"],
        customer=invoice["customer"],
        currency=invoice["currency"],
        number=f"{invoice['number']}-CN-{len(issued) + 1:02d}",
        status="issued",
        type="post_payment" if not before else "mixed" if credit_amount else "pre_payment",
        lines={"object": "list", "data": lines, "has_more": False, "url": "/v1/credit_notes"},
        subtotal=subtotal,
        total_taxes=taxes,
        total=total,
        amount=total,
        pre_payment_amount=before,
        post_payment_amount=credit_amount,
        **fields,
    )
    invoice["pre_payment_credit_notes_amount"] += before
    invoice["post_payment_credit_notes_amount"] += credit_amount
    stripe.objects[invoice["customer"]]["balance"] -= credit_amount
    stripe.recount(invoice)
    stripe.emit("credit_note.created", note)
    if invoice["status"] == "open" and invoice["amount_remaining"] == 0:
        stripe.paid(invoice, 0, through_stripe=False)
    return stripe.shown(note)


# ---- test helpers: the school, the bank and the webhooks (no API key) ------------------------


@route("POST", "/_test/invoices/{id}/bank_transfer")
def bank_transfer(stripe: LocalStripe, p: Params, id: str) -> Object:
    """Stripe matches the transfer (referencing the number) to the invoice, and it is paid."""
    p.done()
    invoice = stripe.invoice(id, status="open", action="pay by bank transfer")
    stripe.paid(invoice, invoice["amount_remaining"], through_stripe=True)
    return stripe.shown(invoice)


@route("POST", "/_test/invoices/{id}/fail_payment")
def fail_payment(stripe: LocalStripe, p: Params, id: str) -> Object:
    p.done()
    invoice = stripe.invoice(id, status="open", action="fail a payment on")
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    stripe.emit("invoice.payment_failed", invoice)
    return stripe.shown(invoice)


@route("POST", "/_test/invoices/{id}/overdue")
def overdue(stripe: LocalStripe, p: Params, id: str) -> Object:
    p.done()
    invoice = stripe.invoice(id, status="open", action="make overdue")
    stripe.emit("invoice.overdue", invoice)
    return stripe.shown(invoice)


@route("GET", "/_test/invoices/{id}/hosted")
def hosted_invoice(stripe: LocalStripe, p: Params, id: str) -> Page:
    """Number, PO and other custom fields, lines, VAT and what is due, in plain HTML."""
    p.done()
    invoice = stripe.get("invoice", id)
    if invoice["status"] == "draft":
        raise StripeError("A draft invoice has no hosted page.", 404)
    esc = html.escape
    due = time.strftime("%d %B %Y", time.gmtime(invoice["due_date"]))
    facts = [("Billed to", stripe.objects[invoice["customer"]]["name"] or ""), ("Due", due)]
    facts += [(f["name"], f["value"]) for f in invoice["custom_fields"] or []]
    rows = [(line["description"] or "", line["amount"]) for line in invoice["lines"]["data"]]
    rows += [("VAT", t["amount"]) for t in invoice["total_taxes"]]
    rows += [("Total", invoice["total"]), ("Amount due", invoice["amount_remaining"])]
    return Page(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{esc(invoice['number'])}"
        f"</title><h1>Invoice {esc(invoice['number'])}</h1><p>{esc(invoice['status'])}</p><dl>"
        + "".join(f"<dt>{esc(k)}<dd>{esc(v)}" for k, v in facts)
        + f"</dl><p>{esc(invoice['description'] or '')}</p><table>"
        + "".join(f"<tr><td>{esc(d)}<td>£{pence / 100:,.2f}" for d, pence in rows)
        + f"</table><footer>{esc(invoice['footer'] or '')}</footer></html>"
    )


@route("POST", "/_test/events/{id}/resend")
def resend_event(stripe: LocalStripe, p: Params, id: str) -> Object:
    p.done()
    with stripe.lock:
        event = stripe.shown(stripe.get("event", id))
        targets = [w for w in stripe.webhooks.values() if w.wants(event)]
    attempts = [stripe.deliver(event, webhook, resend=True) for webhook in targets]
    return {"object": "list", "data": attempts, "has_more": False}


@route("GET", "/_test/webhook_deliveries")
def webhook_deliveries(stripe: LocalStripe, p: Params) -> Object:
    event, webhook = p.text("event"), p.text("webhook")
    p.done()
    attempts = [
        a
        for a in stripe.deliveries
        if event in (None, a["event"]) and webhook in (None, a["webhook"])
    ]
    return {"object": "list", "data": attempts, "has_more": False}


@route("POST", "/_config/webhooks/{id}")
def register_webhook(stripe: LocalStripe, p: Params, id: str) -> Object:
    url = p.text("url", required=True) or ""
    webhook = Webhook(id, url, p.text("secret", required=True) or "", p.items("events") or None)
    p.done()
    if not url.startswith(("http://", "https://")):
        refuse("url must be an http(s) URL.", param="url")
    stripe.webhooks[id] = webhook
    return {"id": id, "url": url, "events": webhook.events}


@route("DELETE", "/_config/webhooks/{id}")
def unregister_webhook(stripe: LocalStripe, p: Params, id: str) -> Object:
    p.done()
    if stripe.webhooks.pop(id, None) is None:
        raise StripeError(f"No such webhook: '{id}'", 404)
    return {"id": id, "deleted": True}


# ---- HTTP and the command line --------------------------------------------------------------


class RequestHandler(BaseHTTPRequestHandler):
    """Form-encoded (the SDK) or JSON (the test helpers) in; JSON or HTML out."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's session expects
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    server: Server

    def handle_request(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if body and self.headers.get_content_type() == "application/json":
            data = json.loads(body)
        else:
            data = unflatten(parse_qsl(url.query, keep_blank_values=True))
            data |= unflatten(parse_qsl(body, keep_blank_values=True))
        status, answer, headers = self.server.stripe.answer(
            self.command, url.path, data, self.headers
        )
        if isinstance(answer, Page):
            content, kind = answer.encode(), "text/html; charset=utf-8"
        else:
            content, kind = json.dumps(answer, indent=2).encode(), "application/json"
        self.send_response(status)
        for name, value in {"Content-Type": kind, **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_DELETE = handle_request  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    """The local Stripe on 127.0.0.1:``port`` (0: a free port); its address is ``url``."""

    daemon_threads = True

    def __init__(self, port: int = 0, *, quiet: bool = False) -> None:
        super().__init__((HOST, port), RequestHandler)
        self.url = f"http://{HOST}:{self.server_address[1]}"
        self.stripe = LocalStripe(self.url)
        self.quiet = quiet

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def serve_in_thread() -> Server:
    """A quiet server on a free port, serving from a daemon thread until ``stop()``."""
    server = Server(quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.localstripe_server --port N``: serve until SIGTERM or ^C."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.localstripe_server",
        description="A local Stripe for Pooled's billing (test-only), on 127.0.0.1.",
        epilog="Test helpers (no API key):" + TEST_ROUTES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    port = parser.parse_args(argv).port
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Server(port) as server:
        print(f"local Stripe listening on {server.url}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
