"""A school's basket: offer lines from any providers, checked out together as orders.

A line is an offer, a term and a quantity, checked by the order page's rules when it is added
or changed (marketplace.orders.drafting.prepare) and priced afresh whenever the basket is shown,
so the page always says what checking out would cost now and names each line's problem (the
offer withdrawn since, capacity short, the service retired).

Checkout sends the whole basket under one purchase-order number: one order per line (an order
holds one offer), grouped by a `Checkout`, each written and submitted by the same code as a
single order (drafting.add_draft and drafting.submit_draft: the school's approval rule, capacity
reserved with one conditional UPDATE). All or nothing: if any line fails, the use case raises
CheckoutRefused naming every problem, and the rollback leaves no order, no reservation and the
basket as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.calendar import term_label
from app.errors import DomainError
from app.extensions import count_rows, db
from app.models import User
from app.money import format_pence
from app.time import london_today
from app.use_case import use_case
from marketplace.offers import pricing
from marketplace.offers.models import Offer
from marketplace.orders import drafting
from marketplace.orders.errors import (
    BasketChanged,
    BasketLineNotFound,
    CheckoutNotFound,
    CheckoutRefused,
    InvalidOrder,
    OfferUnavailable,
)
from marketplace.orders.models import BasketLine, Checkout, Order

# The most lines one basket holds: more is a slip, and every line is priced on every view.
MAX_LINES = 30


# Reading the basket --------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    """A basket line as it stands today: its price at its quantity, or why it cannot be ordered."""

    line: BasketLine
    quote: pricing.Quote | None
    problem: str | None

    @property
    def offer(self) -> Offer:
        return self.line.offer

    @property
    def term_label(self) -> str:
        return term_label(self.line.term_key)

    @property
    def total_pence(self) -> int:
        """The line's price excluding VAT (0 while it has a problem)."""
        return self.quote.total_pence if self.quote else 0

    @property
    def vat_applies(self) -> bool:
        return self.line.offer.service.vat.rate_bp > 0


@dataclass(frozen=True)
class ProviderGroup:
    """The lines from one provider: they become that provider's orders at checkout."""

    provider_name: str
    lines: list[PricedLine]

    @property
    def total_pence(self) -> int:
        """What the group's lines cost, excluding VAT."""
        return sum(line.total_pence for line in self.lines)

    @property
    def vat_applies(self) -> bool:
        return any(line.vat_applies for line in self.lines)


@dataclass(frozen=True)
class Basket:
    """The school's basket, grouped by provider (by name), priced as of `today`."""

    groups: list[ProviderGroup]

    @property
    def lines(self) -> list[PricedLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def total_pence(self) -> int:
        """Every line's price, excluding VAT."""
        return sum(group.total_pence for group in self.groups)

    @property
    def vatable_pence(self) -> int:
        """The part of the total that VAT is added to."""
        return sum(line.total_pence for line in self.lines if line.vat_applies)

    @property
    def problems(self) -> list[PricedLine]:
        return [line for line in self.lines if line.problem]

    @property
    def fingerprint(self) -> str:
        """What the school checked: each line, its quantity and price. Checkout refuses when the
        basket no longer matches it."""
        text = ";".join(
            f"{p.line.id}:{p.line.term_key}:{p.line.quantity}:{p.total_pence}:{bool(p.problem)}"
            for p in sorted(self.lines, key=lambda p: p.line.id)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def line_count(school_id: int) -> int:
    """How many lines the school's basket holds (for the header)."""
    return count_rows(sa.select(BasketLine.id).where(BasketLine.school_id == school_id))


def _lines(school_id: int, *, lock: bool = False) -> list[BasketLine]:
    stmt = (
        sa.select(BasketLine)
        .where(BasketLine.school_id == school_id)
        .order_by(BasketLine.id)
        .options(selectinload(BasketLine.offer))
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(stmt))


def _price(line: BasketLine, today: date, *, lock_entitlement: bool = False) -> PricedLine:
    offer = line.offer
    if not offer.service.active:
        return PricedLine(line, None, "This service has been retired from the catalogue.")
    try:
        prepared = drafting.prepare(
            offer_id=offer.id,
            school_id=line.school_id,
            term_key=line.term_key,
            quantity=line.quantity,
            today=today,
            lock_entitlement=lock_entitlement,
        )
    except DomainError as exc:
        return PricedLine(line, None, _sentence(exc.message))
    return PricedLine(line, prepared.quote, None)


def _sentence(message: str) -> str:
    return message if message.endswith(".") else message + "."


def _group(priced: list[PricedLine]) -> list[ProviderGroup]:
    by_provider: dict[int, list[PricedLine]] = {}
    for line in priced:
        by_provider.setdefault(line.offer.provider_id, []).append(line)
    groups = [ProviderGroup(lines[0].offer.provider.name, lines) for lines in by_provider.values()]
    return sorted(groups, key=lambda g: (g.provider_name.lower(), g.lines[0].line.id))


def school_basket(school_id: int, today: date) -> Basket:
    """The school's basket, every line priced as of `today` (read only)."""
    return Basket(_group([_price(line, today) for line in _lines(school_id)]))


def get_line_for_school(line_id: int, school_id: int, *, lock: bool = False) -> BasketLine:
    """One line of the school's own basket (404 for anyone else's)."""
    stmt = sa.select(BasketLine).where(BasketLine.id == line_id, BasketLine.school_id == school_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    line = db.session.scalar(stmt)
    if line is None:
        raise BasketLineNotFound("There is no such line in your basket.")
    return line


def get_checkout_for_school(checkout_id: int, school_id: int) -> Checkout:
    """One of the school's checkouts, with its orders (404 for anyone else's)."""
    checkout = db.session.scalar(
        sa.select(Checkout)
        .where(Checkout.id == checkout_id, Checkout.school_id == school_id)
        .options(
            selectinload(Checkout.orders).selectinload(Order.provider),
            selectinload(Checkout.orders).selectinload(Order.service),
        )
    )
    if checkout is None:
        raise CheckoutNotFound("There is no such checkout.")
    return checkout


# Use cases -----------------------------------------------------------------------------------


@use_case
def add_line(
    *,
    school_id: int,
    offer_id: int,
    term_key: str | None,
    quantity: object,
    actor: User,
    today: date | None = None,
) -> BasketLine:
    """Put an offer in the school's basket for a term and quantity, checked as an order would
    be. The same offer and term already there: the quantities are added together."""
    today = today or london_today()
    offer = db.session.get(Offer, offer_id) if isinstance(offer_id, int) else None
    if offer is not None and not offer.service.active:
        raise OfferUnavailable("This service has been retired from the catalogue.")
    prepared = drafting.prepare(
        offer_id=offer_id,
        school_id=school_id,
        term_key=term_key,
        quantity=quantity,
        today=today,
    )
    assert isinstance(quantity, int)
    key = prepared.term.key
    line = db.session.scalar(
        sa.select(BasketLine)
        .where(
            BasketLine.school_id == school_id,
            BasketLine.offer_id == offer_id,
            BasketLine.term_key == key,
        )
        .with_for_update()
    )
    if line is None:
        if line_count(school_id) >= MAX_LINES:
            raise InvalidOrder(
                f"Your basket already holds {MAX_LINES} lines, the most it can: check it out "
                "or remove a line first."
            )
        line = BasketLine(
            school_id=school_id,
            offer_id=offer_id,
            term_key=key,
            quantity=quantity,
            added_by_id=actor.id,
        )
        db.session.add(line)
    else:
        total = line.quantity + quantity
        drafting.prepare(
            offer_id=offer_id, school_id=school_id, term_key=key, quantity=total, today=today
        )
        line.quantity = total
    db.session.commit()
    return line


@use_case
def change_quantity(
    line_id: int, school_id: int, *, quantity: object, actor: User, today: date | None = None
) -> BasketLine:
    """Change a line's quantity, checked as the order page checks it."""
    line = get_line_for_school(line_id, school_id, lock=True)
    drafting.prepare(
        offer_id=line.offer_id,
        school_id=school_id,
        term_key=line.term_key,
        quantity=quantity,
        today=today or london_today(),
    )
    assert isinstance(quantity, int)
    line.quantity = quantity
    db.session.commit()
    return line


@use_case
def remove_line(line_id: int, school_id: int, actor: User) -> Offer:
    """Take a line out of the school's basket; returns the offer it was for."""
    line = get_line_for_school(line_id, school_id, lock=True)
    offer = line.offer
    db.session.delete(line)
    db.session.commit()
    return offer


@use_case
def checkout(
    school_id: int,
    actor: User,
    *,
    po_number: str | None,
    fingerprint: str | None,
    today: date | None = None,
) -> Checkout:
    """Send the whole basket as orders under one purchase-order number, or nothing at all.

    `fingerprint`: the basket's as the school checked it; a basket changed since is refused.
    Each line becomes an order, submitted through the single order's rules (approval per the
    school's threshold, capacity reserved atomically); any line that fails refuses the lot.
    """
    today = today or london_today()
    lines = _lines(school_id, lock=True)  # a second checkout of the same basket waits here
    if not lines:
        raise BasketChanged("Your basket is empty: nothing was submitted.")
    shown = Basket(_group([_price(line, today) for line in lines]))
    if fingerprint != shown.fingerprint:
        raise BasketChanged(
            "Your basket has changed since you checked it (a line, a quantity or a price): "
            "nothing was submitted. Check it again, then confirm."
        )
    po = drafting.clean_po(po_number)
    problems = [_named(p, p.problem) for p in shown.problems if p.problem]
    if problems:
        raise CheckoutRefused(_refusal(problems), problems)
    record = Checkout(school_id=school_id, po_number=po, created_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    failed: dict[int, str] = {}
    # Capacity rows are locked in one order (offer, term) by every checkout, so two baskets
    # holding the same offers wait for each other rather than deadlock.
    for priced in sorted(shown.lines, key=lambda p: (p.line.offer_id, p.line.term_key)):
        try:
            _place(priced, record, actor, today)
        except DomainError as exc:
            failed[priced.line.id] = _named(priced, _sentence(exc.message))
    problems = [failed[p.line.id] for p in shown.lines if p.line.id in failed]
    if problems:
        raise CheckoutRefused(_refusal(problems), problems)
    for line in lines:
        db.session.delete(line)
    db.session.commit()
    return record


def _place(priced: PricedLine, record: Checkout, actor: User, today: date) -> None:
    """Write and submit one line's order, exactly as a single order is submitted."""
    line = priced.line
    prepared = drafting.prepare(
        offer_id=line.offer_id,
        school_id=line.school_id,
        term_key=line.term_key,
        quantity=line.quantity,
        today=today,
    )
    if prepared.quote.total_pence != priced.total_pence:
        # An earlier line of this basket used the school's remaining entitlement.
        raise BasketChanged(
            f"Its price is now {format_pence(prepared.quote.total_pence)} "
            f"(was {format_pence(priced.total_pence)}): check the basket again"
        )
    order = drafting.add_draft(
        prepared, po_number=record.po_number, notes="", actor=actor, checkout_id=record.id
    )
    drafting.submit_draft(order, actor, today=today)


def _named(priced: PricedLine, problem: str) -> str:
    offer = priced.offer
    return f"{offer.service.name} from {offer.provider.name}, {priced.term_label}: {problem}"


def _refusal(problems: list[str]) -> str:
    count = len(problems)
    return (
        f"Nothing was submitted: {count} line{'s' if count != 1 else ''} of your basket "
        f"cannot be ordered as {'they stand' if count != 1 else 'it stands'}."
    )
