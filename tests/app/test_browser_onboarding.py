"""In Chromium, against gunicorn with a queue consumer and a real SMTP server, a partnership
starting from an empty database (issue 14's journey): `flask setup` → the first admin accepts
the invitation → creates a category and a service → creates a provider and invites its first
user → that user accepts, uploads the required compliance documents and publishes an offer with
member and non-member prices → the admin imports schools, makes one a member for this year and
invites an SBM at it and at a school that is not a member → each orders the offer and is quoted
its own price (£150 a session for the member, £165 with the 10% non-member uplift)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.config import Config
from app.time import london_today
from tests.marketplace.test_browser_provider_onboarding import DOCUMENTS, PDF
from tests.support.browser import empty_server, sign_in
from tests.support.smtp import link_in

pytestmark = pytest.mark.browser

ADMIN = "office@hep.example.org"
PROVIDER_USER = "lead@woodland.example.org"
PASSWORD = "a long enough passphrase"
MEMBER_SBM = "bursar@aldgate.example.org"
OUTSIDER_SBM = "bursar@stpauls.example.org"
GIAS_SAMPLE = "schools/gias_sample_99.csv"


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

        # The provider uploads the required documents and publishes an offer with an uplift.
        upload_documents(page, expect)
        publish_offer(page, expect)
        sign_out(page)

        # Schools from GIAS (the City of London's), this year's terms, one member school.
        imported = server.flask(
            "schools", "import-gias", str(data_dir() / GIAS_SAMPLE), "--la", "201"
        )
        assert imported.returncode == 0, imported.stderr
        sign_in(page, server, ADMIN, PASSWORD)
        make_member(page, server, expect, "The Aldgate School")
        for email, school in ((MEMBER_SBM, "The Aldgate School"), (OUTSIDER_SBM, "St Paul")):
            invite_sbm(page, server, expect, email, school)
        sign_out(page)

        # Each SBM accepts, orders two sessions and is quoted its own price.
        for email, total in ((MEMBER_SBM, "£300.00"), (OUTSIDER_SBM, "£330.00")):
            [message] = wait_for_mail(mailbox, email)
            accept(page, server.url + urlsplit(link_in(message, "/invitation/")).path, expect)
            sign_in(page, server, email, PASSWORD)
            quote_two_sessions(page, expect, total)
            sign_out(page)
    mailbox.clear()


def data_dir() -> Path:
    return Path(Config.DEMO_DATA_DIR)


def wait_for_mail(mailbox: object, email: str) -> list:
    deadline = time.monotonic() + 60
    while not mailbox.to(email) and time.monotonic() < deadline:
        time.sleep(0.2)
    return mailbox.to(email)


def sign_out(page: object) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def upload_documents(page: object, expect: object) -> None:
    today = london_today()
    page.get_by_role("link", name="Compliance", exact=True).click()
    for document in DOCUMENTS:
        page.get_by_role("link", name=re.compile(rf"^Upload\s+{re.escape(document)}", re.I)).click()
        page.get_by_label("Issued or started on").fill((today - timedelta(days=30)).isoformat())
        page.get_by_label("Expires on", exact=True).fill((today + timedelta(days=300)).isoformat())
        if document == "DBS declaration":
            page.get_by_label("Date of the last DBS check").fill(
                (today - timedelta(days=60)).isoformat()
            )
            page.get_by_label("Declaration", exact=True).fill("Every leader holds an enhanced DBS.")
        page.get_by_label("The document").set_input_files(
            files=[{"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("uploaded")
    expect(page.locator(".govuk-tag", has_text="In date")).to_have_count(len(DOCUMENTS))


def publish_offer(page: object, expect: object) -> None:
    page.get_by_role("link", name="Offers", exact=True).click()
    page.get_by_role("button", name="Put up a new offer").click()
    service = page.locator("#service_id option", has_text="Forest school").first
    page.get_by_label("Service", exact=True).select_option(service.get_attribute("value"))
    page.get_by_label("Title", exact=True).fill("Woodland forest school sessions")
    page.get_by_label("Available until").fill((london_today() + timedelta(days=700)).isoformat())
    page.locator("#tiers-0-min_quantity").fill("1")
    page.locator("#tiers-0-unit_price").fill("150")
    capacities = page.locator("input[id^='capacities-'][id$='-capacity']")
    for index in range(capacities.count()):
        capacities.nth(index).fill("40")
    page.get_by_label("Extra for schools that are not members (%, optional)").fill("10")
    page.get_by_role("button", name="Publish in the catalogue").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("published")
    expect(page.get_by_text("Non-member prices (10% more)")).to_be_visible()


def make_member(page: object, server: object, expect: object, school: str) -> None:
    """This academic year's subscription terms, and `school` a member for it."""
    today = london_today()
    start_year = today.year if today.month >= 9 else today.year - 1
    page.goto(server.url + "/admin/membership")
    page.get_by_label("Academic year starting in September of").fill(str(start_year))
    page.get_by_label("Rate per pupil").fill("14")
    page.get_by_label("Council match (% of each subscription)").fill("100")
    page.get_by_role("button", name="Save terms").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("terms saved")
    page.goto(server.url + "/admin/schools")
    page.get_by_role("link", name=school).click()
    school_id = re.search(r"/schools/(\d+)", page.url).group(1)
    page.goto(f"{server.url}/admin/schools/{school_id}/membership/1")
    page.get_by_label("Pupils counted").fill("276")
    page.get_by_label("Member of the partnership").check()
    page.get_by_role("button", name="Save membership").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("saved")


def invite_sbm(page: object, server: object, expect: object, email: str, school: str) -> None:
    page.goto(server.url + "/admin/users/new")
    page.get_by_label("Full name").fill("School Business Manager")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Role").select_option("sbm")
    option = page.locator("#school_id option", has_text=school).first
    page.get_by_label("School (for business managers and heads)").select_option(
        option.get_attribute("value")
    )
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(email)


def quote_two_sessions(page: object, expect: object, total: str) -> None:
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name="Forest school").click()
    page.get_by_role("button", name="Order from Woodland Ways Ltd").click()
    page.locator("input[name=term_key]").first.check()
    page.get_by_label("How many?").fill("2")
    page.get_by_label("Purchase-order number").fill("PO-FOREST-1")
    page.get_by_role("button", name="Save and check the price").click()
    expect(page.locator(".govuk-summary-list").first).to_contain_text(total)


def accept(page: object, url: str, expect: object) -> None:
    """Set a password from an invitation link."""
    page.goto(url)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Type the new password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".govuk-notification-banner")).to_be_visible()
