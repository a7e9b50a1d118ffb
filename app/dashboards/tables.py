"""The figures on the dashboards: every one aggregated in SQL, one query per table.

Each function returns a `Table`: its columns, its rows (raw values: pence as integers, counts,
percentages as numbers) and the rule it was worked out by. Pages draw charts and tables from
a Table and the CSV download is the same Table written out, so the three always agree.

Money is in pence. "Booked" orders are those a provider has confirmed or delivered (or that
were invoiced), plus what schools still pay for orders cancelled after confirming: the value
the partnership has committed to buy. Years are academic years (1 September – 31 August); an
order belongs to the year of its term.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import Grant, Membership, MembershipTerm, Provider, School
from marketplace.billing.models import Invoice, InvoiceStatus
from marketplace.catalogue.models import Category, Service
from marketplace.offers.models import Offer, OfferCapacity, OfferStatus, OfferTier
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus

BOOKED = (OrderStatus.CONFIRMED, OrderStatus.DELIVERED, OrderStatus.INVOICED)
# Orders a school has sent (engagement): anything past a draft that was not turned down.
SENT = (
    OrderStatus.SUBMITTED,
    OrderStatus.APPROVED,
    OrderStatus.CONFIRMED,
    OrderStatus.DELIVERED,
    OrderStatus.INVOICED,
)
MONEY = "pence"
COUNT = "count"
PERCENT = "percent"
TEXT = "text"
DATE = "date"


@dataclass(frozen=True)
class Column:
    heading: str
    kind: str = TEXT  # TEXT, MONEY (pence), COUNT, PERCENT or DATE


@dataclass(frozen=True)
class Table:
    """One table of figures: what a chart draws, the page lists and the CSV holds."""

    name: str  # its CSV's name, e.g. "spend-by-category"
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    rule: str = ""  # how the figures are worked out, in words
    extra: dict[str, Any] = field(default_factory=dict)

    def column(self, index: int) -> list[Any]:
        return [row[index] for row in self.rows]

    def total(self, index: int) -> int:
        return sum(value or 0 for value in self.column(index))

    def bars(self, label: int = 0, value: int = 1) -> list[dict[str, Any]]:
        """The data for a bar chart of one column against the labels."""
        return [{"label": row[label], "value": row[value] or 0} for row in self.rows]

    def csv_text(self) -> str:
        """The table as CSV: money as pounds with two decimals, dates as ISO dates."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.heading + (" (£)" if c.kind == MONEY else "") for c in self.columns])
        for row in self.rows:
            writer.writerow([_csv_value(v, c.kind) for v, c in zip(row, self.columns, strict=True)])
        return out.getvalue()


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    if kind == PERCENT:
        return f"{value:.1f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _int(value: Any) -> int:
    return int(value or 0)


def _year_of_term_key() -> sa.ColumnElement[int]:
    """The academic year an order's term belongs to: the year in its key ("2026-spring")."""
    return sa.cast(sa.func.substr(Order.term_key, 1, 4), sa.Integer)


def _in_year(year: AcademicYear) -> sa.ColumnElement[bool]:
    return Order.term_key.like(f"{year.start_year}-%")


def _booked_value() -> sa.ColumnElement[int]:
    """What a booked order is worth: its total, or the charge kept when it was cancelled."""
    return sa.case(
        (Order.status == OrderStatus.CANCELLED, Order.cancellation_charge_pence),
        else_=Order.total_pence,
    )


def _booked() -> sa.ColumnElement[bool]:
    return sa.or_(
        Order.status.in_(BOOKED),
        sa.and_(Order.status == OrderStatus.CANCELLED, Order.cancellation_charge_pence > 0),
    )


def _subscription() -> sa.ColumnElement[int]:
    """pupils × rate, capped by the membership's cap or the year's default (app.membership)."""
    # 64-bit throughout: a subscription times the match in basis points passes 2³¹.
    uncapped = sa.cast(Membership.pupils_counted, sa.BigInteger) * sa.cast(
        MembershipTerm.rate_per_pupil_pence, sa.BigInteger
    )
    cap = sa.cast(
        sa.func.coalesce(Membership.cap_pence, MembershipTerm.default_cap_pence), sa.BigInteger
    )
    return sa.case((sa.and_(cap.is_not(None), uncapped > cap), cap), else_=uncapped)


def _academic_start_year(column: Any) -> sa.ColumnElement[int]:
    """The academic year a date falls in: September onwards belongs to that year's."""
    year = sa.cast(sa.extract("year", column), sa.Integer)
    month = sa.cast(sa.extract("month", column), sa.Integer)
    return sa.case((month >= 9, year), else_=year - 1)


# Years -------------------------------------------------------------------------------------


def years_with_membership() -> list[AcademicYear]:
    """The academic years the partnership has subscription terms for, newest first."""
    return [
        AcademicYear(y)
        for y in db.session.scalars(
            sa.select(MembershipTerm.start_year).order_by(MembershipTerm.start_year.desc())
        )
    ]


# The partnership ---------------------------------------------------------------------------


def income_by_stream(years: Sequence[AcademicYear]) -> Table:
    """Subscriptions, council match, traded services and grants per academic year."""
    wanted = [y.start_year for y in years]
    subs = db.session.execute(
        sa.select(
            MembershipTerm.start_year,
            sa.func.sum(_subscription()),
            sa.func.sum((_subscription() * MembershipTerm.council_match_bp + 5_000) // 10_000),
        )
        .join(Membership, Membership.term_id == MembershipTerm.id)
        .where(MembershipTerm.start_year.in_(wanted))
        .group_by(MembershipTerm.start_year)
    ).all()
    # Grouped in an outer query: PostgreSQL does not match a GROUP BY expression whose bound
    # parameters differ from the SELECT's.
    booked = (
        sa.select(_year_of_term_key().label("year"), _booked_value().label("value"))
        .where(_booked(), _year_of_term_key().in_(wanted))
        .subquery()
    )
    traded = db.session.execute(
        sa.select(booked.c.year, sa.func.sum(booked.c.value)).group_by(booked.c.year)
    ).all()
    received = (
        sa.select(
            _academic_start_year(Grant.received_on).label("year"),
            Grant.amount_pence.label("amount"),
        )
    ).subquery()
    grants = db.session.execute(
        sa.select(received.c.year, sa.func.sum(received.c.amount))
        .where(received.c.year.in_(wanted))
        .group_by(received.c.year)
    ).all()
    by_year: dict[int, list[int]] = {y: [0, 0, 0, 0] for y in wanted}
    for year, subscription, match in subs:
        by_year[int(year)][0] = _int(subscription)
        by_year[int(year)][2] = _int(match)
    for year, value in traded:
        by_year[int(year)][1] = _int(value)
    for year, value in grants:
        by_year[int(year)][3] = _int(value)
    rows = tuple((AcademicYear(y).label, *by_year[y], sum(by_year[y])) for y in sorted(wanted))
    return Table(
        "income-by-stream",
        "Income by stream",
        (
            Column("Academic year"),
            Column("Subscriptions", MONEY),
            Column("Traded services", MONEY),
            Column("Council match", MONEY),
            Column("Grants", MONEY),
            Column("Total", MONEY),
        ),
        rows,
        "Subscriptions: each member school's pupils × the year's rate, capped. Council match: "
        "the council's share of each subscription. Traded services: booked orders and "
        "call-offs for the year's terms. Grants: grants and commissions received in the year.",
    )


def spend_by_category(year: AcademicYear, school_id: int | None = None) -> Table:
    """What schools booked in the year, by service category."""
    stmt = (
        sa.select(Service.category, sa.func.sum(_booked_value()), sa.func.count(Order.id))
        .join(Service, Service.id == Order.service_id)
        .where(_booked(), _in_year(year))
        .group_by(Service.category)
        .order_by(sa.func.sum(_booked_value()).desc())
    )
    if school_id is not None:
        stmt = stmt.where(Order.school_id == school_id)
    rows = tuple(
        (Category(category).label, _int(value), _int(n))
        for category, value, n in db.session.execute(stmt)
    )
    return Table(
        "spend-by-category",
        f"Spend by category, {year.label}",
        (Column("Category"), Column("Spend", MONEY), Column("Orders", COUNT)),
        rows,
        "Booked orders and call-offs for the year's terms, before VAT.",
    )


def spend_by_service(year: AcademicYear, school_id: int) -> Table:
    stmt = (
        sa.select(Service.name, sa.func.sum(_booked_value()), sa.func.count(Order.id))
        .join(Service, Service.id == Order.service_id)
        .where(_booked(), _in_year(year), Order.school_id == school_id)
        .group_by(Service.name)
        .order_by(sa.func.sum(_booked_value()).desc(), Service.name)
    )
    rows = tuple((name, _int(value), _int(n)) for name, value, n in db.session.execute(stmt))
    return Table(
        "spend-by-service",
        f"Spend by service, {year.label}",
        (Column("Service"), Column("Spend", MONEY), Column("Orders", COUNT)),
        rows,
        "Your booked orders and call-offs for the year's terms, before VAT.",
    )


def _contract_year(year: AcademicYear) -> sa.ColumnElement[bool]:
    """Contracts in force at some point of the year."""
    return sa.and_(Contract.starts_on <= year.ends_on, Contract.ends_on >= year.starts_on)


def round_savings(year: AcademicYear, school_id: int | None = None) -> Table:
    """Per buying round: what the schools' shares would have cost alone, and what they pay."""
    from procurement.rounds.models import BuyingRound

    stmt = (
        sa.select(
            BuyingRound.title,
            sa.func.count(sa.distinct(ContractSchool.school_id)),
            sa.func.sum(ContractSchool.standalone_pence),
            sa.func.sum(ContractSchool.charge_pence),
        )
        .select_from(ContractSchool)
        .join(Contract, Contract.id == ContractSchool.contract_id)
        .join(BuyingRound, BuyingRound.id == Contract.source_id)
        .where(
            Contract.source == ContractSource.ROUND,
            ContractSchool.standalone_pence.is_not(None),
            _contract_year(year),
        )
        .group_by(BuyingRound.id, BuyingRound.title)
        .order_by(BuyingRound.title)
    )
    if school_id is not None:
        stmt = stmt.where(ContractSchool.school_id == school_id)
    rows = tuple(
        (title, _int(n), _int(alone), _int(paid), _int(alone) - _int(paid))
        for title, n, alone, paid in db.session.execute(stmt)
    )
    return Table(
        "round-savings",
        f"Savings from buying rounds, {year.label}",
        (
            Column("Buying round"),
            Column("Schools", COUNT),
            Column("Cost buying alone", MONEY),
            Column("Pooled charge", MONEY),
            Column("Saved", MONEY),
        ),
        rows,
        "Cost buying alone: for each school, the cheapest single offer that could serve its "
        "pledge by itself, at the tier its own quantity reaches. Pooled charge: its share of "
        "the pooled cost (shared in proportion to those stand-alone costs).",
    )


def school_savings(year: AcademicYear) -> Table:
    """Per school: what its round shares would have cost alone, and what it pays."""
    stmt = (
        sa.select(
            School.name,
            sa.func.sum(ContractSchool.standalone_pence),
            sa.func.sum(ContractSchool.charge_pence),
        )
        .select_from(ContractSchool)
        .join(Contract, Contract.id == ContractSchool.contract_id)
        .join(School, School.id == ContractSchool.school_id)
        .where(ContractSchool.standalone_pence.is_not(None), _contract_year(year))
        .group_by(School.id, School.name)
        .order_by(
            (
                sa.func.sum(ContractSchool.standalone_pence)
                - sa.func.sum(ContractSchool.charge_pence)
            ).desc(),
            School.name,
        )
    )
    rows = tuple(
        (name, _int(alone), _int(paid), _int(alone) - _int(paid))
        for name, alone, paid in db.session.execute(stmt)
    )
    return Table(
        "school-savings",
        f"Savings by school, {year.label}",
        (
            Column("School"),
            Column("Cost buying alone", MONEY),
            Column("Pooled charge", MONEY),
            Column("Saved", MONEY),
        ),
        rows,
        "Each school's buying-round call-offs against what the same units would have cost it "
        "alone.",
    )


def tender_savings(year: AcademicYear) -> Table:
    """Per awarded tender lot: its volume at catalogue prices against the awarded price.

    One row per lot, not per contract: a lot shared by several suppliers becomes a contract
    per winner, each for the lot's whole expected volume, and counting each would count the
    volume again for every winner. The awarded figure is the evaluated price the tender stored
    for each winning bid (its tier price at the lot's expected volume × that volume); with
    several winners, the dearest, so the saving is never overstated.
    """
    from procurement.tenders.models import Tender, TenderBid, TenderLot

    # The catalogue price one school pays alone: the lowest first-tier price among the live
    # offers for the service (what a school buying a few units would pay).
    alone_price = (
        sa.select(sa.func.min(OfferTier.unit_price_pence))
        .join(Offer, Offer.id == OfferTier.offer_id)
        .where(
            Offer.service_id == TenderLot.service_id,
            Offer.status == OfferStatus.LIVE,
            OfferTier.min_quantity <= 1,
        )
        .correlate(TenderLot)
        .scalar_subquery()
    )
    awarded = (
        sa.select(
            TenderBid.lot_id.label("lot_id"),
            sa.func.count(TenderBid.id).label("suppliers"),
            sa.func.max(TenderBid.evaluated_price_pence).label("price"),
        )
        .where(TenderBid.awarded.is_(True))
        .group_by(TenderBid.lot_id)
        .subquery()
    )
    in_force = (
        sa.select(Contract.id)
        .where(
            Contract.source == ContractSource.TENDER,
            Contract.source_id == TenderLot.tender_id,
            Contract.service_id == TenderLot.service_id,
            _contract_year(year),
        )
        .correlate(TenderLot)
        .exists()
    )
    stmt = (
        sa.select(
            Tender.title,
            TenderLot.number,
            TenderLot.title,
            TenderLot.expected_volume,
            awarded.c.suppliers,
            alone_price,
            awarded.c.price,
        )
        .select_from(TenderLot)
        .join(Tender, Tender.id == TenderLot.tender_id)
        .join(awarded, awarded.c.lot_id == TenderLot.id)
        .where(in_force)
        .order_by(Tender.title, TenderLot.number)
    )
    rows = []
    for tender, number, lot, volume, suppliers, alone, price in db.session.execute(stmt):
        if alone is None or price is None:
            continue
        at_catalogue = _int(alone) * _int(volume)
        rows.append(
            (
                f"{tender}, lot {number}: {lot}",
                _int(volume),
                _int(suppliers),
                at_catalogue,
                _int(price),
                at_catalogue - _int(price),
            )
        )
    return Table(
        "tender-savings",
        f"Savings from tenders, {year.label}",
        (
            Column("Tender lot"),
            Column("Expected units", COUNT),
            Column("Suppliers", COUNT),
            Column("At catalogue prices", MONEY),
            Column("At the awarded price", MONEY),
            Column("Saved", MONEY),
        ),
        tuple(rows),
        "For each lot of a tender whose contracts are in force in the year: the lot's expected "
        "volume at the lowest single-school price of the live catalogue offers for the "
        "service, against the same volume at the awarded price. Where several suppliers share "
        "a lot, the volume counts once, at the dearest winner's price.",
    )


def billing_summary(year: AcademicYear, today: date) -> Table:
    """The year's invoices, by kind: billed, paid, still to pay and overdue."""
    from marketplace.billing.models import INVOICE_KIND_LABELS, InvoiceKind

    billed = Invoice.total_pence - Invoice.credited_pence
    left = sa.case(
        (Invoice.status == InvoiceStatus.OPEN, billed - Invoice.amount_paid_pence), else_=0
    )
    overdue = sa.case((Invoice.due_on < today, left), else_=0)
    stmt = (
        sa.select(
            Invoice.kind,
            sa.func.count(Invoice.id),
            sa.func.sum(billed),
            sa.func.sum(Invoice.amount_paid_pence),
            sa.func.sum(left),
            sa.func.sum(overdue),
        )
        .where(
            Invoice.status.in_([InvoiceStatus.OPEN, InvoiceStatus.PAID]),
            # The year's membership ("2026/27") and its terms' orders ("2026-autumn").
            Invoice.period.like(f"{year.start_year}%"),
        )
        .group_by(Invoice.kind)
    )
    found = {InvoiceKind(kind): values for kind, *values in db.session.execute(stmt)}
    rows = tuple(
        (INVOICE_KIND_LABELS[kind], *(_int(v) for v in found[kind]))
        for kind in InvoiceKind
        if kind in found
    )
    return Table(
        "billing",
        f"Invoices for {year.label}",
        (
            Column("Invoices for"),
            Column("Invoices", COUNT),
            Column("Billed", MONEY),
            Column("Paid", MONEY),
            Column("Still to pay", MONEY),
            Column("Overdue", MONEY),
        ),
        rows,
        "Issued invoices for the year's membership and for orders and call-offs in its terms "
        "(not drafts or voided ones), including VAT, less credit notes.",
    )


def engagement(year: AcademicYear) -> Table:
    """How many member schools ordered or pledged in the year, of how many members."""
    from procurement.rounds.models import Pledge

    members = (
        sa.select(Membership.school_id)
        .join(MembershipTerm, MembershipTerm.id == Membership.term_id)
        .where(MembershipTerm.start_year == year.start_year)
    )
    ordering = sa.select(Order.school_id).where(Order.status.in_(SENT), _in_year(year))
    pledging = sa.select(Pledge.school_id).where(Pledge.term_key.like(f"{year.start_year}-%"))
    member_count = sa.select(sa.func.count()).select_from(members.subquery()).scalar_subquery()
    ordered = (
        sa.select(sa.func.count(sa.distinct(Order.school_id)))
        .where(Order.status.in_(SENT), _in_year(year), Order.school_id.in_(members))
        .scalar_subquery()
    )
    pledged = (
        sa.select(sa.func.count(sa.distinct(Pledge.school_id)))
        .where(Pledge.term_key.like(f"{year.start_year}-%"), Pledge.school_id.in_(members))
        .scalar_subquery()
    )
    either = (
        sa.select(sa.func.count())
        .select_from(sa.union(ordering, pledging).subquery("engaged"))
        .where(sa.literal_column("engaged.school_id").in_(members))
        .scalar_subquery()
    )
    n_members, n_ordered, n_pledged, n_either = db.session.execute(
        sa.select(member_count, ordered, pledged, either)
    ).one()
    n_members = _int(n_members)

    def share(n: Any) -> float:
        return round(100 * _int(n) / n_members, 1) if n_members else 0.0

    rows = (
        ("Ordered a service", _int(n_ordered), share(n_ordered)),
        ("Pledged into a buying round", _int(n_pledged), share(n_pledged)),
        ("Ordered or pledged", _int(n_either), share(n_either)),
    )
    return Table(
        "engagement",
        f"Engagement of member schools, {year.label}",
        (Column("Member schools who"), Column("Schools", COUNT), Column("Share", PERCENT)),
        rows,
        f"Of {n_members} member schools in {year.label}: orders sent for the year's terms "
        "(drafts and turned-down orders do not count) and pledges into its buying rounds.",
        extra={"members": n_members},
    )


def capacity_use(year: AcademicYear, provider_id: int | None = None) -> Table:
    """Per provider and term: units offered, reserved by orders, and the share used."""
    stmt = (
        sa.select(
            Provider.name,
            OfferCapacity.term_key,
            sa.func.sum(OfferCapacity.capacity),
            sa.func.sum(OfferCapacity.reserved),
        )
        .join(Offer, Offer.id == OfferCapacity.offer_id)
        .join(Provider, Provider.id == Offer.provider_id)
        .where(OfferCapacity.term_key.like(f"{year.start_year}-%"))
        .group_by(Provider.name, OfferCapacity.term_key)
    )
    if provider_id is not None:
        stmt = stmt.where(Offer.provider_id == provider_id)
    terms = year.terms()
    by_provider: dict[str, dict[str, tuple[int, int]]] = {}
    for name, key, capacity, reserved in db.session.execute(stmt):
        by_provider.setdefault(name, {})[key] = (_int(capacity), _int(reserved))
    rows = []
    for name in sorted(by_provider):
        cells: list[Any] = [name]
        for term in terms:
            capacity, reserved = by_provider[name].get(term.key, (0, 0))
            cells += [reserved, capacity]
        offered = sum(c for c, _ in by_provider[name].values())
        ordered = sum(r for _, r in by_provider[name].values())
        cells.append(round(100 * ordered / offered, 1) if offered else 0.0)
        rows.append(tuple(cells))
    columns = [Column("Provider")]
    for term in terms:
        name = term.name.value.capitalize()
        columns += [Column(f"{name} ordered", COUNT), Column(f"{name} offered", COUNT)]
    columns.append(Column("Used in the year", PERCENT))
    return Table(
        "capacity-use",
        f"Capacity used, {year.label}",
        tuple(columns),
        tuple(rows),
        "Units of the providers' offers reserved by orders (submitted to delivered), of the "
        "capacity each offer puts up for each term.",
    )


def _schools_in_contract() -> sa.ScalarSelect[int]:
    """How many schools take part in the contract of the outer query's row."""
    return (
        sa.select(sa.func.count(ContractSchool.id))
        .where(ContractSchool.contract_id == Contract.id)
        .correlate(Contract)
        .scalar_subquery()
    )


def expiring_contracts(today: date, provider_id: int | None = None) -> Table:
    """Contracts in force that end in the next twelve months: the next joint tender's list."""
    until = today + timedelta(days=365)
    schools = _schools_in_contract()
    stmt = (
        sa.select(Contract.reference, Contract.title, Provider.name, Contract.ends_on, schools)
        .join(Provider, Provider.id == Contract.provider_id)
        .where(
            Contract.status.in_([ContractStatus.ACTIVE, ContractStatus.PENDING]),
            Contract.ends_on >= today,
            Contract.ends_on <= until,
        )
        .order_by(Contract.ends_on, Contract.reference)
    )
    if provider_id is not None:
        stmt = stmt.where(Contract.provider_id == provider_id)
    rows = tuple(
        (reference, title, provider, ends_on, _int(n))
        for reference, title, provider, ends_on, n in db.session.execute(stmt)
    )
    return Table(
        "expiring-contracts",
        "Contracts ending in the next 12 months",
        (
            Column("Reference"),
            Column("Contract"),
            Column("Provider"),
            Column("Ends", DATE),
            Column("Schools", COUNT),
        ),
        rows,
        f"Active or awarded contracts ending between {today:%-d %B %Y} and {until:%-d %B %Y}.",
    )


# A school ----------------------------------------------------------------------------------


def invoices_due(school_id: int, today: date) -> Table:
    """The school's unpaid invoices, overdue first."""
    due = Invoice.total_pence - Invoice.credited_pence - Invoice.amount_paid_pence
    stmt = (
        sa.select(Invoice.id, Invoice.number, Invoice.title, Invoice.due_on, due)
        .where(
            Invoice.school_id == school_id,
            Invoice.status == InvoiceStatus.OPEN,
            due > 0,
        )
        .order_by(Invoice.due_on, Invoice.id)
    )
    rows = tuple(
        (
            number or f"Invoice {invoice_id}",
            title,
            due_on,
            _int(amount),
            "Overdue" if due_on is not None and due_on < today else "Due",
        )
        for invoice_id, number, title, due_on, amount in db.session.execute(stmt)
    )
    return Table(
        "invoices-due",
        "Invoices to pay",
        (
            Column("Invoice"),
            Column("For"),
            Column("Due by", DATE),
            Column("Left to pay", MONEY),
            Column("Status"),
        ),
        rows,
        "Issued invoices not yet paid in full, less any credit notes.",
    )


def entitlements(school_id: int, year: AcademicYear) -> Table:
    from marketplace.entitlements.services import entitlements_for_school

    lines = entitlements_for_school(school_id, year.start_year) or []
    rows = tuple((line.service.name, line.included, line.used, line.left) for line in lines)
    return Table(
        "entitlements",
        f"Your membership's entitlements, {year.label}",
        (
            Column("Service"),
            Column("Included", COUNT),
            Column("Used", COUNT),
            Column("Left", COUNT),
        ),
        rows,
        "What the year's subscription includes of the core services, and how much of it your "
        "orders have used.",
    )


def deadlines(school_id: int, now: datetime, today: date) -> Table:
    """Coming up for a school: pledge deadlines, tender deadlines, the last days to cancel."""
    from procurement.rounds.models import BuyingRound, RoundStatus
    from procurement.tenders.models import Tender, TenderSchool, TenderStatus

    rows: list[tuple[Any, ...]] = []
    for title, deadline in db.session.execute(
        sa.select(BuyingRound.title, BuyingRound.pledge_deadline_at).where(
            BuyingRound.status == RoundStatus.OPEN, BuyingRound.pledge_deadline_at > now
        )
    ):
        rows.append((deadline.date(), "Pledges close", title))
    for title, deadline in db.session.execute(
        sa.select(Tender.title, Tender.deadline_at)
        .join(TenderSchool, TenderSchool.tender_id == Tender.id)
        .where(
            TenderSchool.school_id == school_id,
            Tender.status == TenderStatus.OPEN,
            Tender.deadline_at > now,
        )
    ):
        rows.append((deadline.date(), "Tender closes for bids", title))
    # The last day an order can be cancelled: its notice must end by the end of its term.
    for order_id, service, term_key, notice_days in db.session.execute(
        sa.select(Order.id, Service.name, Order.term_key, Offer.notice_days)
        .join(Service, Service.id == Order.service_id)
        .join(Offer, Offer.id == Order.offer_id)
        .where(
            Order.school_id == school_id,
            Order.status.in_(BOOKED),
            Order.kind == OrderKind.ORDER,
            Offer.notice_days > 0,
        )
    ):
        last_day = Term.parse(term_key).ends_on - timedelta(days=notice_days)
        if today <= last_day <= today + timedelta(days=120):
            rows.append(
                (
                    last_day,
                    "Last day to cancel",
                    f"Order {order_id}: {service} ({notice_days} days’ notice)",
                )
            )
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    return Table(
        "deadlines",
        "Deadlines coming up",
        (Column("Date", DATE), Column("What"), Column("Detail")),
        tuple(rows),
        "Open buying rounds, tenders your school takes part in, and the last day each of your "
        "confirmed orders can still be cancelled under its notice period (next four months).",
    )


# A provider --------------------------------------------------------------------------------


def orders_by_status(provider_id: int, year: AcademicYear) -> Table:
    stmt = (
        sa.select(Order.status, sa.func.count(Order.id), sa.func.sum(Order.total_pence))
        .where(Order.provider_id == provider_id, _in_year(year), Order.status != OrderStatus.DRAFT)
        .group_by(Order.status)
    )
    found = {OrderStatus(s): (_int(n), _int(v)) for s, n, v in db.session.execute(stmt)}
    from marketplace.orders.models import STATUS_TEXT

    rows = tuple((STATUS_TEXT[status], *found[status]) for status in OrderStatus if status in found)
    return Table(
        "orders-by-status",
        f"Orders by status, {year.label}",
        (Column("Status"), Column("Orders", COUNT), Column("Value", MONEY)),
        rows,
        "Orders and call-offs for the year's terms (drafts are the schools' own until sent).",
    )


def provider_contracts(provider_id: int) -> Table:
    schools = _schools_in_contract()
    stmt = (
        sa.select(Contract.reference, Contract.title, Contract.status, Contract.ends_on, schools)
        .where(Contract.provider_id == provider_id)
        .order_by(Contract.ends_on.desc(), Contract.reference)
    )
    rows = tuple(
        (reference, title, ContractStatus(status).value.capitalize(), ends_on, _int(n))
        for reference, title, status, ends_on, n in db.session.execute(stmt)
    )
    return Table(
        "contracts",
        "Your contracts",
        (
            Column("Reference"),
            Column("Contract"),
            Column("Status"),
            Column("Ends", DATE),
            Column("Schools", COUNT),
        ),
        rows,
    )


def owed(provider_id: int) -> Table:
    from marketplace.billing import payables

    ledger = payables.ledger(payables.fee_bp(), provider_id=provider_id)
    rows = tuple(
        (row.period_label, row.orders, row.gross_pence, row.fee_pence, row.owed_pence)
        for row in ledger
    )
    return Table(
        "owed",
        "What the partnership owes you",
        (
            Column("Term"),
            Column("Orders", COUNT),
            Column("Delivered work", MONEY),
            Column("Partnership fee", MONEY),
            Column("Owed to you", MONEY),
        ),
        rows,
        f"Delivered orders and call-offs less the partnership's {payables.fee_bp() / 100:g}% fee.",
    )
