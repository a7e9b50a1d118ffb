"""A local Stripe for tests: localstripe 1.15.10 extended with what Pooled's billing needs.

Test-only. localstripe is GPL: nothing under ``app/``, ``marketplace/`` or ``procurement/``
may import this module or localstripe. Importing this module patches localstripe in place.

What it adds to localstripe (see tests/support/README-localstripe.md):

- Prices (``/v1/prices``), products with ``default_price_data``, tax rates with country/type;
- one-off invoices as the current API makes them: ``collection_method=send_invoice`` with
  ``days_until_due`` or ``due_date``, ``custom_fields`` (the PO number), ``description``,
  ``footer``, ``metadata``; finalize, send, pay (card, customer cash balance or
  ``paid_out_of_band``), void, mark_uncollectible, delete; invoice items priced by ``amount``,
  ``pricing[price]``, ``price_data`` or ``unit_amount_decimal`` with quantities and tax rates;
- the ``fund_cash_balance`` test helper (a simulated bank transfer, reconciled to the invoice
  whose number is the transfer's reference) and ``/_test/...`` helpers: failed payment, overdue,
  bank transfer, re-sending an event, the list of webhook deliveries, a hosted invoice page;
- ``Idempotency-Key`` replay, newest-first lists with ``created`` filters and both cursors,
  ``/v1/events`` filtered by ``type``/``types``/``created``;
- webhook delivery signed like Stripe (``Stripe-Signature: t=<now>,v1=<HMAC-SHA256>``), queued
  in order, recorded, and re-sendable.

Command line::

    python -m tests.support.localstripe_server --port 8420 [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import html
import json
import logging
import os
import random
import re
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

with warnings.catch_warnings():
    # localstripe registers plain functions as handlers on its own (unused) app.
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources as ls
    from localstripe import server as ls_server
    from localstripe import webhooks as ls_webhooks
    from localstripe.errors import UserError

log = logging.getLogger("localstripe.pooled")

SDK_API_VERSION = "2026-10-28.endive"  # the version stripe 16.1.0 pins and sends
DEFAULT_CURRENCY = "gbp"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8420
REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_AMOUNT = 99_999_999  # Stripe's limit for GBP amounts: £999,999.99
SECONDS_PER_DAY = 86_400
LINES_ON_INVOICE = 10  # an invoice carries its first 10 lines; the rest via /lines


# --------------------------------------------------------------------------------------
# Settings, per-request context and shared state
# --------------------------------------------------------------------------------------


@dataclass
class Settings:
    """Server-wide settings taken from the command line."""

    currency: str = DEFAULT_CURRENCY
    webhook_delay: float = 0.2
    api_version: str = SDK_API_VERSION


SETTINGS = Settings()


@dataclass
class _RequestContext:
    request_id: str | None
    idempotency_key: str | None
    api_version: str
    origin: str


_context: contextvars.ContextVar[_RequestContext | None] = contextvars.ContextVar(
    "localstripe_request", default=None
)


@dataclass
class _SavedResponse:
    method: str
    path: str
    params: str
    status: int
    body: bytes
    request_id: str


@dataclass
class _State:
    idempotency: dict[tuple[str, str], _SavedResponse] = field(default_factory=dict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    def clear(self) -> None:
        self.idempotency.clear()
        self.in_flight.clear()


STATE = _State()


def _now() -> int:
    return int(time.time())


def _origin() -> str:
    ctx = _context.get()
    return ctx.origin if ctx else f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


# --------------------------------------------------------------------------------------
# Errors and parameters
# --------------------------------------------------------------------------------------


def _fail(status: int, message: str, *, code: str | None = None, param: str | None = None):
    """Raise a Stripe-shaped error: {"error": {"type", "message", "code", "param"}}."""
    contents: dict[str, Any] = {}
    if code:
        contents["code"] = code
    if param:
        contents["param"] = param
    raise UserError(status, message, contents)


def _unsupported(param: str, what: str = "") -> None:
    _fail(
        400,
        f"The local Stripe server does not support `{param}`{what}. "
        "Extend tests/support/localstripe_server.py if billing needs it.",
        param=param,
    )


class Params:
    """Request parameters, popped one by one with validation; leftovers are an error."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        if data is None or data == "":
            data = {}
        if not isinstance(data, dict):
            _fail(400, f"Invalid object: {prefix or 'request body'}", param=prefix or None)
        self._data: dict[str, Any] = dict(data)
        self._prefix = prefix

    def name(self, key: str) -> str:
        return f"{self._prefix}[{key}]" if self._prefix else key

    def has(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str) -> Any:
        return self._data.pop(key, None)

    def missing(self, key: str) -> None:
        _fail(
            400,
            f"Missing required param: {self.name(key)}.",
            code="parameter_missing",
            param=self.name(key),
        )

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        choices: Iterable[str] | None = None,
        blank: bool = False,
    ) -> str | None:
        """A string; "" means "unset" and comes back as "" only when ``blank`` is true."""
        value = self._data.pop(key, None)
        if value is None or (value == "" and not blank):
            if required:
                self.missing(key)
            return None
        if not isinstance(value, str):
            _fail(400, f"Invalid string: {self.name(key)}", param=self.name(key))
        if max_length is not None and len(value) > max_length:
            _fail(
                400,
                f"{self.name(key)} must be at most {max_length} characters long.",
                param=self.name(key),
            )
        if choices is not None and value != "" and value not in choices:
            allowed = ", ".join(choices)
            _fail(
                400,
                f"Invalid {self.name(key)}: must be one of {allowed}",
                param=self.name(key),
            )
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._data.pop(key, None)
        if value is None or value == "":
            if required:
                self.missing(key)
            return None
        if isinstance(value, bool):
            value = str(value)
        try:
            number = int(value)
        except (TypeError, ValueError):
            _fail(
                400,
                f"Invalid integer: {value}",
                code="parameter_invalid_integer",
                param=self.name(key),
            )
        if minimum is not None and number < minimum:
            _fail(400, f"{self.name(key)} must be at least {minimum}.", param=self.name(key))
        if maximum is not None and number > maximum:
            _fail(400, f"{self.name(key)} must be at most {maximum}.", param=self.name(key))
        return number

    def whole_decimal(self, key: str) -> int | None:
        """A decimal string that must be a whole number (fractional pence are not supported)."""
        value = self._data.pop(key, None)
        if value is None or value == "":
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            _fail(400, f"Invalid decimal: {value}", param=self.name(key))
        if number != number.to_integral_value():
            _unsupported(self.name(key), " with a fractional value")
        return int(number)

    def boolean(self, key: str) -> bool | None:
        value = self._data.pop(key, None)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        _fail(400, f"Invalid boolean: {value}", param=self.name(key))

    def mapping(self, key: str) -> dict[str, Any] | None:
        """A nested object, or {} when explicitly emptied with ""."""
        value = self._data.pop(key, None)
        if value is None:
            return None
        if value == "":
            return {}
        if not isinstance(value, dict):
            _fail(400, f"Invalid object: {self.name(key)}", param=self.name(key))
        return value

    def sequence(self, key: str) -> list[Any] | None:
        """A list, or [] when explicitly emptied with ""."""
        value = self._data.pop(key, None)
        if value is None:
            return None
        if value == "":
            return []
        if isinstance(value, dict) and all(k.isdigit() for k in value):
            value = [value[k] for k in sorted(value, key=int)]
        if not isinstance(value, list):
            _fail(400, f"Invalid array: {self.name(key)}", param=self.name(key))
        return value

    def strings(self, key: str) -> list[str] | None:
        values = self.sequence(key)
        if values is not None and not all(isinstance(v, str) and v for v in values):
            _fail(400, f"Invalid array of strings: {self.name(key)}", param=self.name(key))
        return values

    def metadata(self, key: str = "metadata") -> dict[str, str] | None:
        """Metadata as Stripe validates it; a value of "" asks to remove that key."""
        value = self.mapping(key)
        if value is None:
            return None
        if len(value) > 50:
            _fail(400, "Metadata can have at most 50 keys.", param=self.name(key))
        for k, v in value.items():
            if len(k) > 40 or "[" in k or "]" in k:
                _fail(
                    400,
                    f"Invalid metadata key {k!r}: at most 40 characters, no brackets.",
                    param=f"{self.name(key)}[{k}]",
                )
            if not isinstance(v, str) or len(v) > 500:
                _fail(
                    400,
                    f"Invalid metadata value for {k!r}: a string of at most 500 characters.",
                    param=f"{self.name(key)}[{k}]",
                )
        return value

    def currency(self, key: str = "currency", *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            _fail(400, f"Invalid currency: {value}", param=self.name(key))
        return value.lower()

    def finish(self) -> None:
        """Refuse any parameter nobody consumed, as Stripe does."""
        if self._data:
            key = next(iter(self._data))
            _fail(
                400,
                f"Received unknown parameter: {self.name(key)}",
                code="parameter_unknown",
                param=self.name(key),
            )


def _apply_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    if update is None:
        return current
    if not update:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _fresh_metadata(value: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (value or {}).items() if v != ""}


def _check_amount(amount: int, param: str) -> None:
    if abs(amount) > MAX_AMOUNT:
        _fail(400, f"{param} must be no more than {MAX_AMOUNT} (in pence).", param=param)


# --------------------------------------------------------------------------------------
# Store look-ups, lists, pagination and expansion
# --------------------------------------------------------------------------------------

_OBJECT_BY_PREFIX = {
    "cus_": "customer",
    "in_": "invoice",
    "ii_": "invoiceitem",
    "price_": "price",
    "prod_": "product",
    "txr_": "tax_rate",
    "pi_": "payment_intent",
    "ch_": "charge",
    "pm_": "payment_method",
    "evt_": "event",
    "ccsbtxn_": "customer_cash_balance_transaction",
    "cn_": "credit_note",
}


def _retrieve(object_name: str, object_id: Any, param: str | None = None) -> Any:
    """Load an object by id or raise Stripe's 404 ``No such <object>: '<id>'``."""
    obj = ls.store.get(f"{object_name}:{object_id}") if isinstance(object_id, str) else None
    if obj is None:
        label = object_name.replace("_", " ")
        _fail(404, f"No such {label}: '{object_id}'", code="resource_missing", param=param)
    return obj


def _all(object_name: str) -> list[Any]:
    """Every stored object of a kind, newest first (the store keeps creation order)."""
    prefix = object_name + ":"
    return [obj for key, obj in reversed(ls.store.items()) if key.startswith(prefix)]


def _created_matcher(value: Any, param: str) -> Callable[[int], bool]:
    """A predicate for ``created``-style filters: an exact timestamp or {gt,gte,lt,lte}."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            exact = int(value)
        except ValueError:
            _fail(400, f"Invalid integer: {value}", param=param)
        return lambda ts: ts == exact
    if not isinstance(value, dict):
        _fail(400, f"Invalid {param}", param=param)
    bounds = Params(value, prefix=param)
    gt, gte = bounds.integer("gt"), bounds.integer("gte")
    lt, lte = bounds.integer("lt"), bounds.integer("lte")
    bounds.finish()

    def matches(ts: int) -> bool:
        return (
            (gt is None or ts > gt)
            and (gte is None or ts >= gte)
            and (lt is None or ts < lt)
            and (lte is None or ts <= lte)
        )

    return matches


def _list_page(url: str, objects: list[Any], params: Params) -> dict[str, Any]:
    """One page of a Stripe list: ``limit`` (1-100), ``starting_after`` or ``ending_before``."""
    limit = params.integer("limit", minimum=1, maximum=100) or 10
    starting_after = params.string("starting_after")
    ending_before = params.string("ending_before")
    params.finish()
    if starting_after and ending_before:
        _fail(
            400,
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    ids = [obj.id for obj in objects]
    if starting_after is not None:
        if starting_after not in ids:
            _fail(
                400,
                f"No such object: '{starting_after}'",
                code="resource_missing",
                param="starting_after",
            )
        start = ids.index(starting_after) + 1
        chunk = objects[start : start + limit]
        has_more = len(objects) > start + limit
    elif ending_before is not None:
        if ending_before not in ids:
            _fail(
                400,
                f"No such object: '{ending_before}'",
                code="resource_missing",
                param="ending_before",
            )
        end = ids.index(ending_before)
        start = max(0, end - limit)
        chunk = objects[start:end]
        has_more = start > 0
    else:
        chunk = objects[:limit]
        has_more = len(objects) > limit
    return {
        "object": "list",
        "data": [obj._export() for obj in chunk],
        "has_more": has_more,
        "url": url,
    }


def _expand(value: Any, path: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _expand(item, path)
        return
    if not isinstance(value, dict) or not path:
        return
    key, rest = path[0], path[1:]
    if key not in value:
        _fail(400, f"This property cannot be expanded ({key}).", param="expand")
    target = value[key]
    if isinstance(target, str):
        object_name = next(
            (name for prefix, name in _OBJECT_BY_PREFIX.items() if target.startswith(prefix)),
            None,
        )
        if object_name is None:
            _fail(400, f"This property cannot be expanded ({key}).", param="expand")
        target = _retrieve(object_name, target)._export()
        value[key] = target
    if rest and target is not None:
        _expand(target, rest)


# --------------------------------------------------------------------------------------
# Events and webhook delivery
# --------------------------------------------------------------------------------------

_original_event_init = ls.Event.__init__


def _event_init(self: ls.Event, type: str, data: Any) -> None:
    _original_event_init(self, type, data)
    ctx = _context.get()
    self.api_version = ctx.api_version if ctx else SETTINGS.api_version
    self.request = {
        "id": ctx.request_id if ctx else None,
        "idempotency_key": ctx.idempotency_key if ctx else None,
    }
    self.pending_webhooks = 0


ls.Event.__init__ = _event_init


@dataclass
class WebhookEndpoint:
    """Where events are delivered, signed with ``secret``; ``events`` None or "*" means all."""

    id: str
    url: str
    secret: str
    events: list[str] | None

    def wants(self, event_type: str) -> bool:
        return self.events is None or "*" in self.events or event_type in self.events

    def export(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": self.events}


def sign_payload(payload: str, secret: str, timestamp: int) -> str:
    """Stripe's scheme: ``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>``."""
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookDispatcher:
    """Delivers events to registered endpoints in creation order, after a short delay."""

    def __init__(self) -> None:
        self.endpoints: dict[str, WebhookEndpoint] = {}
        self.deliveries: list[dict[str, Any]] = []
        self._queue: asyncio.Queue[tuple[float, str, list[str]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def schedule(self, event: ls.Event) -> None:
        """Queue an event for every endpoint that wants it (localstripe calls this too)."""
        targets = [e.id for e in self.endpoints.values() if e.wants(event.type)]
        event.pending_webhooks = len(targets)
        if targets and self._queue is not None:
            due = time.monotonic() + SETTINGS.webhook_delay
            self._queue.put_nowait((due, event.id, targets))

    async def start(self, _app: web.Application) -> None:
        self._queue = asyncio.Queue()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._task = asyncio.create_task(self._run())

    async def stop(self, _app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    def drain(self) -> None:
        """Forget queued deliveries (used when the store is flushed)."""
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            due, event_id, targets = await self._queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            event = ls.store.get(f"event:{event_id}")
            if event is None:
                continue
            for endpoint_id in targets:
                endpoint = self.endpoints.get(endpoint_id)
                if endpoint is None:
                    continue
                record = await self.deliver(event, endpoint, resend=False)
                if record["ok"]:
                    event.pending_webhooks = max(0, event.pending_webhooks - 1)

    async def deliver(
        self, event: ls.Event, endpoint: WebhookEndpoint, *, resend: bool
    ) -> dict[str, Any]:
        """POST one event to one endpoint now, signed with the endpoint's secret."""
        payload = json.dumps(event._export(), indent=2, sort_keys=True)
        timestamp = _now()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign_payload(payload, endpoint.secret, timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) localstripe",
        }
        record: dict[str, Any] = {
            "id": "whdel_" + ls.random_id(14),
            "event": event.id,
            "type": event.type,
            "webhook": endpoint.id,
            "url": endpoint.url,
            "resend": resend,
            "attempted_at": time.time(),
            "status": None,
            "ok": False,
            "error": None,
            "response": None,
        }
        session = self._session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with session.post(endpoint.url, data=payload.encode(), headers=headers) as r:
                record["status"] = r.status
                record["ok"] = 200 <= r.status < 300
                record["response"] = (await r.text())[:500]
        except (TimeoutError, aiohttp.ClientError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if session is not self._session:
                await session.close()
        log.info(
            "webhook %s %s -> %s: %s",
            event.type,
            event.id,
            endpoint.url,
            record["status"] or record["error"],
        )
        self.deliveries.append(record)
        return record


DISPATCHER = WebhookDispatcher()
ls.schedule_webhook = DISPATCHER.schedule
ls_webhooks.schedule_webhook = DISPATCHER.schedule


def _emit(event_type: str, obj: Any, previous: dict[str, Any] | None = None) -> ls.Event:
    """Record an event (it shows in /v1/events at once) and queue it for webhooks."""
    event = ls.Event(event_type, obj)
    if previous:
        event.data["previous_attributes"] = previous
    DISPATCHER.schedule(event)
    return event


def _event_list(params: Params) -> dict[str, Any]:
    matchers: list[Callable[[Any], bool]] = []
    event_type = params.string("type")
    if event_type is not None:
        if event_type.endswith(".*"):
            stem = event_type[:-1]
            matchers.append(lambda e: e.type.startswith(stem))
        else:
            matchers.append(lambda e: e.type == event_type)
    types = params.strings("types")
    if types is not None:
        if event_type is not None:
            _fail(400, "You may only specify one of these parameters: type, types.")
        matchers.append(lambda e: e.type in types)
    created = params.raw("created")
    if created is not None:
        created_matches = _created_matcher(created, "created")
        matchers.append(lambda e: created_matches(e.created))
    delivered = params.boolean("delivery_success")
    if delivered is not None:
        matchers.append(lambda e: (getattr(e, "pending_webhooks", 0) == 0) == delivered)
    events = [e for e in _all("event") if all(m(e) for m in matchers)]
    return _list_page("/v1/events", events, params)


# --------------------------------------------------------------------------------------
# Patches to localstripe's customers, products and tax rates
# --------------------------------------------------------------------------------------

_original_customer_init = ls.Customer.__init__
_original_customer_update = ls.Customer._api_update.__func__


def _new_invoice_prefix() -> str:
    used = {getattr(c, "invoice_prefix", None) for c in _all("customer")}
    alphabet = string.ascii_uppercase + string.digits
    while True:
        prefix = "".join(random.choice(alphabet) for _ in range(8))
        if prefix not in used:
            return prefix


def _check_invoice_prefix(prefix: Any, customer_id: str | None = None) -> None:
    if not isinstance(prefix, str) or not re.fullmatch(r"[A-Z0-9]{3,12}", prefix):
        _fail(
            400,
            "invoice_prefix must be 3 to 12 uppercase letters or digits.",
            param="invoice_prefix",
        )
    for other in _all("customer"):
        if other.id != customer_id and getattr(other, "invoice_prefix", None) == prefix:
            _fail(
                400,
                f"The invoice prefix {prefix} is already used by another customer.",
                param="invoice_prefix",
            )


def _customer_init(
    self: ls.Customer,
    *args: Any,
    invoice_prefix: Any = None,
    tax_exempt: Any = None,
    **kwargs: Any,
) -> None:
    if invoice_prefix is not None:
        _check_invoice_prefix(invoice_prefix)
    if tax_exempt not in (None, "none", "exempt", "reverse"):
        _fail(400, "tax_exempt must be one of none, exempt, reverse", param="tax_exempt")
    balance = ls.try_convert_to_int(kwargs.get("balance", 0))
    if not isinstance(balance, int):
        _fail(400, f"Invalid integer: {balance}", param="balance")
    kwargs["balance"] = balance
    settings = kwargs.get("invoice_settings")
    if isinstance(settings, dict) and "custom_fields" in settings:
        parsed = _parse_custom_fields(Params({"custom_fields": settings["custom_fields"]}))
        kwargs["invoice_settings"] = {**settings, "custom_fields": parsed or None}
    # Set before localstripe's __init__ so that customer.created carries them.
    self.invoice_prefix = invoice_prefix or _new_invoice_prefix()
    self.next_invoice_sequence = 1
    self.tax_exempt = tax_exempt or "none"
    self.balance = balance
    self._pooled_currency = None
    self._cash_balance: dict[str, int] = {}
    _original_customer_init(self, *args, **kwargs)


def _customer_update(cls: type, id: str, **data: Any) -> ls.Customer:
    if "balance" in data:
        balance = ls.try_convert_to_int(data["balance"])
        if not isinstance(balance, int):
            _fail(400, f"Invalid integer: {data['balance']}", param="balance")
        data["balance"] = balance
    if "invoice_prefix" in data:
        _check_invoice_prefix(data["invoice_prefix"], id)
    if "tax_exempt" in data and data["tax_exempt"] not in ("none", "exempt", "reverse"):
        _fail(400, "tax_exempt must be one of none, exempt, reverse", param="tax_exempt")
    customer = _original_customer_update(cls, id, **data)
    customer.account_balance = -customer.balance
    return customer


def _customer_currency(self: ls.Customer) -> str | None:
    """None until the customer is first invoiced, as in Stripe (localstripe said 'eur')."""
    if getattr(self, "_pooled_currency", None):
        return self._pooled_currency
    source = self._get_default_payment_method_or_source()
    if isinstance(source, ls.Source):
        return source.currency
    return None


ls.Customer.__init__ = _customer_init
ls.Customer._api_update = classmethod(_customer_update)
ls.Customer.currency = property(_customer_currency)


def _customer_list(params: Params) -> dict[str, Any]:
    customers = _all("customer")
    email = params.string("email")
    if email is not None:
        customers = [c for c in customers if c.email == email]
    created = params.raw("created")
    if created is not None:
        matches = _created_matcher(created, "created")
        customers = [c for c in customers if matches(c.created)]
    return _list_page("/v1/customers", customers, params)


_original_product_init = ls.Product.__init__


def _product_init(
    self: ls.Product,
    *args: Any,
    tax_code: Any = None,
    unit_label: Any = None,
    images: Any = None,
    default_price_data: Any = None,
    **kwargs: Any,
) -> None:
    if tax_code is not None and not isinstance(tax_code, str):
        _fail(400, "Invalid string: tax_code", param="tax_code")
    if unit_label is not None and not isinstance(unit_label, str):
        _fail(400, "Invalid string: unit_label", param="unit_label")
    price_fields = None
    if default_price_data is not None:
        price_fields = Price.parse(
            Params(default_price_data, prefix="default_price_data"), product="(new product)"
        )
    self.tax_code = tax_code
    self.unit_label = unit_label
    self.images = list(images or [])
    self.default_price = None
    _original_product_init(self, *args, **kwargs)
    if price_fields is not None:
        price_fields["product"] = self.id
        self.default_price = Price.create_from(price_fields).id


ls.Product.__init__ = _product_init


def _product_list(params: Params) -> dict[str, Any]:
    products = _all("product")
    active = params.boolean("active")
    if active is not None:
        products = [p for p in products if p.active == active]
    ids = params.strings("ids")
    if ids is not None:
        products = [p for p in products if p.id in ids]
    created = params.raw("created")
    if created is not None:
        matches = _created_matcher(created, "created")
        products = [p for p in products if matches(p.created)]
    return _list_page("/v1/products", products, params)


_original_tax_rate_init = ls.TaxRate.__init__


def _tax_rate_init(
    self: ls.TaxRate,
    *args: Any,
    country: Any = None,
    state: Any = None,
    tax_type: Any = None,
    **kwargs: Any,
) -> None:
    for name, value in (("country", country), ("state", state), ("tax_type", tax_type)):
        if value is not None and not isinstance(value, str):
            _fail(400, f"Invalid string: {name}", param=name)
    self.country = country
    self.state = state
    self.tax_type = tax_type
    _original_tax_rate_init(self, *args, **kwargs)
    self.effective_percentage = self.percentage


ls.TaxRate.__init__ = _tax_rate_init

# Keep everything in memory, per server process: localstripe pickles its whole store to
# /tmp/localstripe.pickle on every write, which parallel servers would share.
ls.Store.dump_to_disk = lambda self: None
ls.Store.try_load_from_disk = lambda self: None


# --------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------


class Price(ls.StripeObject):
    """A Price: one-off or recurring, per unit, in whole pence."""

    object = "price"
    _id_prefix = "price_"

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__()
        self.active: bool = fields["active"]
        self.currency: str = fields["currency"]
        self.product: str = fields["product"]
        self.unit_amount: int = fields["unit_amount"]
        self.recurring: dict[str, Any] | None = fields["recurring"]
        self.tax_behavior: str = fields["tax_behavior"]
        self.nickname: str | None = fields["nickname"]
        self.lookup_key: str | None = fields["lookup_key"]
        self.metadata: dict[str, str] = fields["metadata"]

    @property
    def type(self) -> str:
        return "recurring" if self.recurring else "one_time"

    @classmethod
    def parse(cls, p: Params, *, product: str | None = None) -> dict[str, Any]:
        """Validate creation parameters; nothing is written."""
        currency = p.currency(required=True)
        product_id = product or p.string("product")
        product_data = None if product else p.mapping("product_data")
        if product_id and product_data is not None:
            _fail(400, "You may only specify one of these parameters: product, product_data.")
        if product_id is None and product_data is None:
            p.missing("product")
        if product_id and product is None:
            _retrieve("product", product_id, p.name("product"))
        if product_data is not None:
            pd = Params(product_data, prefix=p.name("product_data"))
            product_data = {
                "name": pd.string("name", required=True),
                "active": pd.boolean("active"),
                "metadata": _fresh_metadata(pd.metadata()),
                "statement_descriptor": pd.string("statement_descriptor", max_length=22),
                "tax_code": pd.string("tax_code"),
                "unit_label": pd.string("unit_label"),
            }
            pd.finish()
        for name in ("tiers", "tiers_mode", "custom_unit_amount", "transform_quantity"):
            if p.has(name):
                _unsupported(p.name(name))
        if p.has("currency_options"):
            _unsupported(p.name("currency_options"))
        scheme = p.string("billing_scheme", choices=("per_unit", "tiered"))
        if scheme == "tiered":
            _unsupported(p.name("billing_scheme"), "=tiered")
        unit_amount = p.integer("unit_amount", minimum=0)
        unit_amount_decimal = p.whole_decimal("unit_amount_decimal")
        if unit_amount is not None and unit_amount_decimal is not None:
            _fail(
                400,
                "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
            )
        if unit_amount is None:
            unit_amount = unit_amount_decimal
        if unit_amount is None:
            p.missing("unit_amount")
        _check_amount(unit_amount, p.name("unit_amount"))
        recurring = p.mapping("recurring")
        if recurring is not None:
            rp = Params(recurring, prefix=p.name("recurring"))
            recurring = {
                "interval": rp.string(
                    "interval", required=True, choices=("day", "week", "month", "year")
                ),
                "interval_count": rp.integer("interval_count", minimum=1) or 1,
                "usage_type": rp.string("usage_type", choices=("licensed",)) or "licensed",
                "meter": None,
                "trial_period_days": None,
            }
            rp.finish()
        fields = {
            "currency": currency,
            "product": product_id,
            "product_data": product_data,
            "unit_amount": unit_amount,
            "recurring": recurring,
            "tax_behavior": p.string(
                "tax_behavior", choices=("inclusive", "exclusive", "unspecified")
            )
            or "unspecified",
            "nickname": p.string("nickname"),
            "lookup_key": p.string("lookup_key", max_length=200),
            "transfer_lookup_key": bool(p.boolean("transfer_lookup_key")),
            "metadata": _fresh_metadata(p.metadata()),
            "active": p.boolean("active") is not False,
        }
        p.finish()
        if fields["lookup_key"] and not fields["transfer_lookup_key"]:
            for other in _all("price"):
                if other.lookup_key == fields["lookup_key"]:
                    _fail(
                        400,
                        f"A price ({other.id}) already uses that lookup key. "
                        "Pass transfer_lookup_key=true to move it.",
                        param="lookup_key",
                    )
        return fields

    @classmethod
    def create_from(cls, fields: dict[str, Any]) -> Price:
        """Create a validated price (and its product from ``product_data``)."""
        if fields.get("product_data") is not None:
            data = {k: v for k, v in fields["product_data"].items() if v is not None}
            fields["product"] = ls.Product(**data).id
        if fields["lookup_key"]:
            for other in _all("price"):
                if other.lookup_key == fields["lookup_key"]:
                    other.lookup_key = None
        price = cls(fields)
        _emit("price.created", price)
        return price

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "price",
            "active": self.active,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": self.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": self.lookup_key,
            "metadata": dict(self.metadata),
            "nickname": self.nickname,
            "product": self.product,
            "recurring": dict(self.recurring) if self.recurring else None,
            "tax_behavior": self.tax_behavior,
            "tiers_mode": None,
            "transform_quantity": None,
            "type": self.type,
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": str(self.unit_amount),
        }


# --------------------------------------------------------------------------------------
# Invoice items and the money on an invoice
# --------------------------------------------------------------------------------------


def _round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_taxes(amount: int, rates: list[Any]) -> list[dict[str, Any]]:
    """Tax per rate on one line, rounded half-up per line (exclusive on top, inclusive inside)."""
    inclusive = [r for r in rates if r.inclusive]
    exclusive = [r for r in rates if not r.inclusive]
    taxable = amount
    if inclusive:
        inclusive_pct = sum(Decimal(str(r.percentage)) for r in inclusive)
        taxable = _round_half_up(Decimal(amount) * 100 / (100 + inclusive_pct))
    taxes = []
    inclusive_left = amount - taxable
    for index, rate in enumerate(inclusive):
        if index == len(inclusive) - 1:
            tax = inclusive_left
        else:
            tax = _round_half_up(Decimal(taxable) * Decimal(str(rate.percentage)) / 100)
            inclusive_left -= tax
        taxes.append((rate, tax, "inclusive"))
    for rate in exclusive:
        tax = _round_half_up(Decimal(taxable) * Decimal(str(rate.percentage)) / 100)
        taxes.append((rate, tax, "exclusive"))
    return [
        {
            "amount": tax,
            "tax_behavior": behaviour,
            "tax_rate_details": {"tax_rate": rate.id},
            "taxability_reason": "standard_rated" if rate.percentage else "zero_rated",
            "taxable_amount": taxable,
            "type": "tax_rate_details",
        }
        for rate, tax, behaviour in taxes
    ]


def _tax_rates(ids: list[str] | None, param: str) -> list[str] | None:
    if ids is None:
        return None
    for rate_id in ids:
        rate = _retrieve("tax_rate", rate_id, param)
        if not rate.active:
            _fail(400, f"The tax rate {rate_id} is inactive and cannot be used.", param=param)
    return list(ids)


def _parse_item_pricing(p: Params, *, item: InvoiceItem | None = None) -> dict[str, Any]:
    """How an invoice item is priced: amount, pricing[price], price_data or unit_amount_decimal."""
    amount = p.integer("amount")
    unit_amount_decimal = p.whole_decimal("unit_amount_decimal")
    quantity = p.integer("quantity", minimum=0)
    quantity_decimal = p.whole_decimal("quantity_decimal")
    if quantity is not None and quantity_decimal is not None:
        _fail(400, "You may only specify one of these parameters: quantity, quantity_decimal.")
    if quantity is None:
        quantity = quantity_decimal
    pricing = p.mapping("pricing")
    price_data = p.mapping("price_data")
    currency = p.currency()
    if p.has("price"):
        _fail(
            400,
            "Received unknown parameter: price (this API version uses pricing[price])",
            code="parameter_unknown",
            param="price",
        )
    sources = [
        name
        for name, value in (
            ("amount", amount),
            ("pricing", pricing),
            ("price_data", price_data),
            ("unit_amount_decimal", unit_amount_decimal),
        )
        if value is not None
    ]
    if len(sources) > 1:
        _fail(400, "You may only specify one of these parameters: " + ", ".join(sources) + ".")
    if not sources:
        if item is None:
            _fail(
                400,
                "You must specify one of amount, pricing[price], price_data or "
                "unit_amount_decimal.",
                code="parameter_missing",
                param="amount",
            )
        if quantity is not None and item.priced_by == "amount":
            _fail(
                400,
                "This invoice item is priced by amount; change amount, not quantity.",
                param="quantity",
            )
        result = {
            "priced_by": item.priced_by,
            "amount": item.amount,
            "unit_amount": item.unit_amount,
            "quantity": item.quantity,
            "currency": item.currency,
            "price": item.price,
            "product": item.product,
            "price_fields": None,
        }
        if currency is not None and currency != item.currency:
            _fail(400, "The currency of an invoice item cannot change.", param="currency")
        if quantity is not None:
            result["quantity"] = quantity
            result["amount"] = item.unit_amount * quantity
            _check_amount(result["amount"], "quantity")
        return result
    result: dict[str, Any] = {
        "priced_by": sources[0],
        "price": None,
        "product": None,
        "price_fields": None,
    }
    if amount is not None:
        if quantity not in (None, 1):
            _fail(
                400,
                "With `amount`, leave `quantity` out: the amount is the line's total. "
                "Use pricing[price], price_data or unit_amount_decimal to bill a quantity.",
                param="quantity",
            )
        if currency is None:
            p.missing("currency")
        _check_amount(amount, "amount")
        result.update(amount=amount, unit_amount=amount, quantity=1, currency=currency)
        return result
    quantity = 1 if quantity is None else quantity
    if unit_amount_decimal is not None:
        if currency is None and item is not None:
            currency = item.currency  # an update: Stripe takes no currency, the item keeps its own
        if currency is None:
            p.missing("currency")
        unit, item_currency = unit_amount_decimal, currency
    elif pricing is not None:
        pp = Params(pricing, prefix="pricing")
        price = _retrieve("price", pp.string("price", required=True), "pricing[price]")
        pp.finish()
        if not price.active:
            _fail(
                400,
                f"The price {price.id} is inactive. This field only accepts active prices.",
                param="pricing[price]",
            )
        if price.type == "recurring":
            _fail(
                400,
                "The price specified is set to `type=recurring` but this field only accepts "
                "prices with `type=one_time`.",
                param="pricing[price]",
            )
        unit, item_currency = price.unit_amount, price.currency
        result.update(price=price.id, product=price.product)
    else:
        pd = Params(price_data, prefix="price_data")
        item_currency = pd.currency(required=True)
        product_id = pd.string("product", required=True)
        _retrieve("product", product_id, "price_data[product]")
        unit = pd.integer("unit_amount", minimum=0)
        decimal_unit = pd.whole_decimal("unit_amount_decimal")
        if unit is None:
            unit = decimal_unit
        if unit is None:
            pd.missing("unit_amount")
        tax_behavior = pd.string("tax_behavior", choices=("inclusive", "exclusive", "unspecified"))
        pd.finish()
        result["product"] = product_id
        result["price_fields"] = {
            "currency": item_currency,
            "product": product_id,
            "product_data": None,
            "unit_amount": unit,
            "recurring": None,
            "tax_behavior": tax_behavior or "unspecified",
            "nickname": None,
            "lookup_key": None,
            "transfer_lookup_key": False,
            "metadata": {},
            "active": False,  # Stripe archives prices made from price_data at once
        }
    if currency is not None and currency != item_currency:
        _fail(400, f"currency {currency} does not match the price's {item_currency}.")
    result.update(
        amount=unit * quantity, unit_amount=unit, quantity=quantity, currency=item_currency
    )
    _check_amount(result["amount"], "amount")
    return result


class InvoiceItem(ls.StripeObject):
    """An invoice item as the current API has it (amount, pricing, quantity, tax rates)."""

    object = "invoiceitem"
    _id_prefix = "ii_"

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__()
        self.line_id = "il_" + ls.random_id(14)
        self.date = self.created
        self.subscription = None  # localstripe's subscription code looks for it
        self.customer: str = fields["customer"]
        self.invoice: str | None = fields["invoice"]
        self.description: str | None = fields["description"]
        self.discountable: bool = fields["discountable"]
        self.metadata: dict[str, str] = fields["metadata"]
        self.period: dict[str, int] = fields["period"]
        self.tax_rates: list[str] = fields["tax_rates"]
        self.tax_behavior: str | None = fields["tax_behavior"]
        self.set_pricing(fields["pricing"])

    def set_pricing(self, pricing: dict[str, Any]) -> None:
        if pricing.get("price_fields") is not None:
            price = Price.create_from(pricing["price_fields"])
            pricing = {**pricing, "price": price.id, "price_fields": None}
        self.priced_by: str = pricing["priced_by"]
        self.amount: int = pricing["amount"]
        self.unit_amount: int = pricing["unit_amount"]
        self.quantity: int = pricing["quantity"]
        self.currency: str = pricing["currency"]
        self.price: str | None = pricing["price"]
        self.product: str | None = pricing["product"]

    def editable(self) -> None:
        """Raise unless the item is pending or on a draft invoice."""
        if self.invoice is not None:
            invoice = ls.store.get(f"invoice:{self.invoice}")
            if invoice is not None and invoice.status != "draft":
                _fail(
                    400,
                    f"This invoice item is on invoice {self.invoice}, which is "
                    f"{invoice.status}; only items on draft invoices can change.",
                    code="invoice_not_editable",
                )

    def rates(self, invoice: Invoice | None = None) -> list[Any]:
        ids = self.tax_rates or (invoice.default_tax_rates if invoice else [])
        return [ls.store[f"tax_rate:{rate_id}"] for rate_id in ids]

    def pricing_export(self) -> dict[str, Any]:
        details = None
        if self.price is not None:
            details = {"price": self.price, "product": self.product}
        return {
            "price_details": details,
            "type": "price_details",
            "unit_amount_decimal": str(self.unit_amount),
        }

    def display_description(self) -> str:
        if self.description:
            return self.description
        if self.product and f"product:{self.product}" in ls.store:
            return ls.store[f"product:{self.product}"].name
        return "Invoice item"

    def line_export(self, invoice: Invoice) -> dict[str, Any]:
        return {
            "id": self.line_id,
            "object": "line_item",
            "amount": self.amount,
            "currency": self.currency,
            "description": self.display_description(),
            "discount_amounts": [],
            "discountable": self.discountable,
            "discounts": [],
            "invoice": invoice.id,
            "livemode": False,
            "metadata": dict(self.metadata),
            "parent": {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": self.id,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
            },
            "period": dict(self.period),
            "pretax_credit_amounts": [],
            "pricing": self.pricing_export(),
            "quantity": self.quantity,
            "quantity_decimal": str(self.quantity),
            "subscription": None,
            "subtotal": self.amount,
            "taxes": line_taxes(self.amount, self.rates(invoice)),
        }

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "invoiceitem",
            "amount": self.amount,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": None,
            "date": self.date,
            "description": self.description,
            "discountable": self.discountable,
            "discounts": [],
            "invoice": self.invoice,
            "livemode": False,
            "metadata": dict(self.metadata),
            "net_amount": self.amount,
            "parent": None,
            "period": dict(self.period),
            "pricing": self.pricing_export(),
            "proration": False,
            "proration_details": {"credited_items": None},
            "quantity": self.quantity,
            "quantity_decimal": str(self.quantity),
            "tax_rates": [ls.store[f"tax_rate:{r}"]._export() for r in self.tax_rates],
            "test_clock": None,
        }


def _parse_period(p: Params) -> dict[str, int] | None:
    period = p.mapping("period")
    if period is None:
        return None
    pp = Params(period, prefix="period")
    start = pp.integer("start", required=True)
    end = pp.integer("end", required=True)
    pp.finish()
    if end < start:
        _fail(400, "period[end] must not be before period[start].", param="period[end]")
    return {"start": start, "end": end}


# --------------------------------------------------------------------------------------
# Invoices
# --------------------------------------------------------------------------------------

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def _parse_custom_fields(p: Params) -> list[dict[str, str]] | None:
    """Up to 4 {name (≤40), value (≤140)} pairs, shown on the invoice (the PO number)."""
    fields = p.sequence("custom_fields")
    if fields is None:
        return None
    if len(fields) > 4:
        _fail(400, "An invoice can have at most 4 custom fields.", param="custom_fields")
    parsed = []
    for index, entry in enumerate(fields):
        fp = Params(entry, prefix=f"custom_fields[{index}]")
        parsed.append(
            {
                "name": fp.string("name", required=True, max_length=40),
                "value": fp.string("value", required=True, max_length=140),
            }
        )
        fp.finish()
    return parsed


def _parse_payment_settings(p: Params) -> dict[str, Any] | None:
    settings = p.mapping("payment_settings")
    if settings is None:
        return None
    sp = Params(settings, prefix="payment_settings")
    types = sp.strings("payment_method_types")
    options = sp.mapping("payment_method_options")
    mandate = sp.string("default_mandate")
    sp.finish()
    return {
        "default_mandate": mandate,
        "payment_method_options": options or None,
        "payment_method_types": types or None,
    }


class Invoice(ls.StripeObject):
    """A one-off invoice with the current API's shape and status rules."""

    object = "invoice"
    _id_prefix = "in_"

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__()
        self.date = self.created
        self.subscription = None  # localstripe's subscription code looks for it
        self.customer: str = fields["customer"]
        self.currency: str = fields["currency"]
        self.collection_method: str = fields["collection_method"]
        self.days_until_due: int | None = fields["days_until_due"]
        self.due_date: int | None = fields["due_date"]
        if self.due_date is None and self.days_until_due is not None:
            self.due_date = self.created + self.days_until_due * SECONDS_PER_DAY
        self.auto_advance: bool = fields["auto_advance"]
        self.custom_fields: list[dict[str, str]] | None = fields["custom_fields"]
        self.description: str | None = fields["description"]
        self.footer: str | None = fields["footer"]
        self.metadata: dict[str, str] = fields["metadata"]
        self.number: str | None = fields["number"]
        self.default_tax_rates: list[str] = fields["default_tax_rates"] or []
        self.default_payment_method: str | None = fields["default_payment_method"]
        self.payment_settings: dict[str, Any] | None = fields["payment_settings"]
        self.statement_descriptor: str | None = fields["statement_descriptor"]
        self.effective_at: int | None = fields["effective_at"]
        self.status = "draft"
        self.items: list[str] = []
        self.status_transitions: dict[str, int | None] = {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        }
        self.amount_paid = 0
        self.amount_paid_off_stripe = 0
        self.attempt_count = 0
        self.attempted = False
        self.balance_applied = 0
        self.starting_balance: int | None = None
        self.ending_balance: int | None = None
        self.customer_snapshot: dict[str, Any] | None = None
        self.hosted_invoice_url: str | None = None
        self.invoice_pdf: str | None = None
        self.sent_at: list[int] = []
        self.payment_intents: list[str] = []
        self.pre_payment_credit = 0
        self.post_payment_credit = 0

    # ---- money -------------------------------------------------------------------

    def line_items(self) -> list[InvoiceItem]:
        return [ls.store[f"invoiceitem:{item_id}"] for item_id in self.items]

    def amounts(self) -> dict[str, Any]:
        """Totals from the lines: subtotal, taxes, total, amount due / paid / remaining."""
        subtotal = inclusive_tax = exclusive_tax = 0
        by_rate: dict[tuple[str, str], dict[str, Any]] = {}
        for item in self.line_items():
            subtotal += item.amount
            for tax in line_taxes(item.amount, item.rates(self)):
                if tax["tax_behavior"] == "inclusive":
                    inclusive_tax += tax["amount"]
                else:
                    exclusive_tax += tax["amount"]
                key = (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"])
                total = by_rate.setdefault(key, {**tax, "amount": 0, "taxable_amount": 0})
                total["amount"] += tax["amount"]
                total["taxable_amount"] += tax["taxable_amount"]
        total = subtotal + exclusive_tax
        amount_due = max(0, total - self.balance_applied - self.pre_payment_credit)
        return {
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal - inclusive_tax,
            "total": total,
            "total_excluding_tax": subtotal - inclusive_tax,
            "total_taxes": list(by_rate.values()),
            "amount_due": amount_due,
            "amount_paid": self.amount_paid,
            "amount_remaining": max(0, amount_due - self.amount_paid)
            if self.status != "void"
            else 0,
        }

    # ---- transitions -------------------------------------------------------------

    def finalize(self) -> None:
        """Draft → open: number, finalized_at, due_date, customer balance; $0 → paid."""
        if self.status != "draft":
            _fail(
                400,
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            )
        customer = _retrieve("customer", self.customer, "customer")
        now = _now()
        if self.number is None:
            self.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
            customer.next_invoice_sequence += 1
        self.customer_snapshot = _customer_snapshot(customer)
        self.status_transitions["finalized_at"] = now
        if self.effective_at is None:
            self.effective_at = now
        if self.collection_method == "send_invoice" and self.days_until_due is not None:
            self.due_date = now + self.days_until_due * SECONDS_PER_DAY
        total = self.amounts()["total"]
        self.starting_balance = customer.balance
        if total >= 0 and customer.balance < 0:
            used = min(-customer.balance, total)
            self.balance_applied = used
            customer.balance += used
        elif total >= 0 and customer.balance > 0:
            self.balance_applied = -customer.balance
            customer.balance = 0
        elif total < 0:
            self.balance_applied = total
            customer.balance += total
        customer.account_balance = -customer.balance
        self.ending_balance = customer.balance
        self.hosted_invoice_url = f"{_origin()}/_test/invoices/{self.id}/hosted"
        self.invoice_pdf = f"{_origin()}/_test/invoices/{self.id}/hosted?format=print"
        self.status = "open"
        _emit("invoice.finalized", self)
        if self.amounts()["amount_due"] == 0:
            self.mark_paid(0, out_of_band=False)

    def mark_paid(self, amount: int, *, out_of_band: bool) -> None:
        """Record a payment of the whole remaining amount; emit invoice.paid (and succeeded)."""
        previous = {"status": self.status}
        self.amount_paid += amount
        if out_of_band:
            self.amount_paid_off_stripe += amount
        else:
            self.attempted = True
            self.attempt_count = max(1, self.attempt_count)
        self.status = "paid"
        self.status_transitions["paid_at"] = _now()
        _emit("invoice.paid", self, previous)
        if not out_of_band:
            # Stripe's difference: invoice.paid also covers invoices paid out of band.
            _emit("invoice.payment_succeeded", self)

    def payment_failed(self) -> None:
        self.attempted = True
        self.attempt_count += 1
        _emit("invoice.payment_failed", self)

    def require_finalized_for(self, action: str) -> None:
        if self.status == "draft":
            self.finalize()
        if self.status == "void":
            _fail(400, f"This invoice is void; you can't {action} it.")

    # localstripe's PaymentIntent calls these when a card payment settles or fails.
    def _on_payment_success(self) -> None:
        if self.status in ("open", "uncollectible"):
            self.mark_paid(self.amounts()["amount_remaining"], out_of_band=False)

    def _on_payment_failure_now(self) -> None:
        self.payment_failed()

    def _on_payment_failure_later(self) -> None:
        self.payment_failed()

    # ---- export ------------------------------------------------------------------

    def _export(self, expand: Any = None) -> dict[str, Any]:
        amounts = self.amounts()
        customer_fields = self.customer_snapshot or _customer_snapshot(
            ls.store.get(f"customer:{self.customer}")
        )
        lines = [item.line_export(self) for item in self.line_items()]
        starting_balance = self.starting_balance
        if starting_balance is None:
            customer = ls.store.get(f"customer:{self.customer}")
            starting_balance = customer.balance if customer is not None else 0
        next_attempt = None
        if self.collection_method == "charge_automatically" and self.status == "open":
            next_attempt = self.created + 3600
        return {
            "id": self.id,
            "object": "invoice",
            "account_country": "GB",
            "account_name": "Pooled (local Stripe)",
            "account_tax_ids": None,
            "amount_due": amounts["amount_due"],
            "amount_overpaid": 0,
            "amount_paid": amounts["amount_paid"],
            "amount_paid_off_stripe": self.amount_paid_off_stripe,
            "amount_remaining": amounts["amount_remaining"],
            "amount_shipping": 0,
            "application": None,
            "attempt_count": self.attempt_count,
            "attempted": self.attempted,
            "auto_advance": self.auto_advance,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": "manual",
            "collection_method": self.collection_method,
            "confirmation_secret": None,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": [dict(f) for f in self.custom_fields] if self.custom_fields else None,
            "customer": self.customer,
            "customer_account": None,
            **customer_fields,
            "customer_shipping": None,
            "customer_tax_ids": [],
            "default_payment_method": self.default_payment_method,
            "default_source": None,
            "default_tax_rates": [
                ls.store[f"tax_rate:{r}"]._export() for r in self.default_tax_rates
            ],
            "description": self.description,
            "discounts": [],
            "due_date": self.due_date if self.collection_method == "send_invoice" else None,
            "effective_at": self.effective_at,
            "ending_balance": self.ending_balance,
            "footer": self.footer,
            "from_invoice": None,
            "hosted_invoice_url": self.hosted_invoice_url,
            "invoice_pdf": self.invoice_pdf,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": lines[:LINES_ON_INVOICE],
                "has_more": len(lines) > LINES_ON_INVOICE,
                "total_count": len(lines),
                "url": f"/v1/invoices/{self.id}/lines",
            },
            "livemode": False,
            "metadata": dict(self.metadata),
            "next_payment_attempt": next_attempt,
            "number": self.number,
            "on_behalf_of": None,
            "parent": None,
            "payment_settings": dict(self.payment_settings)
            if self.payment_settings
            else {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": self.created,
            "period_start": self.created,
            "post_payment_credit_notes_amount": self.post_payment_credit,
            "pre_payment_credit_notes_amount": self.pre_payment_credit,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": starting_balance,
            "statement_descriptor": self.statement_descriptor,
            "status": self.status,
            "status_details": None,
            "status_transitions": dict(self.status_transitions),
            "subtotal": amounts["subtotal"],
            "subtotal_excluding_tax": amounts["subtotal_excluding_tax"],
            "test_clock": None,
            "threshold_reason": None,
            "total": amounts["total"],
            "total_discount_amounts": [],
            "total_excluding_tax": amounts["total_excluding_tax"],
            "total_pretax_credit_amounts": [],
            "total_taxes": amounts["total_taxes"],
            "webhooks_delivered_at": self.created,
        }


def _customer_snapshot(customer: Any) -> dict[str, Any]:
    if customer is None:
        return {
            "customer_address": None,
            "customer_email": None,
            "customer_name": None,
            "customer_phone": None,
            "customer_tax_exempt": None,
        }
    return {
        "customer_address": dict(customer.address) if customer.address else None,
        "customer_email": customer.email,
        "customer_name": customer.name,
        "customer_phone": customer.phone,
        "customer_tax_exempt": getattr(customer, "tax_exempt", "none"),
    }


def _invoice(invoice_id: str) -> Invoice:
    """Load one of our invoices; 404 if missing, 400 if localstripe made it (subscriptions)."""
    invoice = _retrieve("invoice", invoice_id)
    if not isinstance(invoice, Invoice):
        _fail(
            400,
            "This invoice was made by plain localstripe (a subscription invoice); the "
            "extension's invoice actions do not apply to it.",
        )
    return invoice


def _parse_invoice_fields(p: Params, *, invoice: Invoice | None) -> dict[str, Any]:
    """Fields shared by create and update; only those present are returned on update."""
    fields: dict[str, Any] = {}
    if p.has("collection_method"):
        fields["collection_method"] = p.string(
            "collection_method", choices=("charge_automatically", "send_invoice")
        )
    if p.has("days_until_due"):
        fields["days_until_due"] = p.integer("days_until_due", minimum=0, maximum=3650)
    if p.has("due_date"):
        fields["due_date"] = p.integer("due_date", minimum=0)
    if p.has("auto_advance"):
        fields["auto_advance"] = p.boolean("auto_advance")
    if p.has("custom_fields"):
        fields["custom_fields"] = _parse_custom_fields(p) or None
    if p.has("description"):
        fields["description"] = p.string("description", max_length=1500)
    if p.has("footer"):
        fields["footer"] = p.string("footer", max_length=5000)
    if p.has("metadata"):
        fields["metadata"] = p.metadata()
    if p.has("number"):
        fields["number"] = p.string("number", max_length=26)
    if p.has("default_tax_rates"):
        fields["default_tax_rates"] = _tax_rates(
            p.strings("default_tax_rates"), "default_tax_rates"
        )
    if p.has("default_payment_method"):
        fields["default_payment_method"] = p.string("default_payment_method")
    if p.has("payment_settings"):
        fields["payment_settings"] = _parse_payment_settings(p)
    if p.has("statement_descriptor"):
        fields["statement_descriptor"] = p.string("statement_descriptor", max_length=22)
    if p.has("effective_at"):
        fields["effective_at"] = p.integer("effective_at", minimum=0)
    if p.has("automatic_tax"):
        automatic = Params(p.mapping("automatic_tax"), prefix="automatic_tax")
        if automatic.boolean("enabled"):
            _unsupported("automatic_tax[enabled]", "=true (use tax rates)")
        automatic.finish()
    for name in ("discounts", "account_tax_ids"):
        if p.has(name):
            value = p.raw(name)
            if value not in ("", [], None):
                _unsupported(name)
    for name in (
        "rendering",
        "shipping_cost",
        "shipping_details",
        "on_behalf_of",
        "transfer_data",
        "issuer",
        "application_fee_amount",
        "automatically_finalizes_at",
        "default_source",
        "from_invoice",
    ):
        if p.has(name):
            _unsupported(name)
    if "number" in fields and fields["number"]:
        for other in _all("invoice"):
            if other is not invoice and getattr(other, "number", None) == fields["number"]:
                _fail(400, f"Invoice number {fields['number']} is already used.", param="number")
    return fields


def _check_due(collection_method: str, days_until_due: Any, due_date: Any) -> None:
    if collection_method == "send_invoice":
        if days_until_due is None and due_date is None:
            _fail(
                400,
                "Invoices with collection_method=send_invoice need days_until_due or due_date.",
                code="parameter_missing",
                param="days_until_due",
            )
        if days_until_due is not None and due_date is not None:
            _fail(400, "You may only specify one of these parameters: days_until_due, due_date.")
    elif days_until_due is not None or due_date is not None:
        param = "days_until_due" if days_until_due is not None else "due_date"
        _fail(
            400,
            f"You can only set {param} on invoices with collection_method=send_invoice.",
            param=param,
        )


# --------------------------------------------------------------------------------------
# Cash balance (simulated bank transfers)
# --------------------------------------------------------------------------------------


class CashBalanceTransaction(ls.StripeObject):
    """A movement on a customer's cash balance: funded, or applied to an invoice payment."""

    object = "customer_cash_balance_transaction"
    _id_prefix = "ccsbtxn_"

    def __init__(
        self, customer: Any, currency: str, net_amount: int, kind: str, detail: dict[str, Any]
    ) -> None:
        super().__init__()
        self.customer = customer.id
        self.currency = currency
        self.net_amount = net_amount
        self.type = kind
        self.detail = detail
        customer._cash_balance[currency] = customer._cash_balance.get(currency, 0) + net_amount
        self.ending_balance = customer._cash_balance[currency]

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": None,
            "ending_balance": self.ending_balance,
            "livemode": False,
            "net_amount": self.net_amount,
            "type": self.type,
            self.type: self.detail,
        }


class _Snapshot:
    """Something an event can carry that is not a stored object (a cash balance)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return dict(self.body)


def _cash_balance_export(customer: Any) -> dict[str, Any]:
    return {
        "object": "cash_balance",
        "available": {k: v for k, v in customer._cash_balance.items() if v} or None,
        "customer": customer.id,
        "customer_account": None,
        "livemode": False,
        "settings": {"reconciliation_mode": "automatic", "using_merchant_default": True},
    }


def _accepts_cash_balance(invoice: Invoice) -> bool:
    types = (invoice.payment_settings or {}).get("payment_method_types")
    return types is None or "customer_balance" in types


def _reconcile_cash_balance(customer: Any, currency: str, reference: str | None) -> None:
    """Apply the cash balance to open invoices: by reference (the number), else exact amount."""
    candidates = [  # oldest first
        inv
        for inv in reversed(_all("invoice"))
        if isinstance(inv, Invoice)
        and inv.customer == customer.id
        and inv.currency == currency
        and inv.status == "open"
        and _accepts_cash_balance(inv)
    ]
    available = customer._cash_balance.get(currency, 0)
    by_reference = [inv for inv in candidates if reference and inv.number == reference]
    by_amount = [inv for inv in candidates if inv.amounts()["amount_remaining"] == available]
    for invoice in by_reference or by_amount[:1]:
        remaining = invoice.amounts()["amount_remaining"]
        if 0 < remaining <= customer._cash_balance.get(currency, 0):
            txn = CashBalanceTransaction(
                customer,
                currency,
                -remaining,
                "applied_to_payment",
                {"payment_intent": None, "invoice": invoice.id},
            )
            _emit("customer_cash_balance_transaction.created", txn)
            invoice.mark_paid(remaining, out_of_band=False)


def _fund_cash_balance(customer_id: str, p: Params) -> CashBalanceTransaction:
    customer = _retrieve("customer", customer_id, "customer")
    amount = p.integer("amount", required=True, minimum=1)
    _check_amount(amount, "amount")
    currency = p.currency(required=True)
    reference = p.string("reference", max_length=140)
    p.finish()
    txn = CashBalanceTransaction(
        customer,
        currency,
        amount,
        "funded",
        {"bank_transfer": {"reference": reference, "type": "gb_bank_transfer"}},
    )
    _emit("customer_cash_balance_transaction.created", txn)
    _emit("cash_balance.funds_available", _Snapshot(_cash_balance_export(customer)))
    _reconcile_cash_balance(customer, currency, reference)
    return txn


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------

Handler = Callable[..., Any]
ROUTES: list[tuple[str, str, Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register ``handler(params, **match_info)`` for an endpoint of the extension."""

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, path, handler))
        return handler

    return register


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(
        body, status=status, dumps=lambda x: json.dumps(x, indent=2, sort_keys=True) + "\n"
    )


async def _request_data(request: web.Request) -> dict[str, Any]:
    if request.method == "POST":
        data = await ls_server.get_post_data(request)
        data = dict(data) if data else {}
        if request.query:
            data.update(ls_server.unflatten_data(request.query))
        return data
    return ls_server.unflatten_data(request.query) if request.query else {}


def _wrap(handler: Handler) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        data = await _request_data(request)
        expand = data.pop("expand", None)
        if expand is not None and (
            not isinstance(expand, list) or not all(isinstance(e, str) for e in expand)
        ):
            _fail(400, "Invalid array: expand", param="expand")
        result = handler(Params(data), **request.match_info)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, web.StreamResponse):
            return result
        body = result._export() if hasattr(result, "_export") else result
        for path in expand or []:
            if any(len(path.split(".")) > 4 for path in expand):
                _fail(400, "You cannot expand more than 4 levels of a property", param="expand")
            _expand(body, path.split("."))
        return _json(body)

    return handle


# ---- customers, products, prices, events --------------------------------------------


@route("GET", "/v1/customers")
def list_customers(p: Params) -> dict[str, Any]:
    """List customers, newest first; ``email`` and ``created`` filters."""
    return _customer_list(p)


@route("GET", "/v1/customers/{id}/cash_balance")
def retrieve_cash_balance(p: Params, id: str) -> dict[str, Any]:
    """A customer's cash balance (money received by bank transfer, not yet applied)."""
    p.finish()
    return _cash_balance_export(_retrieve("customer", id))


@route("GET", "/v1/customers/{id}/cash_balance_transactions")
def list_cash_balance_transactions(p: Params, id: str) -> dict[str, Any]:
    """Movements on a customer's cash balance, newest first."""
    _retrieve("customer", id)
    txns = [t for t in _all("customer_cash_balance_transaction") if t.customer == id]
    return _list_page(f"/v1/customers/{id}/cash_balance_transactions", txns, p)


@route("POST", "/v1/test_helpers/customers/{id}/fund_cash_balance")
def fund_cash_balance(p: Params, id: str) -> CashBalanceTransaction:
    """Stripe's test helper: a bank transfer arrives; it pays the invoice it references."""
    return _fund_cash_balance(id, p)


@route("GET", "/v1/products")
def list_products(p: Params) -> dict[str, Any]:
    """List products, newest first; ``active``, ``ids`` and ``created`` filters."""
    return _product_list(p)


@route("POST", "/v1/prices")
def create_price(p: Params) -> Price:
    """Create a price for a product (or for ``product_data``)."""
    return Price.create_from(Price.parse(p))


@route("GET", "/v1/prices/{id}")
def retrieve_price(p: Params, id: str) -> Price:
    """Retrieve a price."""
    p.finish()
    return _retrieve("price", id)


@route("POST", "/v1/prices/{id}")
def update_price(p: Params, id: str) -> Price:
    """Update what Stripe lets you change on a price: active, names, metadata, lookup key."""
    price = _retrieve("price", id)
    active = p.boolean("active")
    nickname = p.string("nickname", blank=True) if p.has("nickname") else None
    metadata = p.metadata()
    lookup_key = p.string("lookup_key", blank=True, max_length=200)
    transfer = p.boolean("transfer_lookup_key")
    tax_behavior = p.string("tax_behavior", choices=("inclusive", "exclusive", "unspecified"))
    for name in ("unit_amount", "currency", "product", "recurring"):
        if p.has(name):
            _fail(400, f"You cannot change {name} on a price; create a new price.", param=name)
    p.finish()
    if tax_behavior and price.tax_behavior != "unspecified" and tax_behavior != price.tax_behavior:
        _fail(400, "tax_behavior cannot change once specified.", param="tax_behavior")
    if lookup_key and not transfer:
        for other in _all("price"):
            if other is not price and other.lookup_key == lookup_key:
                _fail(400, f"A price ({other.id}) already uses that lookup key.")
    previous = {}
    if active is not None:
        previous["active"], price.active = price.active, active
    if nickname is not None:
        previous["nickname"], price.nickname = price.nickname, nickname or None
    if metadata is not None:
        previous["metadata"], price.metadata = (
            price.metadata,
            _apply_metadata(price.metadata, metadata),
        )
    if lookup_key is not None:
        if lookup_key:
            for other in _all("price"):
                if other is not price and other.lookup_key == lookup_key:
                    other.lookup_key = None
        previous["lookup_key"], price.lookup_key = price.lookup_key, lookup_key or None
    if tax_behavior:
        previous["tax_behavior"], price.tax_behavior = price.tax_behavior, tax_behavior
    _emit("price.updated", price, previous)
    return price


@route("GET", "/v1/prices")
def list_prices(p: Params) -> dict[str, Any]:
    """List prices, newest first; active, currency, product, type, lookup_keys, created."""
    prices = _all("price")
    active = p.boolean("active")
    if active is not None:
        prices = [x for x in prices if x.active == active]
    currency = p.currency()
    if currency is not None:
        prices = [x for x in prices if x.currency == currency]
    product = p.string("product")
    if product is not None:
        prices = [x for x in prices if x.product == product]
    kind = p.string("type", choices=("one_time", "recurring"))
    if kind is not None:
        prices = [x for x in prices if x.type == kind]
    lookup_keys = p.strings("lookup_keys")
    if lookup_keys is not None:
        prices = [x for x in prices if x.lookup_key in lookup_keys]
    created = p.raw("created")
    if created is not None:
        matches = _created_matcher(created, "created")
        prices = [x for x in prices if matches(x.created)]
    return _list_page("/v1/prices", prices, p)


@route("GET", "/v1/events")
def list_events(p: Params) -> dict[str, Any]:
    """List events newest first; type (with ``.*``), types, created, delivery_success."""
    return _event_list(p)


# ---- invoice items ------------------------------------------------------------------


@route("POST", "/v1/invoiceitems")
def create_invoice_item(p: Params) -> InvoiceItem:
    """Create an invoice item, pending or on a draft invoice (``invoice``)."""
    customer_id = p.string("customer")
    invoice_id = p.string("invoice")
    invoice = _invoice(invoice_id) if invoice_id else None
    if customer_id is None:
        if invoice is None:
            p.missing("customer")
        customer_id = invoice.customer
    _retrieve("customer", customer_id, "customer")
    if invoice is not None:
        if invoice.customer != customer_id:
            _fail(
                400,
                f"Invoice {invoice.id} belongs to another customer than {customer_id}.",
                param="invoice",
            )
        if invoice.status != "draft":
            _fail(
                400,
                f"You can only add invoice items to draft invoices; {invoice.id} is "
                f"{invoice.status}.",
                code="invoice_not_editable",
                param="invoice",
            )
    pricing = _parse_item_pricing(p)
    if invoice is not None and pricing["currency"] != invoice.currency:
        _fail(
            400,
            f"The currency of the invoice item ({pricing['currency']}) must match the "
            f"currency of the invoice ({invoice.currency}).",
            param="currency",
        )
    now = _now()
    fields = {
        "customer": customer_id,
        "invoice": invoice.id if invoice else None,
        "pricing": pricing,
        "description": p.string("description", max_length=500),
        "discountable": p.boolean("discountable") is not False,
        "metadata": _fresh_metadata(p.metadata()),
        "period": _parse_period(p) or {"start": now, "end": now},
        "tax_rates": _tax_rates(p.strings("tax_rates"), "tax_rates") or [],
        "tax_behavior": p.string("tax_behavior", choices=("inclusive", "exclusive", "unspecified")),
    }
    p.string("tax_code")  # accepted; only Stripe Tax uses it
    if p.has("subscription"):
        _unsupported("subscription")
    if p.has("discounts"):
        if p.raw("discounts") not in ("", []):
            _unsupported("discounts")
    if p.has("customer_account"):
        _unsupported("customer_account")
    p.finish()
    item = InvoiceItem(fields)
    if invoice is not None:
        invoice.items.append(item.id)
    customer = ls.store[f"customer:{customer_id}"]
    if customer._pooled_currency is None:
        customer._pooled_currency = item.currency
    _emit("invoiceitem.created", item)
    return item


@route("GET", "/v1/invoiceitems/{id}")
def retrieve_invoice_item(p: Params, id: str) -> InvoiceItem:
    """Retrieve an invoice item."""
    p.finish()
    return _retrieve("invoiceitem", id)


@route("POST", "/v1/invoiceitems/{id}")
def update_invoice_item(p: Params, id: str) -> InvoiceItem:
    """Update an item that is pending or on a draft invoice."""
    item = _retrieve("invoiceitem", id)
    item.editable()
    pricing = _parse_item_pricing(p, item=item)
    description = p.string("description", blank=True, max_length=500)
    discountable = p.boolean("discountable")
    metadata = p.metadata()
    period = _parse_period(p)
    tax_rates = _tax_rates(p.strings("tax_rates"), "tax_rates")
    tax_behavior = p.string("tax_behavior", choices=("inclusive", "exclusive", "unspecified"))
    p.string("tax_code")
    p.finish()
    invoice = ls.store.get(f"invoice:{item.invoice}") if item.invoice else None
    if invoice is not None and pricing["currency"] != invoice.currency:
        _fail(400, "The currency of the invoice item must match the invoice's.")
    item.set_pricing(pricing)
    if description is not None:
        item.description = description or None
    if discountable is not None:
        item.discountable = discountable
    item.metadata = _apply_metadata(item.metadata, metadata)
    if period is not None:
        item.period = period
    if tax_rates is not None:
        item.tax_rates = tax_rates
    if tax_behavior is not None:
        item.tax_behavior = tax_behavior
    return item


@route("DELETE", "/v1/invoiceitems/{id}")
def delete_invoice_item(p: Params, id: str) -> dict[str, Any]:
    """Delete an item that is pending or on a draft invoice."""
    p.finish()
    item = _retrieve("invoiceitem", id)
    item.editable()
    if item.invoice is not None:
        invoice = ls.store.get(f"invoice:{item.invoice}")
        if isinstance(invoice, Invoice):
            invoice.items.remove(item.id)
    _emit("invoiceitem.deleted", item)
    del ls.store[f"invoiceitem:{item.id}"]
    return {"id": item.id, "object": "invoiceitem", "deleted": True}


@route("GET", "/v1/invoiceitems")
def list_invoice_items(p: Params) -> dict[str, Any]:
    """List invoice items newest first; customer, invoice, pending, created."""
    items = [i for i in _all("invoiceitem") if isinstance(i, InvoiceItem)]
    customer = p.string("customer")
    if customer is not None:
        items = [i for i in items if i.customer == customer]
    invoice = p.string("invoice")
    if invoice is not None:
        items = [i for i in items if i.invoice == invoice]
    pending = p.boolean("pending")
    if pending is not None:
        items = [i for i in items if (i.invoice is None) == pending]
    created = p.raw("created")
    if created is not None:
        matches = _created_matcher(created, "created")
        items = [i for i in items if matches(i.created)]
    return _list_page("/v1/invoiceitems", items, p)


# ---- invoices -----------------------------------------------------------------------


@route("POST", "/v1/invoices")
def create_invoice(p: Params) -> Invoice:
    """Create a draft invoice (send_invoice needs days_until_due or due_date)."""
    if p.has("subscription"):
        _unsupported("subscription", " on invoice creation")
    if p.has("customer_account"):
        _unsupported("customer_account")
    customer = _retrieve("customer", p.string("customer", required=True), "customer")
    pending = p.string("pending_invoice_items_behavior", choices=("exclude", "include"))
    currency = p.currency()
    fields = _parse_invoice_fields(p, invoice=None)
    p.finish()
    collection_method = fields.get("collection_method") or "charge_automatically"
    _check_due(collection_method, fields.get("days_until_due"), fields.get("due_date"))
    if fields.get("due_date") is not None and fields["due_date"] < _now():
        _fail(400, "due_date must be in the future.", param="due_date")
    currency = currency or customer.currency or SETTINGS.currency
    defaults = customer.invoice_settings or {}
    if "custom_fields" not in fields and defaults.get("custom_fields"):
        fields["custom_fields"] = [dict(f) for f in defaults["custom_fields"]]
    if "footer" not in fields and isinstance(defaults.get("footer"), str):
        fields["footer"] = defaults["footer"] or None
    pending_items = []
    if pending == "include":
        pending_items = [
            i
            for i in reversed(_all("invoiceitem"))
            if isinstance(i, InvoiceItem)
            and i.customer == customer.id
            and i.invoice is None
            and i.currency == currency
        ]
    invoice = Invoice(
        {
            "customer": customer.id,
            "currency": currency,
            "collection_method": collection_method,
            "days_until_due": fields.get("days_until_due"),
            "due_date": fields.get("due_date"),
            "auto_advance": bool(fields.get("auto_advance")),
            "custom_fields": fields.get("custom_fields"),
            "description": fields.get("description"),
            "footer": fields.get("footer"),
            "metadata": _fresh_metadata(fields.get("metadata")),
            "number": fields.get("number"),
            "default_tax_rates": fields.get("default_tax_rates"),
            "default_payment_method": fields.get("default_payment_method"),
            "payment_settings": fields.get("payment_settings"),
            "statement_descriptor": fields.get("statement_descriptor"),
            "effective_at": fields.get("effective_at"),
        }
    )
    for item in pending_items:
        item.invoice = invoice.id
        invoice.items.append(item.id)
    if customer._pooled_currency is None:
        customer._pooled_currency = currency
    _emit("invoice.created", invoice)
    return invoice


@route("GET", "/v1/invoices/{id}")
def retrieve_invoice(p: Params, id: str) -> Any:
    """Retrieve an invoice."""
    p.finish()
    return _retrieve("invoice", id)


_EDITABLE_WHEN_FINALIZED = {"metadata", "description", "footer", "custom_fields", "auto_advance"}
_EDITABLE_WHEN_FINISHED = {"metadata"}


@route("POST", "/v1/invoices/{id}")
def update_invoice(p: Params, id: str) -> Invoice:
    """Update a draft freely; after finalizing only words and metadata; paid/void: metadata."""
    invoice = _invoice(id)
    for name in ("customer", "currency", "pending_invoice_items_behavior", "subscription"):
        if p.has(name):
            _fail(400, f"You cannot change {name} on an existing invoice.", param=name)
    fields = _parse_invoice_fields(p, invoice=invoice)
    p.finish()
    if invoice.status != "draft":
        allowed = (
            _EDITABLE_WHEN_FINALIZED
            if invoice.status in ("open", "uncollectible")
            else _EDITABLE_WHEN_FINISHED
        )
        refused = sorted(set(fields) - allowed)
        if refused:
            _fail(
                400,
                f"You can't change {', '.join(refused)} on a {invoice.status} invoice; "
                "finalized invoices keep their amounts, dates and collection method.",
                code="invoice_not_editable",
                param=refused[0],
            )
    if {"days_until_due", "due_date", "collection_method"} & set(fields):
        method = fields.get("collection_method") or invoice.collection_method
        if "days_until_due" in fields or "due_date" in fields:
            days, due = fields.get("days_until_due"), fields.get("due_date")
        elif method == "send_invoice":
            days = invoice.days_until_due
            due = invoice.due_date if days is None else None
        else:
            days = due = None
        _check_due(method, days, due)
        invoice.days_until_due = days
        if due is None and days is not None:
            due = invoice.created + days * SECONDS_PER_DAY
        invoice.due_date = due
    previous: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("days_until_due", "due_date"):
            continue
        old = getattr(invoice, name)
        if name == "metadata":
            value = _apply_metadata(invoice.metadata, value)
        elif name == "default_tax_rates":
            value = value or []
        elif name == "auto_advance":
            value = bool(value)
        if old != value:
            previous[name] = old
        setattr(invoice, name, value)
    _emit("invoice.updated", invoice, previous or None)
    return invoice


@route("DELETE", "/v1/invoices/{id}")
def delete_invoice(p: Params, id: str) -> dict[str, Any]:
    """Delete a draft invoice (and its items); finalized invoices must be voided instead."""
    p.finish()
    invoice = _invoice(id)
    if invoice.status != "draft":
        _fail(
            400,
            f"You can only delete draft invoices; {invoice.id} is {invoice.status}. "
            "Void it instead.",
        )
    _emit("invoice.deleted", invoice)
    for item_id in invoice.items:
        ls.store.pop(f"invoiceitem:{item_id}", None)
    del ls.store[f"invoice:{invoice.id}"]
    return {"id": invoice.id, "object": "invoice", "deleted": True}


@route("GET", "/v1/invoices")
def list_invoices(p: Params) -> dict[str, Any]:
    """List invoices newest first; customer, status, collection_method, created, due_date."""
    invoices = _all("invoice")
    customer = p.string("customer")
    if customer is not None:
        invoices = [i for i in invoices if i.customer == customer]
    status = p.string("status", choices=INVOICE_STATUSES)
    if status is not None:
        invoices = [i for i in invoices if i.status == status]
    method = p.string("collection_method", choices=("charge_automatically", "send_invoice"))
    if method is not None:
        invoices = [i for i in invoices if i.collection_method == method]
    subscription = p.string("subscription")
    if subscription is not None:
        invoices = [i for i in invoices if getattr(i, "subscription", None) == subscription]
    created = p.raw("created")
    if created is not None:
        matches = _created_matcher(created, "created")
        invoices = [i for i in invoices if matches(i.created)]
    due_date = p.raw("due_date")
    if due_date is not None:
        due_matches = _created_matcher(due_date, "due_date")
        invoices = [i for i in invoices if getattr(i, "due_date", None) and due_matches(i.due_date)]
    return _list_page("/v1/invoices", invoices, p)


@route("GET", "/v1/invoices/{id}/lines")
def list_invoice_lines(p: Params, id: str) -> dict[str, Any]:
    """An invoice's lines, in order, paginated."""
    invoice = _invoice(id)

    class _Line:
        def __init__(self, item: InvoiceItem) -> None:
            self.id = item.line_id
            self.item = item

        def _export(self) -> dict[str, Any]:
            return self.item.line_export(invoice)

    return _list_page(f"/v1/invoices/{id}/lines", [_Line(i) for i in invoice.line_items()], p)


@route("POST", "/v1/invoices/{id}/finalize")
def finalize_invoice(p: Params, id: str) -> Invoice:
    """Draft → open: number, due date, hosted page; emits invoice.finalized."""
    invoice = _invoice(id)
    auto_advance = p.boolean("auto_advance")
    p.finish()
    if auto_advance is not None:
        invoice.auto_advance = auto_advance
    invoice.finalize()
    return invoice


@route("POST", "/v1/invoices/{id}/send")
def send_invoice(p: Params, id: str) -> Invoice:
    """Email the invoice (nothing is emailed here); finalizes a draft; emits invoice.sent."""
    p.finish()
    invoice = _invoice(id)
    if invoice.collection_method != "send_invoice":
        _fail(
            400,
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
        )
    if invoice.status == "void":
        _fail(400, "This invoice is void and can no longer be sent.")
    customer = ls.store.get(f"customer:{invoice.customer}")
    email = (invoice.customer_snapshot or {}).get("customer_email") or (
        customer.email if customer is not None else None
    )
    if not email:
        _fail(400, "The customer has no email address, so the invoice cannot be sent.")
    if invoice.status == "draft":
        invoice.finalize()
    invoice.sent_at.append(_now())
    _emit("invoice.sent", invoice)
    return invoice


@route("POST", "/v1/invoices/{id}/pay")
def pay_invoice(p: Params, id: str) -> Invoice:
    """Pay: out of band, by card, or from the customer's cash balance; finalizes a draft."""
    invoice = _invoice(id)
    out_of_band = p.boolean("paid_out_of_band")
    payment_method = p.string("payment_method") or p.string("source")
    p.boolean("forgive")
    p.boolean("off_session")
    p.string("mandate")
    p.finish()
    if invoice.status == "paid":
        _fail(400, "Invoice is already paid")
    if invoice.status == "void":
        _fail(400, "This invoice is void and can no longer be paid.")
    if out_of_band and payment_method:
        _fail(
            400, "You may only specify one of these parameters: paid_out_of_band, payment_method."
        )
    if payment_method:
        ls.PaymentMethod._api_retrieve(payment_method)  # 404 before anything changes
    invoice.require_finalized_for("pay")
    if invoice.status == "paid":  # finalizing a zero invoice pays it
        return invoice
    remaining = invoice.amounts()["amount_remaining"]
    if out_of_band:
        invoice.mark_paid(remaining, out_of_band=True)
        return invoice
    customer = _retrieve("customer", invoice.customer)
    if not payment_method and _accepts_cash_balance(invoice):
        if customer._cash_balance.get(invoice.currency, 0) >= remaining:
            txn = CashBalanceTransaction(
                customer,
                invoice.currency,
                -remaining,
                "applied_to_payment",
                {"payment_intent": None, "invoice": invoice.id},
            )
            _emit("customer_cash_balance_transaction.created", txn)
            invoice.mark_paid(remaining, out_of_band=False)
            return invoice
    if not payment_method:
        payment_method = invoice.default_payment_method
    if not payment_method:
        source = customer._get_default_payment_method_or_source()
        payment_method = source.id if source is not None else None
    if not payment_method:
        _fail(
            400,
            "This customer has no attached payment source or default payment method. "
            "(For a bank transfer use fund_cash_balance, or pay with paid_out_of_band=true.)",
        )
    intent = ls.PaymentIntent(
        amount=remaining,
        currency=invoice.currency,
        customer=customer.id,
        payment_method=payment_method,
    )
    intent.invoice = invoice.id
    invoice.payment_intents.append(intent.id)
    intent._confirm(on_failure_now=intent._report_failure)  # raises 402 if declined
    if intent.status == "requires_action":
        _fail(
            402,
            "The card needs authentication, which this local server cannot do.",
            code="invoice_payment_intent_requires_action",
        )
    return invoice


@route("POST", "/v1/invoices/{id}/void")
def void_invoice(p: Params, id: str) -> Invoice:
    """Open or uncollectible → void; emits invoice.voided."""
    p.finish()
    invoice = _invoice(id)
    if invoice.status == "draft":
        _fail(400, "You can only void finalized invoices; delete a draft invoice instead.")
    if invoice.status == "paid":
        _fail(400, "You cannot void a paid invoice.")
    if invoice.status == "void":
        _fail(400, "This invoice is already void.")
    previous = {"status": invoice.status}
    invoice.status = "void"
    invoice.status_transitions["voided_at"] = _now()
    _emit("invoice.voided", invoice, previous)
    return invoice


@route("POST", "/v1/invoices/{id}/mark_uncollectible")
def mark_invoice_uncollectible(p: Params, id: str) -> Invoice:
    """Open → uncollectible; emits invoice.marked_uncollectible."""
    p.finish()
    invoice = _invoice(id)
    if invoice.status != "open":
        _fail(
            400,
            f"You can only mark open invoices as uncollectible; {invoice.id} is {invoice.status}.",
        )
    invoice.status = "uncollectible"
    invoice.status_transitions["marked_uncollectible_at"] = _now()
    _emit("invoice.marked_uncollectible", invoice, {"status": "open"})
    return invoice


for _name in ("add_lines", "remove_lines", "update_lines", "attach_payment"):
    route("POST", f"/v1/invoices/{{id}}/{_name}")(
        lambda p, id, _name=_name: _unsupported(f"/v1/invoices/{{id}}/{_name}")
    )
route("GET", "/v1/invoices/search")(lambda p: _unsupported("/v1/invoices/search"))
route("GET", "/v1/customers/search")(lambda p: _unsupported("/v1/customers/search"))


# ---- credit notes ---------------------------------------------------------------------

CREDIT_NOTE_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")


def _credit_note_lines(invoice: Invoice, p: Params) -> list[dict[str, Any]]:
    """Credit note lines: part of an invoice line (amount or quantity) or a custom line."""
    amount = p.integer("amount", minimum=1)
    raw_lines = p.sequence("lines")
    if raw_lines is None:
        if amount is None:
            _fail(400, "Pass `lines` or `amount` to say what is credited.", param="lines")
        single = [
            {
                "type": "custom_line_item",
                "description": "Credit",
                "quantity": 1,
                "unit_amount": amount,
                "amount": amount,
                "invoice_line_item": None,
                "rates": [],
                "metadata": {},
                "taxes": [],
            }
        ]
        return single
    by_line = {item.line_id: item for item in invoice.line_items()}
    credited = _credited_by_line(invoice)
    lines = []
    for index, raw in enumerate(raw_lines):
        lp = Params(raw, prefix=f"lines[{index}]")
        kind = lp.string("type", required=True, choices=("invoice_line_item", "custom_line_item"))
        description = lp.string("description")
        rate_ids = _tax_rates(lp.strings("tax_rates"), lp.name("tax_rates"))
        metadata = _fresh_metadata(lp.metadata())
        if lp.has("tax_amounts"):
            _unsupported(lp.name("tax_amounts"))
        if kind == "invoice_line_item":
            line_id = lp.string("invoice_line_item", required=True)
            item = by_line.get(line_id)
            if item is None:
                _fail(
                    400,
                    f"Invoice {invoice.id} has no line {line_id}.",
                    param=lp.name("invoice_line_item"),
                )
            part = lp.integer("amount", minimum=1)
            quantity = lp.integer("quantity", minimum=1)
            if (part is None) == (quantity is None):
                _fail(
                    400,
                    "Give exactly one of amount or quantity for an invoice line credit.",
                    param=lp.name("amount"),
                )
            if part is None:
                part = quantity * item.unit_amount
            left = item.amount - credited.get(line_id, 0)
            if part > left:
                _fail(
                    400,
                    f"Line {line_id} has {left} left to credit; {part} is too much.",
                    param=lp.name("amount"),
                )
            credited[line_id] = credited.get(line_id, 0) + part
            lines.append(
                {
                    "type": kind,
                    "description": description or item.display_description(),
                    "quantity": quantity,
                    "unit_amount": item.unit_amount if quantity else None,
                    "amount": part,
                    "invoice_line_item": line_id,
                    "rates": rate_ids
                    if rate_ids is not None
                    else item.tax_rates or invoice.default_tax_rates,
                    "metadata": metadata,
                }
            )
        else:
            quantity = lp.integer("quantity", minimum=1) or 1
            unit = lp.integer("unit_amount", minimum=1)
            if unit is None:
                unit = lp.whole_decimal("unit_amount_decimal")
            if unit is None:
                lp.missing("unit_amount")
            lines.append(
                {
                    "type": kind,
                    "description": description or "Credit",
                    "quantity": quantity,
                    "unit_amount": unit,
                    "amount": unit * quantity,
                    "invoice_line_item": None,
                    "rates": rate_ids or [],
                    "metadata": metadata,
                }
            )
        lp.finish()
    for line in lines:
        line["taxes"] = line_taxes(
            line["amount"], [ls.store[f"tax_rate:{r}"] for r in line["rates"]]
        )
    if amount is not None:
        total = sum(
            line["amount"]
            + sum(t["amount"] for t in line["taxes"] if t["tax_behavior"] == "exclusive")
            for line in lines
        )
        if amount != total:
            _fail(400, f"amount ({amount}) does not match the lines' total ({total}).")
    return lines


def _credited_by_line(invoice: Invoice) -> dict[str, int]:
    credited: dict[str, int] = {}
    for note in _all("credit_note"):
        if note.invoice == invoice.id and note.status == "issued":
            for line in note.lines:
                if line["invoice_line_item"]:
                    key = line["invoice_line_item"]
                    credited[key] = credited.get(key, 0) + line["amount"]
    return credited


def _plan_credit_note(p: Params) -> dict[str, Any]:
    """Validate a credit note and work out its split; nothing is written."""
    invoice = _invoice(p.string("invoice", required=True))
    if invoice.status not in ("open", "paid"):
        _fail(
            400,
            f"Credit notes can only be issued for open or paid invoices; {invoice.id} is "
            f"{invoice.status}.",
            param="invoice",
        )
    lines = _credit_note_lines(invoice, p)
    credit_amount = p.integer("credit_amount", minimum=0) or 0
    out_of_band = p.integer("out_of_band_amount", minimum=0) or 0
    if p.integer("refund_amount", minimum=0):
        _unsupported("refund_amount", " (use credit_amount or out_of_band_amount)")
    for name in ("refunds", "shipping_cost"):
        if p.has(name):
            _unsupported(name)
    reason = p.string("reason", choices=CREDIT_NOTE_REASONS)
    memo = p.string("memo", max_length=5000)
    metadata = _fresh_metadata(p.metadata())
    effective_at = p.integer("effective_at", minimum=0)
    p.string("email_type", choices=("credit_note", "none"))
    p.finish()
    subtotal = sum(line["amount"] for line in lines)
    inclusive = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "inclusive"
    )
    exclusive = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "exclusive"
    )
    total = subtotal + exclusive
    already = sum(
        n.total for n in _all("credit_note") if n.invoice == invoice.id and n.status == "issued"
    )
    creditable = invoice.amounts()["total"] - already
    if total > creditable:
        _fail(
            400,
            f"The credit note total ({total}) is more than the invoice has left to credit "
            f"({creditable}).",
        )
    pre = min(total, invoice.amounts()["amount_remaining"]) if invoice.status == "open" else 0
    post = total - pre
    if credit_amount + out_of_band != post:
        _fail(
            400,
            f"The post-payment part of this credit note is {post}: credit_amount + "
            f"out_of_band_amount must add up to it (got {credit_amount + out_of_band}).",
        )
    return {
        "invoice": invoice,
        "lines": lines,
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal - inclusive,
        "total": total,
        "total_excluding_tax": subtotal - inclusive,
        "pre_payment_amount": pre,
        "post_payment_amount": post,
        "credit_amount": credit_amount,
        "out_of_band_amount": out_of_band,
        "reason": reason,
        "memo": memo,
        "metadata": metadata,
        "effective_at": effective_at,
    }


class CreditNote(ls.StripeObject):
    """A credit note against an open or paid invoice (pre-payment, post-payment or mixed)."""

    object = "credit_note"
    _id_prefix = "cn_"

    def __init__(self, plan: dict[str, Any], *, preview: bool = False) -> None:
        invoice: Invoice = plan["invoice"]
        sequence = 1 + sum(1 for n in _all("credit_note") if n.invoice == invoice.id)
        if preview:
            self.id = "cn_preview"
            self.created = _now()
        else:
            super().__init__()
        self.invoice = invoice.id
        self.customer = invoice.customer
        self.currency = invoice.currency
        self.number = f"{invoice.number}-CN-{sequence:02d}"
        self.lines = [{**line, "id": "cnli_" + ls.random_id(14)} for line in plan["lines"]]
        for name in (
            "subtotal",
            "subtotal_excluding_tax",
            "total",
            "total_excluding_tax",
            "pre_payment_amount",
            "post_payment_amount",
            "credit_amount",
            "out_of_band_amount",
            "reason",
            "memo",
            "metadata",
        ):
            setattr(self, name, plan[name])
        self.effective_at = plan["effective_at"] or self.created
        self.status = "issued"
        self.voided_at: int | None = None

    def line_export(self, line: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": line["id"],
            "object": "credit_note_line_item",
            "amount": line["amount"],
            "description": line["description"],
            "discount_amount": 0,
            "discount_amounts": [],
            "invoice_line_item": line["invoice_line_item"],
            "livemode": False,
            "metadata": dict(line["metadata"]),
            "pretax_credit_amounts": [],
            "quantity": line["quantity"],
            "tax_rates": [ls.store[f"tax_rate:{r}"]._export() for r in line["rates"]],
            "taxes": line["taxes"],
            "type": line["type"],
            "unit_amount": line["unit_amount"],
            "unit_amount_decimal": str(line["unit_amount"])
            if line["unit_amount"] is not None
            else None,
        }

    def _export(self, expand: Any = None) -> dict[str, Any]:
        lines = [self.line_export(line) for line in self.lines]
        taxes: dict[tuple[str, str], dict[str, Any]] = {}
        for line in self.lines:
            for tax in line["taxes"]:
                key = (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"])
                entry = taxes.setdefault(key, {**tax, "amount": 0, "taxable_amount": 0})
                entry["amount"] += tax["amount"]
                entry["taxable_amount"] += tax["taxable_amount"]
        kind = "mixed"
        if not self.post_payment_amount:
            kind = "pre_payment"
        elif not self.pre_payment_amount:
            kind = "post_payment"
        return {
            "id": self.id,
            "object": "credit_note",
            "amount": self.total,
            "amount_shipping": 0,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": None,
            "customer_balance_transaction": None,
            "discount_amount": 0,
            "discount_amounts": [],
            "effective_at": self.effective_at,
            "invoice": self.invoice,
            "lines": {
                "object": "list",
                "data": lines[:LINES_ON_INVOICE],
                "has_more": len(lines) > LINES_ON_INVOICE,
                "url": f"/v1/credit_notes/{self.id}/lines",
            },
            "livemode": False,
            "memo": self.memo,
            "metadata": dict(self.metadata),
            "number": self.number,
            "out_of_band_amount": self.out_of_band_amount or None,
            "pdf": f"{_origin()}/_test/credit_notes/{self.id}",
            "post_payment_amount": self.post_payment_amount,
            "pre_payment_amount": self.pre_payment_amount,
            "pretax_credit_amounts": [],
            "reason": self.reason,
            "refunds": [],
            "shipping_cost": None,
            "status": self.status,
            "subtotal": self.subtotal,
            "subtotal_excluding_tax": self.subtotal_excluding_tax,
            "total": self.total,
            "total_excluding_tax": self.total_excluding_tax,
            "total_taxes": list(taxes.values()),
            "type": kind,
            "voided_at": self.voided_at,
        }


@route("POST", "/v1/credit_notes")
def create_credit_note(p: Params) -> CreditNote:
    """Credit an open or paid invoice; an open one is credited first, the rest goes out."""
    plan = _plan_credit_note(p)
    invoice: Invoice = plan["invoice"]
    note = CreditNote(plan)
    invoice.pre_payment_credit += note.pre_payment_amount
    invoice.post_payment_credit += note.post_payment_amount
    if note.credit_amount:
        customer = _retrieve("customer", invoice.customer)
        customer.balance -= note.credit_amount
        customer.account_balance = -customer.balance
    _emit("credit_note.created", note)
    if invoice.status == "open" and invoice.amounts()["amount_remaining"] == 0:
        invoice.status = "paid"
        invoice.status_transitions["paid_at"] = _now()
        _emit("invoice.paid", invoice, {"status": "open"})
    return note


@route("GET", "/v1/credit_notes/preview")
def preview_credit_note(p: Params) -> CreditNote:
    """What a credit note would be, without issuing it."""
    return CreditNote(_plan_credit_note(p), preview=True)


@route("GET", "/v1/credit_notes/{id}")
def retrieve_credit_note(p: Params, id: str) -> CreditNote:
    """Retrieve a credit note."""
    p.finish()
    return _retrieve("credit_note", id)


@route("POST", "/v1/credit_notes/{id}")
def update_credit_note(p: Params, id: str) -> CreditNote:
    """Change a credit note's memo or metadata."""
    note = _retrieve("credit_note", id)
    memo = p.string("memo", blank=True, max_length=5000)
    metadata = p.metadata()
    p.finish()
    if memo is not None:
        note.memo = memo or None
    note.metadata = _apply_metadata(note.metadata, metadata)
    _emit("credit_note.updated", note)
    return note


@route("POST", "/v1/credit_notes/{id}/void")
def void_credit_note(p: Params, id: str) -> CreditNote:
    """Void a credit note whose effect can still be undone."""
    p.finish()
    note = _retrieve("credit_note", id)
    if note.status == "void":
        _fail(400, "This credit note is already void.")
    invoice = _invoice(note.invoice)
    customer = _retrieve("customer", note.customer)
    if note.pre_payment_amount and invoice.status != "open":
        _fail(
            400,
            f"Invoice {invoice.id} is {invoice.status} now; this credit note can no longer be "
            "voided.",
        )
    if note.credit_amount and -customer.balance < note.credit_amount:
        _fail(400, "The customer has already used this credit; it can no longer be voided.")
    invoice.pre_payment_credit -= note.pre_payment_amount
    invoice.post_payment_credit -= note.post_payment_amount
    customer.balance += note.credit_amount
    customer.account_balance = -customer.balance
    note.status = "void"
    note.voided_at = _now()
    _emit("credit_note.voided", note)
    return note


@route("GET", "/v1/credit_notes")
def list_credit_notes(p: Params) -> dict[str, Any]:
    """List credit notes newest first; invoice, customer, created."""
    notes = _all("credit_note")
    invoice = p.string("invoice")
    if invoice is not None:
        notes = [n for n in notes if n.invoice == invoice]
    customer = p.string("customer")
    if customer is not None:
        notes = [n for n in notes if n.customer == customer]
    created = p.raw("created")
    if created is not None:
        matches = _created_matcher(created, "created")
        notes = [n for n in notes if matches(n.created)]
    return _list_page("/v1/credit_notes", notes, p)


@route("GET", "/v1/credit_notes/{id}/lines")
def list_credit_note_lines(p: Params, id: str) -> dict[str, Any]:
    """A credit note's lines, in order, paginated."""
    note = _retrieve("credit_note", id)

    class _Line:
        def __init__(self, line: dict[str, Any]) -> None:
            self.id = line["id"]
            self.line = line

        def _export(self) -> dict[str, Any]:
            return note.line_export(self.line)

    return _list_page(f"/v1/credit_notes/{id}/lines", [_Line(x) for x in note.lines], p)


# ---- test helpers (/_test, no API key needed) -----------------------------------------


@route("GET", "/_test/health")
def health(p: Params) -> dict[str, Any]:
    """Readiness probe for the fixture."""
    return {"ok": True, "api_version": SETTINGS.api_version, "currency": SETTINGS.currency}


@route("POST", "/_test/invoices/{id}/fail_payment")
def fail_payment(p: Params, id: str) -> Invoice:
    """Simulate a failed payment attempt on an open invoice: invoice.payment_failed."""
    p.finish()
    invoice = _invoice(id)
    if invoice.status not in ("open", "uncollectible"):
        _fail(400, f"Only open invoices can fail a payment; {invoice.id} is {invoice.status}.")
    invoice.payment_failed()
    return invoice


@route("POST", "/_test/invoices/{id}/bank_transfer")
def bank_transfer(p: Params, id: str) -> dict[str, Any]:
    """Simulate the school's bank transfer: fund its cash balance, referencing the number."""
    invoice = _invoice(id)
    if invoice.status not in ("open", "uncollectible"):
        _fail(400, f"Only open invoices can be paid by transfer; {invoice.id} is {invoice.status}.")
    amount = p.integer("amount", minimum=1)
    reference = p.string("reference")
    p.finish()
    funding = Params(
        {
            "amount": amount or invoice.amounts()["amount_remaining"],
            "currency": invoice.currency,
            "reference": reference or invoice.number,
        }
    )
    txn = _fund_cash_balance(invoice.customer, funding)
    return {"transaction": txn._export(), "invoice": invoice._export()}


@route("POST", "/_test/invoices/{id}/overdue")
def overdue(p: Params, id: str) -> Invoice:
    """Simulate the due date passing on an open send_invoice invoice: invoice.overdue."""
    p.finish()
    invoice = _invoice(id)
    if invoice.status != "open" or invoice.collection_method != "send_invoice":
        _fail(400, "Only open send_invoice invoices can become overdue.")
    _emit("invoice.overdue", invoice)
    return invoice


@route("GET", "/_test/invoices/{id}/hosted")
def hosted_invoice(p: Params, id: str) -> web.Response:
    """A plain HTML rendering of a finalized invoice (stands in for Stripe's hosted page)."""
    p.raw("format")
    p.finish()
    invoice = _invoice(id)
    if invoice.status == "draft":
        _fail(404, "Draft invoices have no hosted page.")
    return web.Response(text=render_invoice_html(invoice), content_type="text/html")


@route("GET", "/_test/credit_notes/{id}")
def hosted_credit_note(p: Params, id: str) -> web.Response:
    """A plain HTML rendering of a credit note (stands in for Stripe's PDF)."""
    p.finish()
    note = _retrieve("credit_note", id)
    invoice = _invoice(note.invoice)
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(line['description'] or '')}</td><td>{line['amount']}</td></tr>"
        for line in note.lines
    )
    body = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Credit note {esc(note.number)}</title></head><body>"
        f"<h1>Credit note {esc(note.number)}</h1><p>Against invoice {esc(invoice.number)}; "
        f"status {esc(note.status)}; reason {esc(note.reason or '—')}</p>"
        f"<table>{rows}</table><p>Total credited: {note.total} ({esc(note.currency)}, "
        f"in minor units)</p><p>{esc(note.memo or '')}</p></body></html>"
    )
    return web.Response(text=body, content_type="text/html")


@route("GET", "/_test/webhook_deliveries")
def list_deliveries(p: Params) -> dict[str, Any]:
    """Every webhook delivery attempt so far, oldest first; filter by event/type/webhook."""
    event = p.string("event")
    kind = p.string("type")
    webhook = p.string("webhook")
    p.finish()
    data = [
        d
        for d in DISPATCHER.deliveries
        if (event is None or d["event"] == event)
        and (kind is None or d["type"] == kind)
        and (webhook is None or d["webhook"] == webhook)
    ]
    return {"object": "list", "data": data, "has_more": False, "url": "/_test/webhook_deliveries"}


@route("POST", "/_test/events/{id}/resend")
async def resend_event(p: Params, id: str) -> dict[str, Any]:
    """Deliver an existing event again now (same id, fresh signature), as Stripe retries do."""
    webhook = p.string("webhook")
    p.finish()
    event = _retrieve("event", id)
    if webhook is not None:
        if webhook not in DISPATCHER.endpoints:
            _fail(404, f"No such webhook: '{webhook}'")
        endpoints = [DISPATCHER.endpoints[webhook]]
    else:
        endpoints = [e for e in DISPATCHER.endpoints.values() if e.wants(event.type)]
    records = [await DISPATCHER.deliver(event, e, resend=True) for e in endpoints]
    return {"object": "list", "data": records, "has_more": False, "url": f"/_test/events/{id}"}


@route("POST", "/_config/webhooks/{id}")
def register_webhook(p: Params, id: str) -> dict[str, Any]:
    """Register (or replace) a webhook endpoint: url, secret, optional events list."""
    url = p.string("url", required=True)
    secret = p.string("secret", required=True)
    events = p.strings("events")
    p.finish()
    if not url.startswith(("http://", "https://")):
        _fail(400, "url must be an http(s) URL.", param="url")
    DISPATCHER.endpoints[id] = WebhookEndpoint(id, url, secret, events)
    return DISPATCHER.endpoints[id].export()


@route("DELETE", "/_config/webhooks/{id}")
def unregister_webhook(p: Params, id: str) -> dict[str, Any]:
    """Remove a webhook endpoint."""
    p.finish()
    if DISPATCHER.endpoints.pop(id, None) is None:
        _fail(404, f"No such webhook: '{id}'")
    return {"id": id, "deleted": True}


@route("GET", "/_config/webhooks")
def list_webhooks(p: Params) -> dict[str, Any]:
    """Registered webhook endpoints (secrets not shown)."""
    p.finish()
    return {"object": "list", "data": [e.export() for e in DISPATCHER.endpoints.values()]}


@route("DELETE", "/_config/data")
def flush_data(p: Params) -> dict[str, Any]:
    """Forget every object, event, idempotency key and delivery (webhooks stay registered)."""
    p.finish()
    ls.store.clear()
    STATE.clear()
    DISPATCHER.deliveries.clear()
    DISPATCHER.drain()
    return {"flushed": True}


def render_invoice_html(invoice: Invoice) -> str:
    """The invoice as a school would see it: number, PO and other custom fields, lines, totals."""
    data = invoice._export()

    def money(pence: int) -> str:
        symbol = "£" if data["currency"] == "gbp" else data["currency"].upper() + " "
        sign = "-" if pence < 0 else ""
        return f"{sign}{symbol}{abs(pence) / 100:,.2f}"

    def day(ts: int | None) -> str:
        return time.strftime("%d %B %Y", time.gmtime(ts)) if ts else "—"

    esc = html.escape
    custom = "".join(
        f"<dt>{esc(f['name'])}</dt><dd>{esc(f['value'])}</dd>" for f in data["custom_fields"] or []
    )
    lines = "".join(
        f"<tr><td>{esc(line['description'] or '')}</td><td>{line['quantity']}</td>"
        f"<td>{money(line['amount'])}</td></tr>"
        for line in (i.line_export(invoice) for i in invoice.line_items())
    )
    taxes = "".join(
        f"<tr><th colspan=2>VAT ({esc(t['tax_rate_details']['tax_rate'])})</th>"
        f"<td>{money(t['amount'])}</td></tr>"
        for t in data["total_taxes"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {esc(data["number"] or "")}</title>
</head><body>
<h1>Invoice {esc(data["number"] or "")}</h1>
<p>Status: <strong>{esc(data["status"])}</strong></p>
<dl><dt>Billed to</dt><dd>{esc(data["customer_name"] or "")}
 &lt;{esc(data["customer_email"] or "")}&gt;</dd>
<dt>Date of issue</dt><dd>{day(data["effective_at"])}</dd>
<dt>Date due</dt><dd>{day(data["due_date"])}</dd>{custom}</dl>
<p>{esc(data["description"] or "")}</p>
<table><thead><tr><th>Description</th><th>Qty</th><th>Amount</th></tr></thead>
<tbody>{lines}</tbody>
<tfoot><tr><th colspan=2>Subtotal</th><td>{money(data["subtotal"])}</td></tr>{taxes}
<tr><th colspan=2>Total</th><td>{money(data["total"])}</td></tr>
<tr><th colspan=2>Amount due</th><td>{money(data["amount_remaining"])}</td></tr></tfoot></table>
<footer>{esc(data["footer"] or "")}</footer>
</body></html>
"""


# --------------------------------------------------------------------------------------
# Middlewares and the application
# --------------------------------------------------------------------------------------


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Stripe-shaped JSON for every error, including unknown URLs and crashes."""
    try:
        return await handler(request)
    except UserError as exc:
        return exc.to_response()
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            message = (
                f"Unrecognized request URL ({request.method}: {request.path}). "
                "The local Stripe server does not implement it."
            )
            return _json(
                {"error": {"type": "invalid_request_error", "message": message}}, exc.status
            )
        raise
    except Exception as exc:
        log.exception("localstripe extension crashed on %s %s", request.method, request.path)
        response = _json(
            {"error": {"type": "api_error", "message": f"localstripe crashed: {exc!r}"}}, 500
        )
        response.headers["Stripe-Should-Retry"] = "false"
        return response


def _is_api(path: str) -> bool:
    return path.startswith("/v1/")


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, API version and origin for events and hosted URLs."""
    request_id = "req_" + ls.random_id(14)
    request["request_id"] = request_id
    api_version = request.headers.get("Stripe-Version") or SETTINGS.api_version
    request["api_version"] = api_version
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    ctx = _RequestContext(
        request_id=request_id if _is_api(request.path) else None,
        idempotency_key=key if _is_api(request.path) else None,
        api_version=api_version,
        origin=f"{request.scheme}://{request.host}",
    )
    token = _context.set(ctx)
    try:
        return await handler(request)
    finally:
        _context.reset(token)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """localstripe's rules (secret key needed for /v1); /_test and /_config are open."""
    if request.path.startswith(("/_test/", "/_config/")):
        return await handler(request)
    return await ls_server.auth_middleware(request, handler)


def _idempotency_error(message: str, status: int = 400) -> web.Response:
    return _json({"error": {"type": "idempotency_error", "message": message}}, status)


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Same key + same endpoint + same parameters → the first response, replayed."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not _is_api(request.path):
        return await handler(request)
    if len(key) > 255:
        return _json(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Idempotency keys can be at most 255 characters long.",
                }
            },
            400,
        )
    api_key = ls_server.get_api_key(request) or ""
    data = await ls_server.get_post_data(request, remove_auth=False)
    params = json.dumps(dict(data) if data else {}, sort_keys=True, default=str)
    slot = (api_key, key)
    saved = STATE.idempotency.get(slot)
    if saved is not None:
        if (saved.method, saved.path) != (request.method, request.path):
            return _idempotency_error(
                "Keys for idempotent requests can only be used for the same endpoint they "
                f"were first used for ('{saved.method} {saved.path}' vs "
                f"'{request.method} {request.path}'). Try using a key other than '{key}' if "
                "you meant to execute a different request."
            )
        if saved.params != params:
            return _idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        response = web.Response(
            body=saved.body, status=saved.status, content_type="application/json"
        )
        response.headers["Idempotent-Replayed"] = "true"
        response.headers["Original-Request"] = saved.request_id
        return response
    if slot in STATE.in_flight:
        response = _json(
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "idempotency_key_in_use",
                    "message": "There is currently another in-progress request using this "
                    "Idempotent Key. Please try again later.",
                }
            },
            409,
        )
        return response
    STATE.in_flight.add(slot)
    try:
        try:
            response = await handler(request)
        except UserError as exc:
            response = exc.to_response()
    finally:
        STATE.in_flight.discard(slot)
    if (200 <= response.status < 300 or response.status == 402) and isinstance(
        response, web.Response
    ):
        STATE.idempotency[slot] = _SavedResponse(
            request.method,
            request.path,
            params,
            response.status,
            bytes(response.body),
            request["request_id"],
        )
    return response


async def _response_headers(request: web.Request, response: web.StreamResponse) -> None:
    if "request_id" in request:
        response.headers.setdefault("Request-Id", request["request_id"])
    if "api_version" in request and _is_api(request.path):
        response.headers.setdefault("Stripe-Version", request["api_version"])


def _as_async(handler: Handler) -> Handler:
    """localstripe's handlers are partly plain functions; aiohttp wants coroutines."""
    if asyncio.iscoroutinefunction(handler):
        return handler

    async def call(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return call


_LOCALSTRIPE_CLASSES = (
    ls.BalanceTransaction,
    ls.Charge,
    ls.Coupon,
    ls.Customer,
    ls.Event,
    ls.PaymentIntent,
    ls.PaymentMethod,
    ls.Payout,
    ls.Plan,
    ls.Product,
    ls.Refund,
    ls.SetupIntent,
    ls.Source,
    ls.Subscription,
    ls.SubscriptionItem,
    ls.TaxRate,
    ls.Token,
)


def build_app(*, currency: str = DEFAULT_CURRENCY, webhook_delay: float = 0.2) -> web.Application:
    """The aiohttp app: the extension's routes first, then localstripe's remaining ones."""
    SETTINGS.currency = currency
    SETTINGS.webhook_delay = webhook_delay
    app = web.Application(
        middlewares=[
            error_middleware,
            context_middleware,
            auth_middleware,
            idempotency_middleware,
        ]
    )
    app.on_response_prepare.append(_response_headers)
    app.on_response_prepare.append(ls_server.add_cors_headers)
    app.on_startup.append(DISPATCHER.start)
    app.on_cleanup.append(DISPATCHER.stop)
    taken: set[tuple[str, str]] = set()
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, _wrap(handler))
        taken.add((method, path))

    def replaced(path: str) -> bool:
        return path.startswith(("/v1/invoices", "/v1/invoiceitems"))

    for method, path, func in ls.extra_apis:
        if (method, path) not in taken and not replaced(path):
            app.router.add_route(method, path, _as_async(ls_server.api_extra(func, path)))
            taken.add((method, path))
    for cls in _LOCALSTRIPE_CLASSES:
        base = "/v1/" + cls.object + "s"
        for method, path, factory in (
            ("POST", base, ls_server.api_create),
            ("GET", base + "/{id}", ls_server.api_retrieve),
            ("POST", base + "/{id}", ls_server.api_update),
            ("DELETE", base + "/{id}", ls_server.api_delete),
            ("GET", base, ls_server.api_list_all),
        ):
            if (method, path) not in taken:
                app.router.add_route(method, path, _as_async(factory(cls, path)))
                taken.add((method, path))
    app.router.add_get("/js.stripe.com/v3/", _as_async(ls_server.localstripe_js))
    return app


async def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    currency: str = DEFAULT_CURRENCY,
    webhook_delay: float = 0.2,
    access_log: bool = True,
) -> None:
    """Run the server until SIGTERM/SIGINT; prints the URL once it is listening."""
    app = build_app(currency=currency, webhook_delay=webhook_delay)
    runner = web.AppRunner(
        app, access_log=logging.getLogger("aiohttp.access") if access_log else None
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        print(f"localstripe (Pooled extension) listening on http://{host}:{bound_port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m tests.support.localstripe_server --port N [--host H]``."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.localstripe_server",
        description="Local Stripe (localstripe + Pooled's billing extension), test-only.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--host", default=DEFAULT_HOST, help="default 127.0.0.1")
    parser.add_argument("--currency", default=DEFAULT_CURRENCY, help="account currency")
    parser.add_argument(
        "--webhook-delay",
        type=float,
        default=0.2,
        help="seconds between an event and its webhook delivery (default 0.2)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    asyncio.run(
        serve(
            args.host,
            args.port,
            currency=args.currency.lower(),
            webhook_delay=args.webhook_delay,
            access_log=not args.quiet,
        )
    )


# --------------------------------------------------------------------------------------
# Running it in a subprocess (used by tests/support/stripe_fixtures.py)
# --------------------------------------------------------------------------------------


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    if not url.startswith("http://"):
        raise ValueError(url)
    try:
        with urllib.request.urlopen(f"{url}/_test/health", timeout=0.5) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class LocalStripeProcess:
    """A running server subprocess; ``stop()`` ends it (also on context exit)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the subprocess, then kill it if it does not stop in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> LocalStripeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    port: int | None = None,
    host: str = DEFAULT_HOST,
    *,
    currency: str = DEFAULT_CURRENCY,
    webhook_delay: float = 0.2,
    log_path: Path | None = None,
    timeout: float = 20.0,
) -> LocalStripeProcess:
    """Start ``python -m tests.support.localstripe_server`` and wait until it answers.

    With no port, a free one is picked (and another tried if it is taken meanwhile).
    """
    attempts = 1 if port is not None else 3
    last_error = ""
    for _ in range(attempts):
        chosen = port if port is not None else free_port(host)
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="localstripe-", suffix=".log")
            os.close(handle)
            path = Path(name)
        else:
            path = log_path
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        with path.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.localstripe_server",
                    "--host",
                    host,
                    "--port",
                    str(chosen),
                    "--currency",
                    currency,
                    "--webhook-delay",
                    str(webhook_delay),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        server = LocalStripeProcess(f"http://{host}:{chosen}", process, path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers(server.url):
                return server
            time.sleep(0.05)
        server.stop()
        last_error = server.log_tail()
    raise RuntimeError(f"local Stripe server did not start on {host}:{chosen}:\n{last_error}")


if __name__ == "__main__":
    main()
