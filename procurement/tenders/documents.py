"""Documents on tenders and bids: type and size limits, a SHA-256 of every file, sealed access.

Files are stored in the database (`TenderDocument.content`), so every worker sees them and a
refused upload leaves nothing behind. A file is accepted only if its extension is allowed
*and* its bytes look like that type (a PDF starts with %PDF-, an Office or OpenDocument file is
a zip with the right parts, text is UTF-8); it is served back with the type we decided, as an
attachment.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import Role, User
from app.time import utcnow
from app.uploads import clean_filename
from app.use_case import use_case
from procurement.tenders.access import locked_tender, record, require_committee
from procurement.tenders.bids import bid_for_viewer, own_bid, require_bidding_open
from procurement.tenders.changes import editable_stage, record_change, require_reason
from procurement.tenders.errors import DocumentNotFound, InvalidDocument, TenderNotFound
from procurement.tenders.models import Tender, TenderDocument, TenderStage

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DOCUMENTS_PER_BID = 10
MAX_DOCUMENTS_PER_TENDER = 20

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
    "txt": "text/plain",
}
ALLOWED_TEXT = "PDF, Word (.docx), Excel (.xlsx), OpenDocument (.odt, .ods), CSV or plain text"
_OOXML_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    content: bytes


def _looks_like(extension: str, content: bytes) -> bool:
    if extension == "pdf":
        return content.startswith(b"%PDF-")
    if extension in ("csv", "txt"):
        if b"\x00" in content:
            return False
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if extension in _OOXML_PART:
                return "[Content_Types].xml" in names and _OOXML_PART[extension] in names
            if "mimetype" not in names:
                return False
            return (
                archive.read("mimetype").decode("ascii", "replace").strip()
                == CONTENT_TYPES[extension]
            )
    except (zipfile.BadZipFile, KeyError, ValueError):
        return False


def check_file(filename: str, content: bytes) -> CheckedFile:
    """Accept an allowed, non-empty file up to the size limit, or say what is wrong with it."""
    name = clean_filename(filename)
    if not name and (filename or "").strip():
        raise InvalidDocument(
            "The file's name has nothing we can keep: rename it, for example plan.pdf",
            field="file",
        )
    if not name:
        raise InvalidDocument("Choose a file to upload", field="file")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in CONTENT_TYPES:
        raise InvalidDocument(
            f"“{name}” is not a file type we accept: upload {ALLOWED_TEXT}", field="file"
        )
    if not content:
        raise InvalidDocument(f"“{name}” is empty", field="file")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(
            f"“{name}” is {len(content) / 1024 / 1024:.1f} MB: the limit is "
            f"{MAX_DOCUMENT_BYTES // 1024 // 1024} MB",
            field="file",
        )
    if not _looks_like(extension, content):
        raise InvalidDocument(
            f"“{name}” is not really a .{extension} file: its contents do not match its name",
            field="file",
        )
    return CheckedFile(
        filename=name,
        content_type=CONTENT_TYPES[extension],
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


def _count(tender_id: int, bid_id: int | None) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(TenderDocument)
        .where(TenderDocument.tender_id == tender_id)
    )
    stmt = stmt.where(
        TenderDocument.bid_id.is_(None) if bid_id is None else TenderDocument.bid_id == bid_id
    )
    return db.session.scalar(stmt) or 0


@use_case
def attach_to_tender(
    tender_id: int,
    actor: User,
    filename: str,
    content: bytes,
    now: datetime | None = None,
    reason: str | None = None,
) -> TenderDocument:
    """Publish a document with the tender (a change, with a reason, once it is open)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    stage = editable_stage(tender, now)
    checked = check_file(filename, content)
    if stage is TenderStage.OPEN:
        reason = require_reason(reason)
    if _count(tender.id, None) >= MAX_DOCUMENTS_PER_TENDER:
        raise InvalidDocument(
            f"A tender can have at most {MAX_DOCUMENTS_PER_TENDER} documents", field="file"
        )
    document = _store(tender, None, None, actor, checked, now)
    if stage is TenderStage.OPEN:
        record_change(tender, actor, now, reason or "", [f"document “{checked.filename}” added"])
    record(
        actor,
        tender,
        "tender_document",
        document.id,
        "document added",
        now,
        after={"filename": checked.filename, "sha256": checked.sha256, "size": checked.size_bytes},
    )
    db.session.commit()
    return document


@use_case
def attach_to_bid(
    tender_id: int,
    bid_id: int,
    actor: User,
    filename: str,
    content: bytes,
    now: datetime | None = None,
) -> TenderDocument:
    """Add a document to your own bid before the deadline (the bid's receipt time moves)."""
    now = now or utcnow()
    if actor.role is not Role.PROVIDER or actor.provider_id is None:
        raise DocumentNotFound()
    tender = locked_tender(tender_id)
    bid = own_bid(tender, bid_id, actor.provider_id)
    require_bidding_open(tender, now)
    checked = check_file(filename, content)
    if _count(tender.id, bid.id) >= MAX_DOCUMENTS_PER_BID:
        raise InvalidDocument(
            f"A bid can have at most {MAX_DOCUMENTS_PER_BID} documents", field="file"
        )
    document = _store(tender, bid.id, bid.provider_id, actor, checked, now)
    bid.submitted_at = now
    record(
        actor,
        tender,
        "tender_bid_document",
        document.id,
        "bid document added",
        now,
        after={"bid": bid.id, "sha256": checked.sha256, "size": checked.size_bytes},
    )
    db.session.commit()
    return document


def _store(
    tender: Tender,
    bid_id: int | None,
    provider_id: int | None,
    actor: User,
    checked: CheckedFile,
    now: datetime,
) -> TenderDocument:
    document = TenderDocument(
        tender_id=tender.id,
        bid_id=bid_id,
        provider_id=provider_id,
        filename=checked.filename,
        content_type=checked.content_type,
        size_bytes=checked.size_bytes,
        sha256=checked.sha256,
        content=checked.content,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    db.session.add(document)
    db.session.flush()
    return document


def bid_documents(bid_id: int) -> list[TenderDocument]:
    return list(
        db.session.scalars(
            sa.select(TenderDocument)
            .where(TenderDocument.bid_id == bid_id)
            .order_by(TenderDocument.uploaded_at, TenderDocument.id)
        )
    )


def documents_by_bid(bid_ids: list[int]) -> dict[int, list[TenderDocument]]:
    """Each bid's documents, in one query."""
    found: dict[int, list[TenderDocument]] = {bid_id: [] for bid_id in bid_ids}
    if bid_ids:
        for document in db.session.scalars(
            sa.select(TenderDocument)
            .where(TenderDocument.bid_id.in_(bid_ids))
            .order_by(TenderDocument.uploaded_at, TenderDocument.id)
        ):
            found[document.bid_id].append(document)  # type: ignore[index]
    return found


def document_for_download(tender: Tender, document_id: int, user: User) -> TenderDocument:
    """A document this user may download; a sealed one does not exist for anyone else."""
    document = db.session.get(TenderDocument, document_id)
    if document is None or document.tender_id != tender.id:
        raise DocumentNotFound()
    if document.bid_id is None:
        if not tender.was_published and user.role not in (Role.COMMITTEE, Role.ADMIN):
            raise TenderNotFound("Page not found")
        return document
    try:
        bid_for_viewer(tender, document.bid_id, user)
    except DomainError:  # any refusal reads as "no such document"
        raise DocumentNotFound() from None
    return document
