"""The demo's providers in good standing: every provider's compliance documents, uploaded
through the same use case as the provider's page (one expiring soon, so the reminder and the
office's list have something to show), and an application waiting on the public page's list."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Provider
from marketplace.providers import applications, compliance
from marketplace.providers.models import ComplianceDocument, ProviderApplication
from marketplace.providers.rules import REQUIRED_KINDS, DocumentKind

# A one-page PDF: what a scanned certificate would be, small enough for the seed.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
# The provider whose employer's liability insurance runs out within the reminder window.
EXPIRING_SOON = "Governance Matters Clerking"
EXPIRING_IN_DAYS = 21

DEMO_APPLICATION = applications.ApplicationInput(
    organisation_name="Acton Music Hub CIC",
    kind="company",
    address="14 Churchfield Road\nActon\nLondon W3 6BH",
    company_number="09876543",
    charity_number="",
    contact_name="Femi Adeyemi",
    contact_email="femi@actonmusic.demo.pooled.test",
    contact_phone="020 8992 0000",
    categories=["cpd"],
)


def _expiry(provider: Provider, kind: DocumentKind, today: date) -> date:
    if provider.name == EXPIRING_SOON and kind is DocumentKind.EMPLOYERS_LIABILITY:
        return today + timedelta(days=EXPIRING_IN_DAYS)
    return today + timedelta(days=165 + 30 * REQUIRED_KINDS.index(kind))


def seed_compliance(today: date) -> int:
    """Each provider's missing documents, uploaded as its users would; how many."""
    have = {
        (provider_id, kind)
        for provider_id, kind in db.session.execute(
            sa.select(ComplianceDocument.provider_id, ComplianceDocument.kind)
        )
    }
    uploaded = 0
    for provider in db.session.scalars(sa.select(Provider).order_by(Provider.id)).all():
        for kind in REQUIRED_KINDS:
            if (provider.id, kind) in have:
                continue
            compliance.upload_document(
                provider.id,
                compliance.DocumentUpload(
                    kind=kind,
                    issued_on=today - timedelta(days=200),
                    expires_on=_expiry(provider, kind, today),
                    filename=f"{kind.value}-{provider.id}.pdf",
                    content=DEMO_PDF,
                    last_checked_on=today - timedelta(days=90)
                    if kind is DocumentKind.DBS
                    else None,
                    declaration=(
                        "Every member of staff working with children holds an enhanced DBS "
                        "check with barred-list check, renewed every three years."
                        if kind is DocumentKind.DBS
                        else ""
                    ),
                ),
                None,
                today=today,
            )
            uploaded += 1
    return uploaded


def seed_application() -> int:
    """A pending application from the public page, unless one from that address exists."""
    exists = db.session.scalar(
        sa.select(ProviderApplication.id).where(
            ProviderApplication.contact_email == DEMO_APPLICATION.contact_email
        )
    )
    if exists is not None:
        return 0
    applications.apply(DEMO_APPLICATION)
    return 1
