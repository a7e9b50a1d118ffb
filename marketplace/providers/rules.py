"""The rules of provider applications and compliance documents.

Pure: the standard library only. Each check returns a sentence for people when the answer is
no, and None when the answer is yes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class DocumentKind(StrEnum):
    PUBLIC_LIABILITY = "public-liability"
    EMPLOYERS_LIABILITY = "employers-liability"
    SAFEGUARDING = "safeguarding"
    DBS = "dbs"
    DATA_PROTECTION = "data-protection"

    @property
    def label(self) -> str:
        return DOCUMENT_LABELS[self]

    @property
    def in_sentence(self) -> str:
        """The name inside a sentence: "public liability insurance", "DBS declaration"."""
        return DOCUMENT_NAMES[self]


DOCUMENT_LABELS = {
    DocumentKind.PUBLIC_LIABILITY: "Public liability insurance",
    DocumentKind.EMPLOYERS_LIABILITY: "Employer’s liability insurance",
    DocumentKind.SAFEGUARDING: "Safeguarding policy",
    DocumentKind.DBS: "DBS declaration",
    DocumentKind.DATA_PROTECTION: "Data-protection (DPA) agreement",
}
DOCUMENT_NAMES = {
    DocumentKind.PUBLIC_LIABILITY: "public liability insurance",
    DocumentKind.EMPLOYERS_LIABILITY: "employer’s liability insurance",
    DocumentKind.SAFEGUARDING: "safeguarding policy",
    DocumentKind.DBS: "DBS declaration",
    DocumentKind.DATA_PROTECTION: "data-protection (DPA) agreement",
}
# Every provider needs every kind in date to publish offers and take new orders.
REQUIRED_KINDS: tuple[DocumentKind, ...] = tuple(DocumentKind)
REMINDER_DAYS = 30


class Standing(StrEnum):
    MISSING = "missing"
    EXPIRED = "expired"
    EXPIRING = "expiring"  # in date, expiring within REMINDER_DAYS
    CURRENT = "current"


STANDING_TEXT = {
    Standing.MISSING: "Missing",
    Standing.EXPIRED: "Expired",
    Standing.EXPIRING: "Expiring soon",
    Standing.CURRENT: "In date",
}


@dataclass(frozen=True)
class DocumentStanding:
    kind: DocumentKind
    standing: Standing
    expires_on: date | None


def standing(expires_on: date | None, today: date) -> Standing:
    """A document is in date up to and including its expiry day."""
    if expires_on is None:
        return Standing.MISSING
    if expires_on < today:
        return Standing.EXPIRED
    if expires_on <= today + timedelta(days=REMINDER_DAYS):
        return Standing.EXPIRING
    return Standing.CURRENT


def standings(expiries: Mapping[DocumentKind, date], today: date) -> list[DocumentStanding]:
    """Each required kind with its standing, in the order of REQUIRED_KINDS."""
    return [
        DocumentStanding(kind, standing(expiries.get(kind), today), expiries.get(kind))
        for kind in REQUIRED_KINDS
    ]


def _names(kinds: list[DocumentKind]) -> str:
    names = [kind.in_sentence for kind in kinds]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _gaps(expiries: Mapping[DocumentKind, date], today: date) -> str | None:
    """ "your X is missing; your Y and Z have expired", or None when all are in date."""
    rows = standings(expiries, today)
    missing = [r.kind for r in rows if r.standing is Standing.MISSING]
    expired = [r.kind for r in rows if r.standing is Standing.EXPIRED]
    parts = []
    if missing:
        parts.append(f"your {_names(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    if expired:
        parts.append(f"your {_names(expired)} {'has' if len(expired) == 1 else 'have'} expired")
    return "; ".join(parts) if parts else None


def publish_problem(expiries: Mapping[DocumentKind, date], today: date) -> str | None:
    """An offer can be published only while every required document is there and in date."""
    gaps = _gaps(expiries, today)
    if gaps is None:
        return None
    return (
        f"This offer cannot be published: {gaps}. Upload the documents on your compliance page "
        "first."
    )


def ordering_problem(expiries: Mapping[DocumentKind, date], today: date) -> str | None:
    """A provider takes new orders only while every required document is there and in date;
    orders already placed are not affected."""
    if _gaps(expiries, today) is None:
        return None
    return (
        "This provider cannot take new orders at the moment: its compliance documents are "
        "not up to date"
    )


def reminder_due(expires_on: date, reminded_for_expiry_on: date | None, today: date) -> bool:
    """Remind once per expiry date, from REMINDER_DAYS before it until the day it passes."""
    return (
        today <= expires_on <= today + timedelta(days=REMINDER_DAYS)
        and reminded_for_expiry_on != expires_on
    )


# Applications --------------------------------------------------------------------------------

_COMPANY = re.compile(r"^(?:[0-9]{8}|(?:SC|NI|OC|SO|NC|NF|FC|SE|SF|LP|SL|NL|R0)[0-9]{6})$")
_CHARITY = re.compile(r"^(?:[0-9]{6,7}|SC0[0-9]{5}|NIC1[0-9]{5})$")


def normalise_number(text: str) -> str:
    """A registration number as typed, without spaces and in capitals."""
    return "".join(text.split()).upper()


def company_number_problem(number: str) -> str | None:
    """Companies House numbers are 8 characters: 8 digits (01234567) or a 2-letter prefix and
    6 digits (SC123456, NI123456, OC123456)."""
    if _COMPANY.match(number):
        return None
    return "Enter a Companies House number of 8 characters, like 01234567 or SC123456"


def charity_number_problem(number: str) -> str | None:
    """Charity numbers: England and Wales 6 or 7 digits (1123456), Scotland SC0 and 5 digits,
    Northern Ireland NIC1 and 5 digits."""
    if _CHARITY.match(number):
        return None
    return "Enter a charity number like 1123456 (England and Wales), SC012345 or NIC100002"


# Uploaded files -------------------------------------------------------------------------------

MAX_FILE_BYTES = 5 * 1024 * 1024
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
ALLOWED_TEXT = "a PDF, or a photo or scan as PNG or JPEG"


def file_type_problem(filename: str, content: bytes) -> str | None:
    """A PDF, PNG or JPEG whose bytes match its name, not empty and within MAX_FILE_BYTES."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in CONTENT_TYPES:
        return f"“{filename}” is not a file type we accept: upload {ALLOWED_TEXT}"
    if not content:
        return f"“{filename}” is empty"
    if len(content) > MAX_FILE_BYTES:
        return (
            f"“{filename}” is {len(content) / 1024 / 1024:.1f} MB: the limit is "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB"
        )
    signature = {
        "pdf": content.startswith(b"%PDF-"),
        "png": content.startswith(b"\x89PNG\r\n\x1a\n"),
        "jpg": content.startswith(b"\xff\xd8\xff"),
        "jpeg": content.startswith(b"\xff\xd8\xff"),
    }[extension]
    if not signature:
        return f"“{filename}” is not really a .{extension} file: its contents do not match its name"
    return None
