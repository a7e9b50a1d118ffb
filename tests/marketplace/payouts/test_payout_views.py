"""The pages and command of payments out: who may see and do what, recording a payment,
the bank file's preview and confirmation, and `flask billing import-payments`."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.money import format_pence
from app.time import london_today
from marketplace.payouts import statement
from marketplace.payouts.models import ProviderPayment
from tests.marketplace.payouts.conftest import pay
from tests.support.outbox import emails

ROLES = (
    "anonymous",
    "admin",
    "committee",
    "sbm_a",
    "head_a",
    "provider_user_a",
    "provider_user_b",
    "trust_user",
    "governor_a",
)
# {path: {role: status}}; any role not named gets 403 (anonymous: the sign-in page).
ACCESS = {
    "/billing/provider-payments": {"admin": 200, "committee": 200},
    "/billing/provider-payments/new": {"admin": 200},
    "/billing/provider-payments/import": {"admin": 200},
    "/billing/payables/providers/{provider_a}": {"admin": 200, "committee": 200},
    "/billing/provider-payments/{payment}/delete": {"admin": 200},
    "/payments": {"provider_user_a": 200, "provider_user_b": 200, "sbm_a": 404},
}


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ProviderPayment))


def text(response) -> str:
    """The page's words: tags left out, spaces collapsed."""
    words = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return unescape(re.sub(r"\s+", " ", words))


@pytest.mark.parametrize("path", sorted(ACCESS))
@pytest.mark.parametrize("role", ROLES)
def test_payments_pages_are_only_for_the_roles_they_serve(client, auth, owed, path, role):
    world = owed.world
    payment = pay(world, world.provider_a, 100, "ELP-ACCESS")
    if role != "anonymous":
        auth.as_user(getattr(world, role))

    response = client.get(path.format(provider_a=world.provider_a.id, payment=payment.id))

    expected = 302 if role == "anonymous" else ACCESS[path].get(role, 403)
    assert response.status_code == expected


def test_a_provider_sees_only_its_own_payments(client, auth, owed):
    world = owed.world
    pay(world, world.provider_a, 12_345, "ALPHA-REF")
    pay(world, world.provider_b, 54_321, "BETA-REF")
    auth.as_user(world.provider_user_b)

    page = text(client.get("/payments"))
    own_csv = client.get("/payments.csv").get_data(as_text=True)

    assert "BETA-REF" in page and "£543.21" in page
    assert "ALPHA-REF" not in page and "ALPHA-REF" not in own_csv
    assert "BETA-REF" in own_csv and "543.21" in own_csv
    position = statement.statement(world.provider_b).position
    assert f"Outstanding: {format_pence(position.outstanding_pence)}" in page
    assert "Overdue" in page and format_pence(position.overdue_pence) in page


def test_the_admin_payables_page_shows_what_is_owed_paid_outstanding_and_overdue(
    client, auth, owed
):
    world = owed.world
    pay(world, world.provider_a, 10_000, "ELP-1")
    auth.as_user(world.committee)

    page = client.get("/billing/payables").get_data(as_text=True)

    total = statement.totals(statement.statements())
    assert f'id="outstanding-total">{format_pence(total.outstanding_pence)}' in page
    assert f'id="overdue-total">{format_pence(total.overdue_pence)}' in page
    assert f"/billing/payables/providers/{world.provider_a.id}" in page
    assert "Record a payment" not in page  # the committee reads; the admin records


def test_an_admin_records_a_payment_in_pounds(client, auth, owed):
    world = owed.world
    auth.as_user(world.admin)

    response = client.post(
        "/billing/provider-payments/new",
        data={
            "provider_id": world.provider_a.id,
            "paid_on": london_today().isoformat(),
            "amount": "1,234.56",
            "reference": "elp-2026-001",
            "note": "October's counselling",
        },
    )

    assert response.status_code == 303
    assert response.location.endswith(f"/billing/payables/providers/{world.provider_a.id}")
    payment = db.session.scalar(sa.select(ProviderPayment))
    assert (payment.amount_pence, payment.reference) == (123_456, "ELP-2026-001")
    assert [e.recipient for e in emails("payment_sent")] == [world.provider_user_a.email]
    page = text(client.get(response.location))
    assert "ELP-2026-001" in page and "£1,234.56" in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "0"}, "The amount must be more than £0"),
        ({"amount": "ten"}, "is not an amount in pounds"),
        ({"paid_on": "2026-02-30"}, "Paid on: enter a real date"),
        ({"reference": ""}, "Enter the bank reference"),
        ({"provider_id": "999999"}, "Not a valid choice"),
    ],
)
def test_a_bad_payment_form_names_its_error_and_records_nothing(
    client, auth, owed, change, message
):
    world = owed.world
    auth.as_user(world.admin)
    data = {
        "provider_id": world.provider_a.id,
        "paid_on": london_today().isoformat(),
        "amount": "10",
        "reference": "R-1",
    } | change

    response = client.post("/billing/provider-payments/new", data=data)

    assert response.status_code == 400
    assert message.lower() in text(response).lower()
    assert count() == 0


def test_a_future_date_and_a_duplicate_reference_are_named_errors(client, auth, owed):
    world = owed.world
    pay(world, world.provider_a, 100, "R-1")
    auth.as_user(world.admin)
    data = {"provider_id": world.provider_a.id, "amount": "10", "reference": "r-1"}

    future = client.post(
        "/billing/provider-payments/new",
        data=data | {"paid_on": (london_today() + timedelta(days=1)).isoformat(), "reference": "X"},
    )
    duplicate = client.post(
        "/billing/provider-payments/new", data=data | {"paid_on": london_today().isoformat()}
    )

    assert future.status_code == 400 and "cannot be after today" in text(future)
    assert duplicate.status_code == 409 and "already recorded for Alpha" in text(duplicate)
    assert count() == 1


def test_an_admin_deletes_a_payment_and_the_audit_keeps_it(client, auth, owed):
    world = owed.world
    payment = pay(world, world.provider_a, 100, "R-DEL")
    payment_id = payment.id
    auth.as_user(world.admin)

    response = client.post(
        f"/billing/provider-payments/{payment_id}/delete", data={"reason": "Duplicate"}
    )

    assert response.status_code == 303 and count() == 0
    assert [e.action for e in audit.history("provider_payment", payment_id)] == [
        "recorded",
        "deleted",
    ]
    assert client.post(f"/billing/provider-payments/{payment_id}/delete").status_code == 404


def upload(client, content: str, name: str = "bank.csv"):
    return client.post(
        "/billing/provider-payments/import",
        data={"file": (io.BytesIO(content.encode()), name)},
        content_type="multipart/form-data",
    )


def confirm_fields(page: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'name="(content|filename|sha256)"[^>]*value="([^"]*)"', page)
    }


def test_the_bank_file_is_previewed_then_recorded_once(client, auth, owed):
    world = owed.world
    auth.as_user(world.admin)
    day = london_today().isoformat()
    content = (
        "date,amount,reference,payee\n"
        f"{day},100.00,BANK-1,Alpha Counselling Limited\n"
        f"{day},200.00,BANK-2,beta therapy\n"
    )

    preview = upload(client, content)

    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Alpha Counselling Ltd" in page and "Beta Therapy Ltd" in page
    assert "Record 2 payments" in page and count() == 0
    fields = confirm_fields(page)
    assert set(fields) == {"content", "filename", "sha256"}

    done = client.post("/billing/provider-payments/import/confirm", data=fields)

    assert done.status_code == 303 and count() == 2
    assert "2 payments recorded from bank.csv" in text(client.get(done.location))
    again = upload(client, content)
    assert "Every payment in this file is already recorded" in text(again)
    assert "Record 2 payments" not in text(again)
    client.post("/billing/provider-payments/import/confirm", data=fields)
    assert count() == 2


def test_a_bank_file_with_problems_lists_each_and_cannot_be_confirmed(client, auth, owed):
    world = owed.world
    auth.as_user(world.admin)
    day = london_today().isoformat()

    preview = upload(
        client,
        "date,amount,reference,payee\n"
        f"{day},100.00,BANK-1,Alpha Counselling\n"
        f"31/02/2026,5,BANK-2,Alpha Counselling\n"
        f"{day},5,BANK-3,Gamma Ltd\n",
    )

    page = text(preview)
    assert preview.status_code == 400
    assert "Line 3: the date “31/02/2026” is not a real date" in page
    assert "Line 4: unknown payee “Gamma Ltd”" in page
    assert "This file cannot be imported" in page and "Record 1 payments" not in page
    assert count() == 0


def test_a_confirmation_of_a_changed_file_is_refused(client, auth, owed):
    world = owed.world
    auth.as_user(world.admin)
    day = london_today().isoformat()
    page = upload(client, f"date,amount,reference,payee\n{day},1,R-1,Alpha Counselling\n")
    fields = confirm_fields(page.get_data(as_text=True))
    fields["sha256"] = "0" * 64

    response = client.post("/billing/provider-payments/import/confirm", data=fields)

    assert response.status_code == 400 and "not the one previewed" in text(response)
    assert count() == 0
    broken = client.post(
        "/billing/provider-payments/import/confirm",
        data=fields | {"content": "not base64!"},
    )
    assert broken.status_code == 303 and count() == 0


def test_an_upload_that_is_not_a_csv_file_is_a_named_error(client, auth, owed):
    auth.as_user(owed.world.admin)

    response = upload(client, "date,amount\n", name="bank.xlsx")

    assert response.status_code == 400 and "must be a CSV file" in text(response)


# `flask billing import-payments` ------------------------------------------------------------


def test_the_cli_refuses_a_bad_file_naming_every_problem(runner, owed, tmp_path):
    path = tmp_path / "bank.csv"
    day = london_today().isoformat()
    path.write_text(
        "date,amount,reference,payee\n"
        f"{day},1,R-1,Alpha Counselling\n"
        f"{day},x,R-2,Alpha Counselling\n"
        f"{day},1,R-3,Nobody\n"
    )

    result = runner.invoke(args=["billing", "import-payments", str(path)])

    assert result.exit_code != 0
    assert "Line 3: the amount “x” is not accepted" in result.output
    assert "Line 4: unknown payee “Nobody”" in result.output
    assert "Nothing was recorded" in result.output
    assert count() == 0


def test_the_cli_dry_run_writes_nothing_and_the_import_records_once(runner, owed, tmp_path):
    path = tmp_path / "bank.csv"
    day = london_today().isoformat()
    path.write_text(
        f"date,amount,reference,payee\n{day},10.50,R-1,Alpha Counselling\n"
        f"{day},1,R-2,Beta Therapy\n"
    )

    dry = runner.invoke(args=["billing", "import-payments", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 payments (£11.50) would be recorded" in dry.output and count() == 0

    done = runner.invoke(args=["billing", "import-payments", str(path)])
    assert done.exit_code == 0, done.output
    assert "Recorded 2 payments (£11.50)" in done.output and count() == 2

    again = runner.invoke(args=["billing", "import-payments", str(path)])
    assert again.exit_code == 0 and "Recorded 0 payments" in again.output
    assert "2 already recorded were skipped" in again.output and count() == 2
