"""The providers' side: the capacity their offers put up and what is used, and contracts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.dashboards.table import (
    COUNT,
    DATE,
    PERCENT,
    Column,
    Table,
    as_int,
    schools_in_contract,
    share,
)
from app.extensions import db
from app.models import Provider
from marketplace.offers.models import Offer, OfferCapacity
from procurement.contracts.models import Contract, ContractStatus


def term_headings(term: Term) -> tuple[str, str]:
    """The capacity table's two columns for a term: units ordered, units offered."""
    name = term.name.value.capitalize()
    return f"{name} ordered", f"{name} offered"


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
        by_provider.setdefault(name, {})[key] = (as_int(capacity), as_int(reserved))
    rows = []
    for name in sorted(by_provider):
        cells: list[Any] = [name]
        for term in terms:
            capacity, reserved = by_provider[name].get(term.key, (0, 0))
            cells += [reserved, capacity]
        offered = sum(c for c, _ in by_provider[name].values())
        ordered = sum(r for _, r in by_provider[name].values())
        cells.append(share(ordered, offered))
        rows.append(tuple(cells))
    columns = [Column("Provider")]
    for term in terms:
        ordered_heading, offered_heading = term_headings(term)
        columns += [Column(ordered_heading, COUNT), Column(offered_heading, COUNT)]
    columns.append(Column("Used in the year", PERCENT))
    return Table(
        "capacity-use",
        f"Capacity used, {year.label}",
        tuple(columns),
        tuple(rows),
        "Units of the providers' offers reserved by orders (submitted to delivered), of the "
        "capacity each offer puts up for each term.",
    )


def expiring_contracts(today: date, provider_id: int | None = None) -> Table:
    """Contracts in force that end in the next twelve months: the next joint tender's list."""
    until = today + timedelta(days=365)
    schools = schools_in_contract()
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
        (reference, title, provider, ends_on, as_int(n))
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


def provider_contracts(provider_id: int) -> Table:
    """All of a provider's contracts, latest ending first."""
    schools = schools_in_contract()
    stmt = (
        sa.select(Contract.reference, Contract.title, Contract.status, Contract.ends_on, schools)
        .where(Contract.provider_id == provider_id)
        .order_by(Contract.ends_on.desc(), Contract.reference)
    )
    rows = tuple(
        (reference, title, ContractStatus(status).value.capitalize(), ends_on, as_int(n))
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
