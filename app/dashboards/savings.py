"""Savings against buying alone: per buying round, per school, per awarded tender lot."""

from __future__ import annotations

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.dashboards.table import COUNT, MONEY, Column, Table, as_int, contract_in_year
from app.extensions import db
from app.models import School
from marketplace.offers.models import Offer, OfferStatus, OfferTier
from procurement.contracts.models import Contract, ContractSchool, ContractSource
from procurement.rounds.models import BuyingRound
from procurement.tenders.models import Tender, TenderBid, TenderLot


def round_savings(year: AcademicYear, school_id: int | None = None) -> Table:
    """Per buying round: what the schools' shares would have cost alone, and what they pay."""
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
            contract_in_year(year),
        )
        .group_by(BuyingRound.id, BuyingRound.title)
        .order_by(BuyingRound.title)
    )
    if school_id is not None:
        stmt = stmt.where(ContractSchool.school_id == school_id)
    rows = tuple(
        (title, as_int(n), as_int(alone), as_int(paid), as_int(alone) - as_int(paid))
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
        .where(ContractSchool.standalone_pence.is_not(None), contract_in_year(year))
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
        (name, as_int(alone), as_int(paid), as_int(alone) - as_int(paid))
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
            contract_in_year(year),
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
        at_catalogue = as_int(alone) * as_int(volume)
        rows.append(
            (
                f"{tender}, lot {number}: {lot}",
                as_int(volume),
                as_int(suppliers),
                at_catalogue,
                as_int(price),
                at_catalogue - as_int(price),
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
