"""Print documents: a Jinja template rendered to PDF with WeasyPrint, on the partnership's paper.

Templates extend `documents/base.html` (the partnership's name, address and VAT number from its
settings, page numbers) and are styled by `templates/documents/print.css` only: A4, fonts
from the system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, render_template

from app.partnership import details

PRINT_CSS = Path(__file__).resolve().parent.parent / "templates" / "documents" / "print.css"


def partnership() -> dict[str, Any]:
    """Who the documents are from and where to pay, from the partnership's settings."""
    found = details()
    return {
        "name": found.name,
        "address": list(found.address_lines),
        "vat_number": found.vat_number,
        "bank": (
            {
                "account_name": found.bank_account_name,
                "sort_code": found.bank_sort_code,
                "account_number": found.bank_account_number,
            }
            if found.has_bank_details
            else None
        ),
    }


def render_pdf(template: str, *, title: str, **context: Any) -> bytes:
    """The template as a PDF document (title in its metadata)."""
    from weasyprint import CSS, HTML  # imported here: loading pango takes a moment

    html = render_template(template, title=title, partnership=partnership(), **context)
    document = HTML(string=html, base_url=str(PRINT_CSS.parent))
    return document.write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])


def pdf_response(data: bytes, filename: str) -> Response:
    """Sent inline (browsers show it) with a file name for saving."""
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
