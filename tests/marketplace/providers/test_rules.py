"""The pure rules of provider applications and compliance documents."""

from datetime import date, timedelta

import pytest

from marketplace.providers import rules
from marketplace.providers.rules import DocumentKind, Standing

TODAY = date(2026, 12, 6)


def all_in_date(days: int = 365) -> dict[DocumentKind, date]:
    return {kind: TODAY + timedelta(days=days) for kind in rules.REQUIRED_KINDS}


@pytest.mark.parametrize(
    ("expires_on", "expected"),
    [
        (None, Standing.MISSING),
        (TODAY - timedelta(days=1), Standing.EXPIRED),
        (TODAY, Standing.EXPIRING),
        (TODAY + timedelta(days=30), Standing.EXPIRING),
        (TODAY + timedelta(days=31), Standing.CURRENT),
    ],
)
def test_a_document_is_in_date_through_its_expiry_day_and_expiring_in_its_last_30(
    expires_on, expected
):
    assert rules.standing(expires_on, TODAY) is expected


def test_an_offer_can_be_published_with_every_document_in_date():
    assert rules.publish_problem(all_in_date(), TODAY) is None
    assert rules.publish_problem(all_in_date(days=3), TODAY) is None  # expiring is in date


def test_publishing_names_each_missing_and_expired_document():
    expiries = all_in_date()
    del expiries[DocumentKind.DBS]
    del expiries[DocumentKind.SAFEGUARDING]
    expiries[DocumentKind.PUBLIC_LIABILITY] = TODAY - timedelta(days=1)
    problem = rules.publish_problem(expiries, TODAY)
    assert problem is not None
    assert "your safeguarding policy and DBS declaration are missing" in problem
    assert "your public liability insurance has expired" in problem


def test_a_provider_with_an_expired_document_takes_no_new_orders():
    expiries = all_in_date()
    assert rules.ordering_problem(expiries, TODAY) is None
    expiries[DocumentKind.DATA_PROTECTION] = TODAY - timedelta(days=1)
    assert "cannot take new orders" in (rules.ordering_problem(expiries, TODAY) or "")


def test_a_reminder_is_due_once_per_expiry_date_within_30_days():
    soon = TODAY + timedelta(days=30)
    assert rules.reminder_due(soon, None, TODAY)
    assert not rules.reminder_due(soon, soon, TODAY)  # already reminded of this date
    assert rules.reminder_due(soon, TODAY, TODAY)  # reminded of an earlier document's date
    assert not rules.reminder_due(TODAY + timedelta(days=31), None, TODAY)
    assert not rules.reminder_due(TODAY - timedelta(days=1), None, TODAY)


@pytest.mark.parametrize("number", ["01234567", "SC123456", "NI123456", "OC123456"])
def test_companies_house_numbers_are_8_characters(number):
    assert rules.company_number_problem(number) is None


@pytest.mark.parametrize("number", ["1234567", "123456789", "AB12345", "SC12345X", "S1234567", ""])
def test_a_malformed_companies_house_number_is_refused(number):
    assert "8 characters" in (rules.company_number_problem(number) or "")


@pytest.mark.parametrize("number", ["1123456", "212345", "SC012345", "NIC100002"])
def test_charity_numbers_of_each_register_are_accepted(number):
    assert rules.charity_number_problem(number) is None


@pytest.mark.parametrize("number", ["12345", "12345678", "SC12345", "NIC12345", "CH123456"])
def test_a_malformed_charity_number_is_refused(number):
    assert rules.charity_number_problem(number) is not None


def test_numbers_are_read_without_spaces_in_capitals():
    assert rules.normalise_number(" sc 123 456 ") == "SC123456"


def test_files_must_be_a_pdf_or_image_whose_bytes_match_and_within_5_mb():
    assert rules.file_type_problem("cover.pdf", b"%PDF-1.7 ...") is None
    assert rules.file_type_problem("scan.PNG", b"\x89PNG\r\n\x1a\n....") is None
    assert rules.file_type_problem("scan.jpg", b"\xff\xd8\xff\xe0....") is None
    assert "not a file type we accept" in (rules.file_type_problem("policy.docx", b"PK") or "")
    assert "not really a .pdf" in (rules.file_type_problem("policy.pdf", b"<html>") or "")
    assert "is empty" in (rules.file_type_problem("policy.pdf", b"") or "")
    too_big = b"%PDF-" + b"0" * rules.MAX_FILE_BYTES
    assert "the limit is 5 MB" in (rules.file_type_problem("big.pdf", too_big) or "")
