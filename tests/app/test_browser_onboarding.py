"""In Chromium, against gunicorn with a queue consumer and a real SMTP server, a partnership
starting from an empty database: `flask setup` → the first admin accepts the invitation →
creates a category and a service → creates a provider and invites its first user → that user
accepts the invitation and signs in."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from tests.support.browser import empty_server, sign_in
from tests.support.smtp import link_in

pytestmark = pytest.mark.browser

ADMIN = "office@hep.example.org"
PROVIDER_USER = "lead@woodland.example.org"
PASSWORD = "a long enough passphrase"


def test_a_partnership_sets_itself_up_from_an_empty_database(page, backend, tmp_path, smtp_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    mailbox, port = smtp_server
    mailbox.clear()
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "JOBS_IMMEDIATE": "0"}
    with empty_server(backend, tmp_path, **mail) as server:
        # The empty database: nobody can sign in yet.
        page.goto(server.url + "/sign-in")
        expect(page.get_by_role("heading", level=1)).to_be_visible()

        result = server.flask(
            "setup",
            "--partnership-name",
            "Haringey Education Partnership",
            "--admin-email",
            ADMIN,
            "--admin-name",
            "Office Manager",
        )
        assert result.returncode == 0, result.stderr
        link = next(line for line in result.stdout.splitlines() if "/invitation/" in line)
        again = server.flask("setup", "--partnership-name", "X", "--admin-email", "x@example.org")
        assert again.returncode != 0 and "already set up" in again.stderr

        # The first admin accepts the invitation and signs in.
        accept(page, server.url + urlsplit(link.strip()).path, expect)
        sign_in(page, server, ADMIN, PASSWORD)
        expect(page).not_to_have_url(re.compile(r"/sign-in"))
        expect(page.locator("header")).to_contain_text("Haringey Education Partnership")

        # A category and a service.
        page.goto(server.url + "/admin/catalogue")
        page.get_by_role("button", name="Add a category").click()
        page.get_by_label("Short name").fill("outdoor")
        page.get_by_label("Name", exact=True).fill("Outdoor learning")
        page.get_by_role("button", name="Save category").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("Outdoor learning")
        page.get_by_role("button", name="Add a service").click()
        page.get_by_label("Short name").fill("forest-school")
        page.get_by_label("Name", exact=True).fill("Forest school")
        page.get_by_label("Traded: bought on top").check()
        page.get_by_label("Category").select_option(label="Outdoor learning")
        page.get_by_label("Priced per").select_option("session")
        page.get_by_role("button", name="Save service").click()
        expect(page.locator("#services")).to_contain_text("Forest school")

        # A provider, and an invitation for its first user.
        page.goto(server.url + "/admin/providers")
        page.get_by_role("button", name="Add a provider").click()
        page.get_by_label("Organisation name").fill("Woodland Ways Ltd")
        page.get_by_label("A company").check()
        page.get_by_role("button", name="Add provider").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Woodland Ways Ltd")
        page.get_by_label("Full name").fill("Wren Lead")
        page.get_by_label("Email address").fill(PROVIDER_USER)
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text(PROVIDER_USER)

        # The provider's user gets the email, accepts and signs in.
        deadline = time.monotonic() + 60
        while not mailbox.to(PROVIDER_USER) and time.monotonic() < deadline:
            time.sleep(0.2)
        [message] = mailbox.to(PROVIDER_USER)
        page.context.clear_cookies()
        accept(page, server.url + urlsplit(link_in(message, "/invitation/")).path, expect)
        sign_in(page, server, PROVIDER_USER, PASSWORD)
        expect(page).not_to_have_url(re.compile(r"/sign-in"))
        expect(page.get_by_role("link", name="Offers", exact=True)).to_be_visible()
    mailbox.clear()


def accept(page: object, url: str, expect: object) -> None:
    """Set a password from an invitation link."""
    page.goto(url)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Type the new password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".govuk-notification-banner")).to_be_visible()
