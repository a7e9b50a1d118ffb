"""The help guides and the accessibility statement: public, and linked from what they explain."""

from __future__ import annotations

import pytest

from tests.marketplace.html import text

GUIDES = {
    "/help/buying-rounds": ["pledge", "stand-alone price", "same share", "to the penny"],
    "/help/tenders": ["sealed", "clarification", "8 working days", "conflict of interest"],
    "/help/billing": ["30 days", "credit note", "20%", "less its fee of 5%", "£5,000"],
}


@pytest.mark.parametrize(("path", "phrases"), GUIDES.items())
def test_each_guide_is_public_and_says_how_it_works(client, path, phrases):
    response = client.get(path)
    assert response.status_code == 200
    page = text(response.text)
    for phrase in phrases:
        assert phrase in page, phrase


def test_the_help_index_lists_every_guide_and_the_statement(client):
    page = client.get("/help").text
    for path in [*GUIDES, "/accessibility"]:
        assert f'href="{path}"' in page


def test_the_accessibility_statement_follows_the_gov_uk_format(client, app):
    page = text(client.get("/accessibility").text)
    for heading in (
        "Accessibility statement for Pooled",
        "How accessible this website is",
        "Feedback and contact information",
        "Reporting accessibility problems with this website",
        "Enforcement procedure",
        "Technical information about this website’s accessibility",
        "Compliance status",
        "Non-accessible content",
        "Preparation of this accessibility statement",
        app.config["PARTNERSHIP_EMAIL"],
    ):
        assert heading in page, heading


def test_every_page_footer_links_to_help_and_the_accessibility_statement(client):
    page = client.get("/sign-in").text
    assert 'href="/help"' in page and 'href="/accessibility"' in page


@pytest.mark.parametrize(
    ("role", "path", "guide"),
    [
        ("sbm", "/rounds", "/help/buying-rounds"),
        ("committee", "/rounds", "/help/buying-rounds"),
        ("provider", "/tenders", "/help/tenders"),
        ("committee", "/tenders", "/help/tenders"),
        ("sbm", "/invoices", "/help/billing"),
        ("admin", "/billing", "/help/billing"),
        ("provider", "/payments", "/help/billing"),
    ],
)
def test_pages_link_to_the_guide_that_explains_them(client, auth, world, role, path, guide):
    users = {
        "sbm": world.sbm_a,
        "committee": world.committee,
        "admin": world.admin,
        "provider": world.provider_user_a,
    }
    auth.as_user(users[role])
    response = client.get(path)
    assert response.status_code == 200
    assert f'href="{guide}"' in response.text
