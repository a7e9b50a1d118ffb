"""Providers added by the admin (page and `flask providers create`), and their people invited
from the provider's page or with `flask users invite --organisation`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import providers
from app.extensions import db
from app.models import Provider, ProviderKind, Role, User


def count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_a_member_school_selling_to_others_is_linked_to_its_school(world):
    provider = providers.create_provider(
        name="Alpha Primary Teaching Hub",
        kind=ProviderKind.SCHOOL,
        school_id=world.school_a.id,
        actor=world.admin,
    )
    assert provider.school_id == world.school_a.id
    with pytest.raises(providers.ProviderError, match="already sells"):
        providers.create_provider(
            name="Another hub", kind=ProviderKind.SCHOOL, school_id=world.school_a.id, actor=None
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": " "}, "Enter the provider’s name"),
        ({"name": "alpha counselling ltd"}, "already a provider called"),
        ({"kind": ProviderKind.SCHOOL}, "Choose the school"),
        ({"contact_email": "not an address"}, "Enter a contact email"),
    ],
)
def test_bad_provider_details_are_refused(world, values, message):
    db.session.commit()
    before = count(Provider)
    arguments = {"name": "New Provider Ltd", "kind": ProviderKind.COMPANY, **values}
    with pytest.raises(providers.ProviderError, match=message):
        providers.create_provider(**arguments, actor=world.admin)
    assert count(Provider) == before


def test_the_admin_adds_a_provider_and_invites_its_first_user(client, auth, world):
    auth.as_user(world.admin)
    assert client.get("/admin/providers").status_code == 200
    response = client.post(
        "/admin/providers/new",
        data={"name": "Ealing Council SEND Service", "kind": "council", "school_id": "0"},
    )
    assert response.status_code == 303
    provider = db.session.scalar(
        sa.select(Provider).where(Provider.name == "Ealing Council SEND Service")
    )
    assert provider.kind is ProviderKind.COUNCIL and provider.school_id is None
    response = client.post(
        f"/admin/providers/{provider.id}",
        data={"name": "Sam Send", "email": "sam@send.example.org"},
    )
    assert response.status_code == 303
    user = db.session.scalar(sa.select(User).where(User.email == "sam@send.example.org"))
    assert user.role is Role.PROVIDER and user.provider_id == provider.id
    page = client.get(f"/admin/providers/{provider.id}").get_data(as_text=True)
    assert "sam@send.example.org" in page and "Invited" in page


def test_a_bad_provider_form_is_shown_again_with_the_error(client, auth, world):
    auth.as_user(world.admin)
    response = client.post(
        "/admin/providers/new", data={"name": "Hub", "kind": "school", "school_id": "0"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page and "Choose the school that sells its services" in page


def test_an_unknown_provider_page_is_not_found(client, auth, world):
    auth.as_user(world.admin)
    assert client.get("/admin/providers/999999").status_code == 404


def test_flask_providers_create_and_invite_its_user(runner, world):
    result = runner.invoke(
        args=[
            "providers",
            "create",
            "--name",
            "Beta Hub",
            "--kind",
            "school",
            "--school-urn",
            str(world.school_b.urn),
        ]
    )
    assert result.exit_code == 0, result.output
    provider = db.session.scalar(sa.select(Provider).where(Provider.name == "Beta Hub"))
    assert provider.school_id == world.school_b.id
    invited = runner.invoke(
        args=[
            "users",
            "invite",
            "--email",
            "lead@betahub.example.org",
            "--role",
            "provider",
            "--organisation",
            "Beta Hub",
        ]
    )
    assert invited.exit_code == 0, invited.output
    user = db.session.scalar(sa.select(User).where(User.email == "lead@betahub.example.org"))
    assert user.provider_id == provider.id and user.name == "lead"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--name", " "], "Enter the provider’s name"),
        (["--name", "X", "--kind", "school"], "Choose the school"),
        (["--name", "X", "--kind", "school", "--school-urn", "1"], "No school with URN 1"),
        (["--name", "X", "--kind", "guild"], "Invalid value for '--kind'"),
    ],
)
def test_flask_providers_create_refuses_bad_input_and_writes_nothing(
    runner, world, arguments, message
):
    db.session.commit()
    before = count(Provider)
    result = runner.invoke(args=["providers", "create", *arguments])
    assert result.exit_code != 0 and message in result.output
    assert count(Provider) == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--role", "provider", "--organisation", "Nobody Ltd"], "No provider called"),
        (["--role", "sbm", "--organisation", "999999"], "No school with URN or name"),
        (["--role", "admin", "--organisation", "Alpha"], "leave out --organisation"),
    ],
)
def test_flask_users_invite_names_a_bad_organisation(runner, world, arguments, message):
    db.session.commit()
    before = count(User)
    result = runner.invoke(args=["users", "invite", "--email", "z@example.org", *arguments])
    assert result.exit_code != 0 and message in result.output
    assert count(User) == before


def test_flask_users_invite_finds_a_school_by_urn(runner, world):
    result = runner.invoke(
        args=[
            "users",
            "invite",
            "--email",
            "sbm2@example.org",
            "--name",
            "Second SBM",
            "--role",
            "sbm",
            "--organisation",
            str(world.school_a.urn),
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "sbm2@example.org"))
    assert user.school_id == world.school_a.id
