"""In Chromium, against gunicorn with a real queue consumer and a real SMTP server: forgot
password → the email → set a new password → sign in with it."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from tests.support.browser import demo_server, sign_in
from tests.support.consumer import Consumer, QueueForTests
from tests.support.smtp import link_in

pytestmark = pytest.mark.browser

SBM = "sbm@demo.pooled.test"
SUBJECT = "Reset your Pooled password"


def test_forgot_password_email_new_password_sign_in(
    page, backend, tmp_path, demo_templates, smtp_server
):
    expect = pytest.importorskip("playwright.sync_api").expect
    mailbox, port = smtp_server
    mailbox.clear()
    queue = QueueForTests.sqlite(tmp_path) if backend == "sqlite" else QueueForTests.redis()
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port)}
    settings = {key: str(value) for key, value in queue.settings().items()}
    settings["JOBS_IMMEDIATE"] = "0"
    try:
        with demo_server(backend, tmp_path, demo_templates, **settings, **mail) as server:
            env = {**queue.environment(server.database_url, tmp_path), **mail}
            consumer = Consumer(env, tmp_path, workers=2, periodic=False)
            consumer.start()
            try:
                page.goto(server.url + "/sign-in")
                page.get_by_role("link", name="Forgot your password?").click()
                page.get_by_label("Email address").fill(SBM)
                page.get_by_role("button", name="Send the link").click()
                expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

                def reset_email():
                    return [m for m in mailbox.to(SBM) if m["Subject"] == SUBJECT]

                deadline = time.monotonic() + 60  # "within a minute of the request"
                while not reset_email() and time.monotonic() < deadline:
                    time.sleep(0.2)
                [message] = reset_email()
                path = urlsplit(link_in(message, "/reset-password/")).path
                page.goto(server.url + path)
                page.get_by_label("New password", exact=True).fill("a fresh passphrase")
                page.get_by_label("Type the new password again").fill("a fresh passphrase")
                page.get_by_role("button", name="Set password").click()
                expect(page.locator(".govuk-notification-banner")).to_contain_text(
                    "Your password is set"
                )
                sign_in(page, server, SBM, "a fresh passphrase")
                expect(page).not_to_have_url(re.compile(r"/sign-in"))
                expect(page.get_by_role("link", name="Notifications")).to_be_visible()
                # The link worked once.
                page.goto(server.url + path)
                expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
            finally:
                consumer.stop()
    finally:
        queue.flush()
        mailbox.clear()
