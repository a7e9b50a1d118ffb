"""Provider applications and compliance documents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, ProviderKind, User, enum_column
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.providers.rules import DocumentKind


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


APPLICATION_STATUS_TEXT = {
    ApplicationStatus.PENDING: "Waiting for a decision",
    ApplicationStatus.APPROVED: "Approved",
    ApplicationStatus.REJECTED: "Rejected",
}


class ProviderApplication(Model):
    """An organisation asking to sell through the partnership, from the public page."""

    __tablename__ = "provider_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ProviderKind] = enum_column(ProviderKind)
    address: Mapped[str] = mapped_column(sa.Text)
    # One of the two: a Companies House number (8 characters) or a charity number.
    company_number: Mapped[str] = mapped_column(sa.String(8), default="")
    charity_number: Mapped[str] = mapped_column(sa.String(12), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(200))
    contact_email: Mapped[str] = mapped_column(sa.String(254), index=True)
    contact_phone: Mapped[str] = mapped_column(sa.String(30))
    # Category values (marketplace.catalogue) the organisation offers.
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[ApplicationStatus] = enum_column(
        ApplicationStatus, default=ApplicationStatus.PENDING, index=True
    )
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The provider organisation an approval created.
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"), index=True)

    decided_by: Mapped[User | None] = relationship()
    provider: Mapped[Provider | None] = relationship()


class ComplianceDocument(Model):
    """A provider's current document of one kind: its dates and the file, kept in the database
    (every worker sees it, and the file and its record are written or rolled back together).

    Uploading a new one replaces the file and dates in place; the audit trail keeps the history.
    """

    __tablename__ = "compliance_documents"
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "kind", name="uq_compliance_documents_provider_kind"),
        sa.CheckConstraint("expires_on >= issued_on", name="expires_after_issue"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    kind: Mapped[DocumentKind] = enum_column(DocumentKind)
    issued_on: Mapped[date]
    expires_on: Mapped[date] = mapped_column(index=True)
    # DBS: the date of the last check of staff working with children, and the declaration.
    last_checked_on: Mapped[date | None]
    declaration: Mapped[str] = mapped_column(sa.Text, default="")
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The expiry date the provider was last reminded of (once per document and expiry).
    reminded_for_expiry_on: Mapped[date | None]

    provider: Mapped[Provider] = relationship()
