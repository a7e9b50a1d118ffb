"""Compliance documents: a provider uploads or replaces each kind; the partnership office sees
who is missing, expiring or expired; publishing and new orders ask `publish_problem` and
`ordering_problem`; a daily job reminds providers 30 days before a document expires."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import undefer

from app import audit
from app.extensions import db
from app.models import Provider, Role, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, london_today, utcnow
from app.uploads import clean_filename
from app.use_case import use_case
from marketplace.providers import rules
from marketplace.providers.errors import ComplianceDocumentNotFound, InvalidComplianceDocument
from marketplace.providers.models import ComplianceDocument
from marketplace.providers.rules import DocumentKind, DocumentStanding, Standing

DECLARATION_MAX = 2000


@dataclass(frozen=True)
class DocumentUpload:
    kind: DocumentKind
    issued_on: date | None
    expires_on: date | None
    filename: str
    content: bytes
    last_checked_on: date | None = None
    declaration: str = ""


@dataclass(frozen=True)
class ProviderCompliance:
    """One provider's documents for the partnership office's list."""

    provider: Provider
    rows: list[DocumentStanding]

    def kinds(self, standing: Standing) -> list[DocumentKind]:
        return [row.kind for row in self.rows if row.standing is standing]

    @property
    def in_order(self) -> bool:
        return all(row.standing in (Standing.CURRENT, Standing.EXPIRING) for row in self.rows)


def documents_for_provider(provider_id: int) -> dict[DocumentKind, ComplianceDocument]:
    return {
        document.kind: document
        for document in db.session.scalars(
            sa.select(ComplianceDocument).where(ComplianceDocument.provider_id == provider_id)
        )
    }


def expiries(provider_id: int) -> dict[DocumentKind, date]:
    rows = db.session.execute(
        sa.select(ComplianceDocument.kind, ComplianceDocument.expires_on).where(
            ComplianceDocument.provider_id == provider_id
        )
    )
    return {kind: expires_on for kind, expires_on in rows}


def standings(provider_id: int, today: date) -> list[DocumentStanding]:
    return rules.standings(expiries(provider_id), today)


def publish_problem(provider_id: int, today: date) -> str | None:
    return rules.publish_problem(expiries(provider_id), today)


def ordering_problem(provider_id: int, today: date) -> str | None:
    return rules.ordering_problem(expiries(provider_id), today)


def get_document_for_provider(provider_id: int, kind: DocumentKind) -> ComplianceDocument:
    """The provider's document of this kind with its file; ComplianceDocumentNotFound when there
    is none (or it is another provider's)."""
    document = db.session.scalar(
        sa.select(ComplianceDocument)
        .options(undefer(ComplianceDocument.content))
        .where(ComplianceDocument.provider_id == provider_id, ComplianceDocument.kind == kind)
    )
    if document is None:
        raise ComplianceDocumentNotFound("There is no such document.")
    return document


def overview(today: date) -> list[ProviderCompliance]:
    """Every provider's documents, those with something missing or expired first."""
    providers = db.session.scalars(sa.select(Provider).order_by(Provider.name)).all()
    by_provider: dict[int, dict[DocumentKind, date]] = {}
    for provider_id, kind, expires_on in db.session.execute(
        sa.select(
            ComplianceDocument.provider_id, ComplianceDocument.kind, ComplianceDocument.expires_on
        )
    ):
        by_provider.setdefault(provider_id, {})[kind] = expires_on
    result = [
        ProviderCompliance(provider, rules.standings(by_provider.get(provider.id, {}), today))
        for provider in providers
    ]
    return sorted(result, key=lambda p: (p.in_order, p.provider.name.lower()))


def _check(upload: DocumentUpload, today: date) -> tuple[str, str]:
    if upload.issued_on is None:
        raise InvalidComplianceDocument("Enter the issue date", field="issued_on")
    if upload.expires_on is None:
        raise InvalidComplianceDocument("Enter the date it expires", field="expires_on")
    if upload.issued_on > today:
        raise InvalidComplianceDocument("The issue date cannot be in the future", field="issued_on")
    if upload.expires_on < upload.issued_on:
        raise InvalidComplianceDocument(
            "The expiry date must be on or after the issue date", field="expires_on"
        )
    if upload.expires_on < today:
        raise InvalidComplianceDocument(
            f"This document expired on {format_date(upload.expires_on)}: upload one in date",
            field="expires_on",
        )
    if upload.kind is DocumentKind.DBS:
        if upload.last_checked_on is None:
            raise InvalidComplianceDocument(
                "Enter the date of the last DBS check", field="last_checked_on"
            )
        if upload.last_checked_on > today:
            raise InvalidComplianceDocument(
                "The last DBS check cannot be in the future", field="last_checked_on"
            )
        if not upload.declaration.strip():
            raise InvalidComplianceDocument(
                "Write the declaration about your staff’s DBS checks", field="declaration"
            )
    if len(upload.declaration) > DECLARATION_MAX:
        raise InvalidComplianceDocument(
            f"The declaration must be {DECLARATION_MAX} characters or fewer", field="declaration"
        )
    name = clean_filename(upload.filename)
    if not name:
        raise InvalidComplianceDocument("Choose the file to upload", field="file")
    problem = rules.file_type_problem(name, upload.content)
    if problem is not None:
        raise InvalidComplianceDocument(problem, field="file")
    extension = name.rsplit(".", 1)[-1].lower()
    return name, rules.CONTENT_TYPES[extension]


@use_case
def upload_document(
    provider_id: int, upload: DocumentUpload, actor: User | None, today: date | None = None
) -> ComplianceDocument:
    """Add the provider's document of this kind, or replace the one it has (a new expiry date
    is reminded of afresh)."""
    today = today or london_today()
    if db.session.get(Provider, provider_id) is None:
        raise ComplianceDocumentNotFound("There is no such provider.")
    name, content_type = _check(upload, today)
    document = db.session.scalar(
        sa.select(ComplianceDocument)
        .where(
            ComplianceDocument.provider_id == provider_id, ComplianceDocument.kind == upload.kind
        )
        .with_for_update()
    )
    before = None
    if document is None:
        document = ComplianceDocument(provider_id=provider_id, kind=upload.kind)
        db.session.add(document)
    else:
        before = {"expires_on": document.expires_on.isoformat(), "filename": document.filename}
    assert upload.issued_on is not None and upload.expires_on is not None  # checked above
    document.issued_on = upload.issued_on
    document.expires_on = upload.expires_on
    is_dbs = upload.kind is DocumentKind.DBS
    document.last_checked_on = upload.last_checked_on if is_dbs else None
    document.declaration = upload.declaration.strip() if is_dbs else ""
    document.filename = name
    document.content_type = content_type
    document.size_bytes = len(upload.content)
    document.sha256 = hashlib.sha256(upload.content).hexdigest()
    document.content = upload.content
    document.uploaded_by_id = actor.id if actor is not None else None
    document.uploaded_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "compliance_document",
        document.id,
        "replaced" if before else "uploaded",
        before=before,
        after={
            "kind": upload.kind.value,
            "expires_on": document.expires_on.isoformat(),
            "filename": name,
            "sha256": document.sha256,
        },
        scope=f"provider:{provider_id}",
    )
    db.session.commit()
    return document


def _provider_people(provider: Provider) -> list[User]:
    """Who hears about a provider's documents: its users, or a school-led hub's SBMs."""
    condition = User.provider_id == provider.id
    if provider.school_id is not None:
        condition = sa.or_(
            condition, sa.and_(User.role == Role.SBM, User.school_id == provider.school_id)
        )
    return list(
        db.session.scalars(
            sa.select(User).where(condition, User.active.is_(True)).order_by(User.id)
        )
    )


@use_case
def send_expiry_reminders(today: date | None = None) -> int:
    """Every morning: remind each provider of documents expiring within 30 days, once per
    document and expiry date; how many documents were reminded of."""
    today = today or london_today()
    documents = db.session.scalars(
        sa.select(ComplianceDocument)
        .where(
            ComplianceDocument.expires_on >= today,
            ComplianceDocument.expires_on <= today + timedelta(days=rules.REMINDER_DAYS),
        )
        .order_by(ComplianceDocument.id)
        .with_for_update()
    ).all()
    reminded = 0
    for document in documents:
        if not rules.reminder_due(document.expires_on, document.reminded_for_expiry_on, today):
            continue
        days = (document.expires_on - today).days
        notify(
            "compliance_expiring",
            _provider_people(document.provider),
            event=f"compliance-{document.id}-expires-{document.expires_on.isoformat()}",
            template="compliance_expiring",
            subject=f"Your {document.kind.in_sentence} expires on "
            f"{format_date(document.expires_on)}",
            link=link("marketplace.provider_compliance"),
            about=("compliance_document", document.id),
            summary=f"Upload a new one before then, or your offers stop taking new orders "
            f"({days} days left).",
            document=document,
            expires_on=format_date(document.expires_on),
            days=days,
        )
        document.reminded_for_expiry_on = document.expires_on
        audit.record(
            None,
            "compliance_document",
            document.id,
            "expiry_reminded",
            after={"expires_on": document.expires_on.isoformat()},
            scope=f"provider:{document.provider_id}",
        )
        reminded += 1
    db.session.commit()
    return reminded
