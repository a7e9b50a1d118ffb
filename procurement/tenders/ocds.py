"""OCDS 1.1 notices: one `ocid` per tender, a release frozen at every published change.

Releases are built from the tender as it stands when the change is made, and stored
(`TenderRelease`), so the export is the history as it was published, not a reconstruction.

| change                         | tag                  | UK notice                     |
|--------------------------------|----------------------|-------------------------------|
| published                      | `tender`             | UK4 tender notice             |
| changed while open             | `tenderAmendment`    | UK4 (changed)                 |
| bids opened, evaluation, end   | `tenderUpdate`       | –                             |
| award decided                  | `award`              | UK6 contract award notice     |
| contracts entered into         | `contract`           | UK7 contract details notice   |
| cancelled after publication    | `tenderCancellation` | UK12 procurement termination  |
| contract change approved       | `contractAmendment`  | UK10 contract change notice   |
| contract terminated early      | `contractTermination`| UK11 contract termination     |

Sealed bids: no release made before the bids are opened mentions a bid or a bidder. From
opening, `bids` (bid extension) lists each bid's receipt time, status and bidder with counts per
lot; bid values appear from the award decision on. Lots are published as items with ids
``lot-<n>`` (the lots extension is not used). Values are in GBP (pounds, from integer pence).

From the contract release on, each contract is read from the contract register as it stands:
its period (an extension moves the end), its value (the lot's expected volume at its current
tier prices), its status (`terminated`, the period ending when the termination takes effect)
and its approved `amendments` (OCDS 1.1, with the UK extension's `period` for an extension).

Longer than 500 lines because it is the one map from Pooled onto OCDS, section by section;
the contracts section (with amendments and termination) is the seam to cut along next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa

from app import partnership
from app.extensions import db
from app.models import ProviderKind
from app.time import london_instant
from procurement.contracts.models import (
    AmendmentKind,
    AmendmentStatus,
    Contract,
    ContractAmendment,
    ContractSource,
    ContractStatus,
)
from procurement.tenders.errors import TenderError
from procurement.tenders.models import (
    BidStatus,
    Tender,
    TenderAmendment,
    TenderBid,
    TenderClarification,
    TenderDocument,
    TenderLot,
    TenderRelease,
    TenderStatus,
)
from procurement.tenders.rules import standstill_end_instant
from procurement.tenders.scoring import PriceTier, evaluated_price

OCDS_VERSION = "1.1"
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/main/extension.json",
]
BUYER_ID = "pooled-partnership"
NOTICES = {
    "tender": ("UK4", "tenderNotice", "Tender notice"),
    "award": ("UK6", "awardNotice", "Contract award notice"),
    "contract": ("UK7", "contractNotice", "Contract details notice"),
    "tenderCancellation": ("UK12", "cancellationDetails", "Procurement termination notice"),
    "contractAmendment": ("UK10", "contractNotice", "Contract change notice"),
    "contractTermination": ("UK11", "contractNotice", "Contract termination notice"),
}
TENDER_STATUS = {
    TenderStatus.DRAFT: "planned",
    TenderStatus.OPEN: "active",
    TenderStatus.OPENED: "active",
    TenderStatus.EVALUATION: "active",
    TenderStatus.STANDSTILL: "active",
    TenderStatus.CONTRACTED: "active",
    TenderStatus.COMPLETE: "complete",
    TenderStatus.CANCELLED: "cancelled",
    TenderStatus.UNSUCCESSFUL: "unsuccessful",
}


def iso(instant: datetime) -> str:
    """RFC 3339 in UTC, to the second: 2026-11-22T14:05:00Z."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_start(day: date) -> str:
    return iso(london_instant(day, time(0, 0)))


def _day_end(day: date) -> str:
    return iso(london_instant(day, time(23, 59, 59)))


def gbp(pence: int) -> dict[str, Any]:
    amount: int | float = pence // 100 if pence % 100 == 0 else pence / 100
    return {"amount": amount, "currency": "GBP"}


def _buyer() -> dict[str, str]:
    return {"id": BUYER_ID, "name": partnership.details().name}


def _provider_ref(bid: TenderBid) -> dict[str, str]:
    return {"id": f"pooled-provider-{bid.provider_id}", "name": bid.provider.name}


def _lot_item(lot: TenderLot) -> dict[str, Any]:
    return {
        "id": f"lot-{lot.number}",
        "description": f"Lot {lot.number}: {lot.title} ({lot.service.name})",
        "quantity": lot.expected_volume,
        "unit": {"name": lot.service.unit.value},
    }


def _award_id(tender: Tender, bid: TenderBid) -> str:
    return f"{tender.reference}-L{bid.lot.number}-{bid.rank}"


def _notice(tag: str, when: datetime, **extra: Any) -> dict[str, Any]:
    notice_type, document_type, title = NOTICES[tag]
    return {
        "id": notice_type,
        "documentType": document_type,
        "noticeType": notice_type,
        "title": title,
        "datePublished": iso(when),
        **extra,
    }


def _bids(tender: Tender) -> list[TenderBid]:
    return list(
        db.session.scalars(
            sa.select(TenderBid)
            .join(TenderLot, TenderLot.id == TenderBid.lot_id)
            .where(TenderBid.tender_id == tender.id)
            .order_by(TenderLot.number, TenderBid.submitted_at, TenderBid.id)
        )
    )


def _bid_status(tender: Tender, bid: TenderBid) -> str:
    if bid.status is BidStatus.WITHDRAWN:
        return "withdrawn"
    if bid.status is BidStatus.DISQUALIFIED:
        return "disqualified"
    return "pending" if tender.evaluation_started_at is None else "valid"


def _tender_section(
    tender: Tender, tag: str, now: datetime, bids: list[TenderBid]
) -> dict[str, Any]:
    documents: list[dict[str, Any]] = []
    if tender.published_at is not None:
        notice = _notice("tender", tender.published_at)
        if tag == "tenderAmendment":
            notice["dateModified"] = iso(now)
        documents.append(notice)
    for document in db.session.scalars(
        sa.select(TenderDocument)
        .where(TenderDocument.tender_id == tender.id, TenderDocument.bid_id.is_(None))
        .order_by(TenderDocument.id)
    ):
        documents.append(
            {
                "id": f"doc-{document.id}",
                "documentType": "biddingDocuments",
                "title": document.filename,
                "description": f"SHA-256 {document.sha256}; {document.size_bytes} bytes",
                "format": document.content_type,
                "datePublished": iso(document.uploaded_at),
            }
        )
    if tender.status is TenderStatus.CANCELLED and tender.cancelled_at is not None:
        documents.append(
            _notice("tenderCancellation", tender.cancelled_at, description=tender.cancel_reason)
        )
    section: dict[str, Any] = {
        "id": tender.reference,
        "title": tender.title,
        "description": tender.description or tender.title,
        "status": TENDER_STATUS[tender.status],
        "procuringEntity": _buyer(),
        "items": [_lot_item(lot) for lot in tender.lots],
        "procurementMethod": "open",
        "procurementMethodDetails": "Open procedure run by the partnership's committee",
        "mainProcurementCategory": "services",
        "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": (
            f"Price {tender.price_weight}%: lowest evaluated price ÷ this evaluated price × "
            f"{tender.price_weight}, the evaluated price being the lot's expected volume at the "
            f"bid's volume tier. Quality {tender.quality_weight}% and social value "
            f"{tender.social_value_weight}%: moderated scores 0–100 × weight ÷ 100. Ties go "
            "to the earlier receipt time."
        ),
        "submissionMethod": ["electronicSubmission"],
        "contractPeriod": {
            "startDate": _day_start(tender.contract_starts_on),
            "endDate": _day_end(tender.contract_ends_on),
        },
        "documents": documents,
    }
    if tender.published_at is not None:
        period = {"startDate": iso(tender.published_at), "endDate": iso(tender.deadline_at)}
        section["tenderPeriod"] = period
        section["enquiryPeriod"] = dict(period)
        section["hasEnquiries"] = bool(
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(TenderClarification)
                .where(
                    TenderClarification.tender_id == tender.id,
                    TenderClarification.answered_at.is_not(None),
                )
            )
        )
    changes = list(
        db.session.scalars(
            sa.select(TenderAmendment)
            .where(TenderAmendment.tender_id == tender.id)
            .order_by(TenderAmendment.at, TenderAmendment.id)
        )
    )
    if changes:
        section["amendments"] = [
            {
                "id": f"amendment-{change.id}",
                "date": iso(change.at),
                "rationale": change.rationale,
                "description": change.description,
            }
            for change in changes
        ]
    if tender.opened_at is not None:
        bidders = {bid.provider_id: _provider_ref(bid) for bid in bids}
        section["numberOfTenderers"] = len(bidders)
        section["tenderers"] = list(bidders.values())
    if tender.award_decided_at is not None and tender.opened_at is not None:
        section["awardPeriod"] = {
            "startDate": iso(tender.opened_at),
            "endDate": iso(tender.award_decided_at),
        }
    final = {
        TenderStatus.CANCELLED: tender.cancelled_at,
        TenderStatus.UNSUCCESSFUL: tender.unsuccessful_at,
        TenderStatus.COMPLETE: tender.completed_at,
    }.get(tender.status)
    if final is not None:
        section["finalStatusDate"] = iso(final)
    return section


def _bids_section(tender: Tender, bids: list[TenderBid]) -> dict[str, Any]:
    statistics = []
    for lot in tender.lots:
        lot_bids = [b for b in bids if b.lot_id == lot.id]
        for measure, count in (
            ("bids", len(lot_bids)),
            ("validBids", sum(b.status is BidStatus.SUBMITTED for b in lot_bids)),
        ):
            statistics.append(
                {
                    "id": f"lot-{lot.number}-{measure}",
                    "measure": measure,
                    "value": count,
                    "date": iso(tender.opened_at),  # type: ignore[arg-type]
                    "relatedLot": f"lot-{lot.number}",
                }
            )
    details = []
    for bid in bids:
        detail: dict[str, Any] = {
            "id": f"bid-{bid.id}",
            "date": iso(bid.submitted_at),
            "status": _bid_status(tender, bid),
            "tenderers": [_provider_ref(bid)],
        }
        if tender.award_decided_at is not None and bid.evaluated_price_pence is not None:
            detail["value"] = gbp(bid.evaluated_price_pence)
        details.append(detail)
    return {"statistics": statistics, "details": details}


def _awards(tender: Tender, bids: list[TenderBid]) -> list[dict[str, Any]]:
    status = "pending"
    if tender.status in (TenderStatus.CONTRACTED, TenderStatus.COMPLETE):
        status = "active"
    elif tender.status is TenderStatus.CANCELLED:
        status = "cancelled"
    decided = tender.award_decided_at
    assert decided is not None and tender.standstill_ends_on is not None
    awards = []
    for bid in bids:
        if not bid.awarded:
            continue
        award_id = _award_id(tender, bid)
        awards.append(
            {
                "id": award_id,
                "title": f"Lot {bid.lot.number}: {bid.lot.title}",
                "status": status,
                "date": iso(decided),
                "value": gbp(bid.evaluated_price_pence or 0),
                "suppliers": [_provider_ref(bid)],
                "items": [_lot_item(bid.lot)],
                "contractPeriod": {
                    "startDate": _day_start(tender.contract_starts_on),
                    "endDate": _day_end(tender.contract_ends_on),
                },
                "relatedBid": f"bid-{bid.id}",
                "standstillPeriod": {
                    "startDate": iso(decided),
                    "endDate": iso(standstill_end_instant(tender.standstill_ends_on)),
                },
                "assessmentSummariesDateSent": iso(decided),
                "mainProcurementCategory": "services",
                "documents": [_notice("award", decided, id=f"UK6-{award_id}")],
            }
        )
    for lot in tender.lots:
        if lot.unsuccessful:
            awards.append(
                {
                    "id": f"{tender.reference}-L{lot.number}-unsuccessful",
                    "title": f"Lot {lot.number}: {lot.title}",
                    "status": "unsuccessful",
                    "date": iso(decided),
                    "items": [_lot_item(lot)],
                }
            )
    return awards


def _contracts(tender: Tender, bids: list[TenderBid], release_id: str) -> list[dict[str, Any]]:
    signed = tender.contracted_at
    assert signed is not None
    register = {
        contract.reference: contract
        for contract in db.session.scalars(
            sa.select(Contract).where(
                Contract.source == ContractSource.TENDER, Contract.source_id == tender.id
            )
        )
    }
    contracts = []
    for bid in bids:
        if not bid.awarded:
            continue
        award_id = _award_id(tender, bid)
        entry: dict[str, Any] = {
            "id": award_id,
            "awardID": award_id,
            "title": f"Lot {bid.lot.number}: {bid.lot.title} – {bid.provider.name}",
            "status": "active",
            "period": {
                "startDate": _day_start(tender.contract_starts_on),
                "endDate": _day_end(tender.contract_ends_on),
            },
            "value": gbp(bid.evaluated_price_pence or 0),
            "dateSigned": iso(signed),
            "items": [_lot_item(bid.lot)],
            "documents": [_notice("contract", signed, id=f"UK7-{award_id}")],
        }
        contract = register.get(award_id)
        if contract is not None:
            _contract_as_it_stands(entry, contract, bid.lot, release_id)
        contracts.append(entry)
    return contracts


def _lot_value(tiers: list[list[int]], lot: TenderLot) -> dict[str, Any]:
    price_tiers = [PriceTier(min_quantity, pence) for min_quantity, pence in tiers]
    return gbp(evaluated_price(price_tiers, lot.expected_volume))


def _contract_as_it_stands(
    entry: dict[str, Any], contract: Contract, lot: TenderLot, release_id: str
) -> None:
    """The register's contract: period, value, status, amendments (UK10) and termination (UK11)."""
    entry["period"]["endDate"] = _day_end(contract.ends_on)
    if contract.tiers:
        tiers = [[t.min_quantity, t.unit_price_pence] for t in contract.tiers]
        entry["value"] = _lot_value(tiers, lot)
    approved = db.session.scalars(
        sa.select(ContractAmendment)
        .where(
            ContractAmendment.contract_id == contract.id,
            ContractAmendment.status == AmendmentStatus.APPROVED,
        )
        .order_by(ContractAmendment.decided_at, ContractAmendment.number)
    ).all()
    amendments = []
    for amendment in approved:
        assert amendment.decided_at is not None
        change: dict[str, Any] = {
            "id": f"{entry['id']}-A{amendment.number}",
            "date": iso(amendment.decided_at),
            "rationale": amendment.reason,
            "description": f"{amendment.description}, from {amendment.effective_on:%-d %B %Y}.",
            "releaseID": amendment.release_id or release_id,
        }
        if amendment.amends_release_id:
            change["amendsReleaseID"] = amendment.amends_release_id
        after = amendment.after or {}
        if amendment.kind is AmendmentKind.EXTENSION and "ends_on" in after:
            change["period"] = {
                "startDate": _day_start(contract.starts_on),
                "endDate": _day_end(date.fromisoformat(after["ends_on"])),
            }
        elif after.get("tiers"):
            change["value"] = _lot_value(after["tiers"], lot)
        amendments.append(change)
        entry["documents"].append(
            _notice(
                "contractAmendment",
                amendment.decided_at,
                id=f"UK10-{entry['id']}-A{amendment.number}",
                description=change["description"],
            )
        )
    if amendments:
        entry["amendments"] = amendments
    if contract.status is ContractStatus.TERMINATED and contract.terminated_on is not None:
        entry["status"] = "terminated"
        entry["period"]["endDate"] = _day_start(contract.terminated_on)
        entry["description"] = f"Terminated early: {contract.termination_reason}"
        entry["documents"].append(
            _notice(
                "contractTermination",
                contract.terminated_at or contract.created_at,
                id=f"UK11-{entry['id']}",
                description=contract.termination_reason,
            )
        )


def build_release(tender: Tender, tag: str, now: datetime, sequence: int) -> dict[str, Any]:
    """The release for a change made at `now`: a snapshot of everything published so far."""
    opened = tender.opened_at is not None
    bids = _bids(tender) if opened else []
    parties: list[dict[str, Any]] = [{**_buyer(), "roles": ["buyer", "procuringEntity"]}]
    if opened:
        seen: dict[int, dict[str, Any]] = {}
        for bid in bids:
            party = seen.setdefault(
                bid.provider_id,
                {
                    **_provider_ref(bid),
                    "roles": ["tenderer"],
                    "details": {"vcse": bid.provider.kind is ProviderKind.CHARITY},
                },
            )
            if bid.awarded and tender.award_decided_at and "supplier" not in party["roles"]:
                party["roles"].append("supplier")
        parties.extend(seen.values())
    release: dict[str, Any] = {
        "ocid": tender.ocid,
        "id": f"{tender.ocid}-{sequence:04d}",
        "date": iso(now),
        "tag": [tag],
        "initiationType": "tender",
        "language": "en",
        "parties": parties,
        "buyer": _buyer(),
        "tender": _tender_section(tender, tag, now, bids),
    }
    if opened:
        release["bids"] = _bids_section(tender, bids)
    if tender.award_decided_at is not None:
        release["awards"] = _awards(tender, bids)
    if tender.contracted_at is not None:
        release["contracts"] = _contracts(tender, bids, release["id"])
    return release


def record_release(tender: Tender, tag: str, now: datetime) -> TenderRelease:
    """Freeze the release for a change; the caller's use case commits it with the change."""
    db.session.flush()
    sequence = (
        db.session.scalar(
            sa.select(sa.func.max(TenderRelease.sequence)).where(
                TenderRelease.tender_id == tender.id
            )
        )
        or 0
    ) + 1
    data = build_release(tender, tag, now, sequence)
    row = TenderRelease(
        tender_id=tender.id,
        sequence=sequence,
        release_id=data["id"],
        tag=tag,
        published_at=now,
        data=data,
    )
    db.session.add(row)
    return row


def release_package(
    tender_id: int | None = None, *, uri: str, published_at: datetime | None = None
) -> dict[str, Any]:
    """A release package of every published release (of one tender, or of all of them)."""
    stmt = sa.select(TenderRelease).order_by(TenderRelease.tender_id, TenderRelease.sequence)
    if tender_id is not None:
        tender = db.session.get(Tender, tender_id)
        if tender is None:
            raise TenderError(f"There is no tender {tender_id}.", code="tender_not_found")
        stmt = stmt.where(TenderRelease.tender_id == tender_id)
    rows = list(db.session.scalars(stmt))
    if not rows:
        raise TenderError(
            "Nothing has been published yet: OCDS releases start when a tender is published.",
            code="nothing_published",
        )
    latest = max(row.published_at for row in rows)
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": EXTENSIONS,
        "publishedDate": iso(published_at or latest),
        "publisher": {"name": partnership.details().name},
        "releases": [row.data for row in rows],
    }
