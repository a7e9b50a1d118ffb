"""Print documents: a Jinja template rendered to PDF with WeasyPrint, on the partnership's paper.

Templates extend `documents/base.html` (the partnership's name, address and VAT number, page
numbers) and are styled by `templates/documents/print.css` only: A4, fonts from the system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template

PRINT_CSS = Path(__file__).resolve().parent.parent / "templates" / "documents" / "print.css"


def partnership() -> dict[str, Any]:
    """Who the documents are from, from the app's config."""
    config = current_app.config
    return {
        "name": config["PARTNERSHIP_NAME"],
        "address": [
            line.strip() for line in config["PARTNERSHIP_ADDRESS"].split("|") if line.strip()
        ],
        "vat_number": config["PARTNERSHIP_VAT_NUMBER"],
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
