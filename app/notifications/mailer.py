"""Putting one outbox message on the wire: SMTP when MAIL_SERVER is set, else an .eml file."""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app

from app.notifications.models import OutboxMessage
from app.time import utcnow


def build_message(message: OutboxMessage) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative."""
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at or utcnow())
    email["Message-ID"] = message.message_id
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def mail_folder() -> Path:
    """Where emails are written without MAIL_SERVER: MAIL_FOLDER, or instance/mail/."""
    folder = current_app.config.get("MAIL_FOLDER")
    return Path(folder) if folder else Path(current_app.instance_path) / "mail"


def eml_path(message: OutboxMessage) -> Path:
    return mail_folder() / f"outbox-{message.id:06d}.eml"


def transmit(message: OutboxMessage) -> str:
    """Send the message (or write it to instance/mail/); returns where it went."""
    email = build_message(message)
    config = current_app.config
    if not config["MAIL_SERVER"]:
        path = eml_path(message)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(email.as_bytes())
        os.replace(partial, path)  # a reader never sees half a file
        return str(path)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)
    return f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
