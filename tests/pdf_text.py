"""Reading a PDF's text back, for tests of the documents (pypdf)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """Every page's text, whitespace collapsed to single spaces."""
    assert data.startswith(b"%PDF-"), data[:40]
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def pdf_title(data: bytes) -> str:
    return str(PdfReader(io.BytesIO(data)).metadata.title or "")
