"""Compliance documents: providers upload them; offers are published and ordered only while
they are in date; the office sees the gaps; providers are reminded 30 days before expiry."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Role
from app.time import london_today
from marketplace.offers import services as offers
from marketplace.offers.models import OfferStatus
from marketplace.orders.errors import OfferUnavailable
from marketplace.orders.models import Order, OrderStatus
from marketplace.providers import compliance
from marketplace.providers.errors import InvalidComplianceDocument, NotCompliant
from marketplace.providers.models import ComplianceDocument
from marketplace.providers.rules import DocumentKind
from tests import factories
from tests.marketplace.conftest import draft
from tests.support.outbox import emails
from tests.support.smtp import text_of

PDF = factories.PDF_BYTES


def upload_form(**changes: object) -> dict[str, object]:
    today = london_today()
    data: dict[str, object] = {
        "issued_on": (today - timedelta(days=10)).isoformat(),
        "expires_on": (today + timedelta(days=200)).isoformat(),
        "file": (io.BytesIO(PDF), "insurance certificate.pdf"),
    }
    data.update(changes)
    if isinstance(data["file"], tuple) and isinstance(data["file"][0], bytes):
        data["file"] = (io.BytesIO(data["file"][0]), data["file"][1])
    return data


def document(provider_id: int, kind: DocumentKind) -> ComplianceDocument | None:
    return db.session.scalar(
        sa.select(ComplianceDocument).where(
            ComplianceDocument.provider_id == provider_id, ComplianceDocument.kind == kind
        )
    )


def expire(provider, kind: DocumentKind, days_ago: int = 1) -> None:
    row = document(provider.id, kind)
    assert row is not None
    row.expires_on = london_today() - timedelta(days=days_ago)
    row.issued_on = row.expires_on - timedelta(days=365)
    db.session.commit()


def test_a_provider_uploads_a_document_and_downloads_it_back(client, login, market):
    provider = factories.make_provider("Fresh Start Ltd", compliant=False)
    user = factories.make_user(Role.PROVIDER, provider=provider)
    db.session.commit()
    login(user)
    page = client.get("/provider/compliance").get_data(as_text=True)
    assert page.count("Missing") >= 5
    assert "your public liability insurance" in page  # what stops publishing, by name
    done = client.post(
        "/provider/compliance/public-liability",
        data=upload_form(),
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    row = document(provider.id, DocumentKind.PUBLIC_LIABILITY)
    assert row is not None and row.filename == "insurance certificate.pdf"
    assert row.content_type == "application/pdf" and row.size_bytes == len(PDF)
    file = client.get("/provider/compliance/public-liability/file")
    assert file.status_code == 200 and file.data == PDF
    assert file.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in file.headers["Content-Disposition"]


def test_replacing_a_document_keeps_one_per_kind_with_the_new_dates(client, login, market):
    login(market.provider_user_a)
    new_expiry = london_today() + timedelta(days=400)
    response = client.post(
        "/provider/compliance/safeguarding",
        data=upload_form(expires_on=new_expiry.isoformat()),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    rows = db.session.scalars(
        sa.select(ComplianceDocument).where(
            ComplianceDocument.provider_id == market.provider_a.id,
            ComplianceDocument.kind == DocumentKind.SAFEGUARDING,
        )
    ).all()
    assert len(rows) == 1 and rows[0].expires_on == new_expiry


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"file": (b"<html>", "policy.pdf")}, "file", "not really a .pdf"),
        ({"file": (b"PK..", "policy.docx")}, "file", "not a file type we accept"),
        ({"expires_on": "2020-01-01", "issued_on": "2019-01-01"}, "expires_on", "expired on"),
        ({"expires_on": ""}, "expires_on", "Enter the date it expires"),
        ({"issued_on": "not a date"}, "issued_on", "enter a real date"),
    ],
)
def test_a_bad_upload_is_refused_with_a_named_error_and_nothing_changed(
    client, login, market, changes, field, message
):
    login(market.provider_user_a)
    before = document(market.provider_a.id, DocumentKind.EMPLOYERS_LIABILITY)
    assert before is not None
    expiry = before.expires_on
    response = client.post(
        "/provider/compliance/employers-liability",
        data=upload_form(**changes),
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page and f'href="#{field}"' in page and message in page
    db.session.expire_all()
    after = document(market.provider_a.id, DocumentKind.EMPLOYERS_LIABILITY)
    assert after is not None and after.expires_on == expiry and after.content == PDF


def test_the_dbs_declaration_needs_the_last_check_date_and_the_declaration(market):
    upload = compliance.DocumentUpload(
        kind=DocumentKind.DBS,
        issued_on=london_today(),
        expires_on=london_today() + timedelta(days=365),
        filename="dbs.pdf",
        content=PDF,
    )
    with pytest.raises(InvalidComplianceDocument, match="last DBS check"):
        compliance.upload_document(market.provider_a.id, upload, market.provider_user_a)
    with pytest.raises(InvalidComplianceDocument, match="declaration"):
        compliance.upload_document(
            market.provider_a.id,
            compliance.DocumentUpload(**{**upload.__dict__, "last_checked_on": london_today()}),
            market.provider_user_a,
        )


def test_a_file_over_5_mb_is_refused(market):
    upload = compliance.DocumentUpload(
        kind=DocumentKind.SAFEGUARDING,
        issued_on=london_today(),
        expires_on=london_today() + timedelta(days=365),
        filename="huge.pdf",
        content=b"%PDF-" + b"0" * (5 * 1024 * 1024),
    )
    with pytest.raises(InvalidComplianceDocument, match="the limit is 5 MB"):
        compliance.upload_document(market.provider_a.id, upload, market.provider_user_a)


def test_another_providers_document_is_not_found(client, login, market):
    login(market.provider_user_b)
    # provider B has its own; provider A's file is never reachable from B's pages
    assert client.get("/provider/compliance/dbs/file").data == PDF
    assert client.get(f"/admin/compliance/{market.provider_a.id}/dbs").status_code == 403
    assert client.get("/provider/compliance/no-such-kind").status_code == 404


def test_an_offer_cannot_be_published_while_a_document_is_missing_or_expired(market):
    provider = factories.make_provider("Gap Ltd", compliant=False)
    offer = factories.make_offer(provider, market.service, status=OfferStatus.DRAFT)
    db.session.commit()
    with pytest.raises(NotCompliant, match="public liability insurance"):
        offers.publish_offer(offer.id, provider.id, market.provider_user_a)
    db.session.refresh(offer)
    assert offer.status is OfferStatus.DRAFT

    expire(market.provider_a, DocumentKind.DATA_PROTECTION)
    draft_a = factories.make_offer(market.provider_a, market.service, status=OfferStatus.DRAFT)
    db.session.commit()
    with pytest.raises(NotCompliant, match="data-protection \\(DPA\\) agreement has expired"):
        offers.publish_offer(draft_a.id, market.provider_a.id, market.provider_user_a)


def test_on_expiry_an_offer_stops_taking_new_orders_but_existing_orders_stand(market):
    placed = draft(market)
    expire(market.provider_a, DocumentKind.PUBLIC_LIABILITY)
    with pytest.raises(OfferUnavailable, match="cannot take new orders"):
        draft(market)
    db.session.refresh(placed)
    assert placed.status is OrderStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    # offer B's provider is in order: unaffected
    assert draft(market, offer_id=market.offer_b.id).offer_id == market.offer_b.id


def test_the_admin_list_shows_what_is_missing_expiring_and_expired(client, login, market):
    factories.make_provider("Nothing Yet Ltd", compliant=False)
    expire(market.provider_a, DocumentKind.DBS)
    row = document(market.provider_b.id, DocumentKind.SAFEGUARDING)
    assert row is not None
    row.expires_on = london_today() + timedelta(days=10)
    db.session.commit()
    login(market.admin)
    page = client.get("/admin/compliance").get_data(as_text=True)
    assert "Nothing Yet Ltd" in page
    assert "Missing" in page and "Expired" in page and "Expiring soon" in page
    overview = compliance.overview(london_today())
    # the ones with a gap come first
    assert [p.provider.name for p in overview][:2] == sorted(
        ["Nothing Yet Ltd", market.provider_a.name], key=str.lower
    )
    assert client.get(f"/admin/compliance/{market.provider_a.id}/dbs").data == PDF


def test_providers_are_reminded_once_30_days_before_a_document_expires(market, mailbox):
    row = document(market.provider_a.id, DocumentKind.EMPLOYERS_LIABILITY)
    assert row is not None
    row.expires_on = london_today() + timedelta(days=30)
    db.session.commit()
    assert compliance.send_expiry_reminders() == 1
    assert compliance.send_expiry_reminders() == 0  # once
    [message] = mailbox.wait_for(market.provider_user_a.email)
    assert "employer’s liability insurance" in message["Subject"]
    assert "stop taking new orders" in text_of(message)
    assert not emails("compliance_expiring", to=market.provider_user_b)
    # a replacement with a new expiry date is reminded of afresh when its time comes
    row.expires_on = london_today() + timedelta(days=20)
    db.session.commit()
    assert compliance.send_expiry_reminders() == 1
