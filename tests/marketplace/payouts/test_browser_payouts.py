"""In Chromium against the demo served by gunicorn: the supply agency sees an overdue balance;
the partnership office imports the bank's payment of it (previewed, then confirmed; the same
file again records nothing) and the agency sees it paid."""

from __future__ import annotations

import re

import pytest

from app.time import london_today
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

AGENCY = "agency@demo.pooled.test"


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def figure(page, label: str) -> str:
    box = page.locator(".app-key-figure", has=page.get_by_text(label, exact=True))
    return box.locator(".app-key-figure__value").inner_text().strip()


def upload(page, server, content: bytes) -> None:
    page.goto(server.url + "/billing/payables")
    page.get_by_role("link", name="Import the bank’s payments (CSV)").click()
    page.get_by_label("The bank's payments (CSV)").set_input_files(
        {"name": "bank.csv", "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Check the file").click()


def test_the_office_imports_the_bank_payment_of_an_agencys_overdue_balance(live_server, page):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server, AGENCY)
    page.goto(live_server.url + "/payments")
    overdue = figure(page, "Overdue")
    assert overdue != "£0.00"
    sign_out(page)

    sign_in(page, live_server, "admin@demo.pooled.test")
    amount = overdue.replace("£", "").replace(",", "")
    content = (
        "Date,Amount,Reference,Payee\n"
        f'{london_today():%d/%m/%Y},"{amount}",ELP-BROWSER-1,EALING SUPPLY PARTNERS LTD\n'
    ).encode()
    upload(page, live_server, content)
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the payments to import")
    expect(page.locator("#bank-lines")).to_contain_text("Ealing Supply Partners")
    page.get_by_role("button", name="Record 1 payments").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "1 payments recorded from bank.csv"
    )
    upload(page, live_server, content)  # the same file again
    expect(page.locator("#nothing-new")).to_contain_text("already recorded")
    sign_out(page)

    sign_in(page, live_server, AGENCY)
    page.goto(live_server.url + "/payments")
    expect(page.locator("#statement-payments")).to_contain_text("ELP-BROWSER-1")
    assert figure(page, "Overdue") == "£0.00"
