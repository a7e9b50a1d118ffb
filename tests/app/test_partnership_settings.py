"""The partnership's settings row, its admin page, `flask setup` on an empty database, and the
documents and fees that read the settings."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app import partnership
from app.extensions import db
from app.models import PartnershipSettings, Role, User
from app.notifications.models import OutboxMessage
from app.partnership import SettingsError, SettingsInput
from marketplace.billing import payables
from tests.support.smtp import link_in


def count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


# --- Pure checks


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("GB123456789", "GB 123 4567 89"),
        ("gb 123 4567 89", "GB 123 4567 89"),
        ("123456789", "GB 123 4567 89"),
        ("GB123456789012", "GB 123 4567 89 012"),
        ("GBGD001", "GBGD001"),
        ("GB HA599", "GBHA599"),
        ("", ""),
    ],
)
def test_uk_vat_numbers_are_stored_as_printed(typed, stored):
    assert partnership.normalise_vat_number(typed) == stored


@pytest.mark.parametrize("typed", ["GB12345678", "FR123456789", "GB 123 4567 8X", "١٢٣٤٥٦٧٨٩"])
def test_a_vat_number_that_is_not_uk_is_refused(typed):
    with pytest.raises(SettingsError, match="UK VAT number"):
        partnership.normalise_vat_number(typed)


def test_sort_codes_and_account_numbers_are_checked_and_formatted():
    assert partnership.normalise_sort_code("309457") == "30-94-57"
    assert partnership.normalise_sort_code("30 94 57") == "30-94-57"
    assert partnership.normalise_account_number("0001 2345") == "00012345"
    for bad in ("30-94-5", "30-94-577", "ab-cd-ef"):
        with pytest.raises(SettingsError, match="sort code"):
            partnership.normalise_sort_code(bad)
    for bad in ("1234567", "123456789", "1234567x"):
        with pytest.raises(SettingsError, match="account number"):
            partnership.normalise_account_number(bad)


def test_bank_details_are_all_given_or_none():
    with pytest.raises(SettingsError, match="together") as refused:
        partnership.checked(SettingsInput(name="P", bank_sort_code="30-94-57"))
    assert refused.value.field == "account_name"


# --- Reading and saving


def test_without_settings_the_config_stands_in(app, db_session):
    assert partnership.details().name == app.config["PARTNERSHIP_NAME"]
    assert partnership.details().fee_bp == app.config["PARTNERSHIP_FEE_BP"]


def test_the_settings_row_is_the_source_of_the_fee_and_the_documents(app, db_session):
    partnership.create_settings(
        SettingsInput(
            name="Haringey Education Partnership",
            vat_number="GB987654321",
            address="River Park House\n225 High Road\nLondon N22 8HQ",
            fee_bp=750,
            bank_account_name="HEP",
            bank_sort_code="309457",
            bank_account_number="12345678",
        )
    )
    assert payables.fee_bp() == 750
    found = partnership.details()
    assert found.name == "Haringey Education Partnership"
    assert found.vat_number == "GB 987 6543 21"
    assert found.address_lines == ("River Park House", "225 High Road", "London N22 8HQ")
    assert found.has_bank_details and found.bank_sort_code == "30-94-57"


def test_settings_are_created_once(db_session):
    partnership.create_settings(SettingsInput(name="One"))
    with pytest.raises(Exception, match="already set up"):
        partnership.create_settings(SettingsInput(name="Two"))
    assert count(PartnershipSettings) == 1


# --- The admin page


def form_data(**changes: str) -> dict[str, str]:
    data = {
        "name": "Ealing Learning Partnership",
        "vat_number": "GB 123 4567 89",
        "address": "Perceval House\r\n14-16 Uxbridge Road\r\nLondon W5 2HL",
        "fee_percent": "7.5",
        "provider_payment_days": "45",
        "default_rate": "14.00",
        "default_cap": "12,500",
        "default_council_match": "100",
        "account_name": "Ealing Learning Partnership",
        "sort_code": "30-94-57",
        "account_number": "00012345",
    }
    data.update(changes)
    return data


def test_the_admin_saves_the_partnership_settings(client, auth, world):
    auth.as_user(world.admin)
    page = client.get("/admin/partnership")
    assert page.status_code == 200 and "Partnership settings" in page.get_data(as_text=True)
    response = client.post("/admin/partnership", data=form_data())
    assert response.status_code == 303
    row = partnership.current_settings()
    assert row is not None
    assert (row.fee_bp, row.default_rate_per_pupil_pence, row.default_cap_pence) == (
        750,
        1400,
        1_250_000,
    )
    assert row.address_lines == ["Perceval House", "14-16 Uxbridge Road", "London W5 2HL"]
    assert row.provider_payment_days == 45 == partnership.details().provider_payment_days
    # The new year's form starts from the defaults.
    terms = client.get("/admin/membership").get_data(as_text=True)
    assert 'value="14.00"' in terms


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "Enter the partnership’s name"),
        ({"vat_number": "FR123"}, "Enter a UK VAT number"),
        ({"fee_percent": "ten"}, "Enter a percentage like 5 or 7.5"),
        ({"fee_percent": "101"}, "between 0 and 100"),
        ({"provider_payment_days": "366"}, "between 0 and 365"),
        ({"provider_payment_days": "2.5"}, "must be a whole number"),
        ({"default_council_match": "250"}, "between 0 and 200"),
        ({"sort_code": "12-34"}, "Enter a sort code of 6 digits"),
        ({"account_number": "123"}, "Enter an account number of 8 digits"),
        ({"account_name": ""}, "together, or none of them"),
    ],
)
def test_bad_settings_are_refused_with_a_named_error(client, auth, world, changes, message):
    auth.as_user(world.admin)
    response = client.post("/admin/partnership", data=form_data(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page and message in page
    assert partnership.current_settings() is None


def test_the_invoice_pdf_prints_the_settings_bank_details(app, db_session):
    from app.pdf import partnership as letterhead

    partnership.create_settings(
        SettingsInput(
            name="P",
            bank_account_name="P Ltd",
            bank_sort_code="30-94-57",
            bank_account_number="00012345",
        )
    )
    with app.test_request_context():
        assert letterhead()["bank"] == {
            "account_name": "P Ltd",
            "sort_code": "30-94-57",
            "account_number": "00012345",
        }
        assert letterhead()["vat_number"] == ""


# --- flask setup


def test_flask_setup_creates_the_settings_and_invites_the_first_admin(
    runner, client, mailbox, db_session
):
    result = runner.invoke(
        args=[
            "setup",
            "--partnership-name",
            "Haringey Education Partnership",
            "--admin-email",
            "Office@HEP.example.org",
            "--admin-name",
            "Office Manager",
        ]
    )
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-3]
    assert "/invitation/" in url
    assert partnership.details().name == "Haringey Education Partnership"
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    assert admin.email == "office@hep.example.org" and admin.name == "Office Manager"
    [message] = mailbox.wait_for("office@hep.example.org")
    assert link_in(message, "/invitation/") == url
    assert client.get(urlsplit(url).path).status_code == 200


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--partnership-name", " ", "--admin-email", "a@example.org"], "partnership’s name"),
        (["--partnership-name", "P", "--admin-email", "not-an-address"], "Enter an email"),
        (["--admin-email", "a@example.org"], "Missing option '--partnership-name'"),
    ],
)
def test_flask_setup_refuses_bad_input_and_writes_nothing(runner, db_session, arguments, message):
    result = runner.invoke(args=["setup", *arguments])
    assert result.exit_code != 0
    assert message in result.output
    assert count(PartnershipSettings) == 0 and count(User) == 0 and count(OutboxMessage) == 0


def test_flask_setup_refuses_a_partnership_already_set_up(runner, world):
    result = runner.invoke(
        args=["setup", "--partnership-name", "P", "--admin-email", "new@example.org"]
    )
    assert result.exit_code != 0 and "already has an admin" in result.output
    assert count(PartnershipSettings) == 0
    partnership.create_settings(SettingsInput(name="P"))
    again = runner.invoke(
        args=["setup", "--partnership-name", "Q", "--admin-email", "new@example.org"]
    )
    assert again.exit_code != 0 and "already set up" in again.output
    assert partnership.details().name == "P"
