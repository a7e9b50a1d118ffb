"""Email bodies from templates under templates/app/mail/, and links that use BASE_URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template

from app import partnership


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def link(endpoint: str, **values: Any) -> str:
    """An absolute link for an email: BASE_URL and the endpoint's path (no request needed)."""
    adapter = current_app.url_map.bind("pooled.invalid")
    path = adapter.build(endpoint, values)
    return current_app.config["BASE_URL"] + path


def render_email(template: str, subject: str, **context: Any) -> Email:
    """The plain-text and HTML bodies of templates/app/mail/<template>.txt and .html."""
    context = {
        "subject": subject,
        "partnership_name": partnership.details().name,
        "base_url": current_app.config["BASE_URL"],
        **context,
    }
    text = render_template(f"app/mail/{template}.txt", **context)
    html = render_template(f"app/mail/{template}.html", **context)
    return Email(subject=subject, text=text.strip() + "\n", html=html)
