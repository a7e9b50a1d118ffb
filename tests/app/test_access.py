"""Who may open which page: a sweep of paths × roles, and organisation scoping."""

import pytest

from app.models import Role

ROLES = ["anonymous", *[r.value for r in Role]]

# path template -> roles allowed (200); everyone else signed in gets 403 (or 404 for scoped
# records), and anonymous visitors are sent to sign in.
PAGES = {
    "/home": set(Role),
    "/admin/users": {Role.ADMIN},
    "/admin/users/new": {Role.ADMIN},
    "/admin/schools": {Role.ADMIN, Role.COMMITTEE},
    "/admin/schools/import": {Role.ADMIN},
    "/admin/membership": {Role.ADMIN},
    "/admin/jobs": {Role.ADMIN},
    "/admin/outbox": {Role.ADMIN},
    "/notifications": set(Role),
    "/account/notifications": set(Role),
    "/account/invite": {Role.SBM, Role.HEAD, Role.PROVIDER},
    "/supply/contracts": {Role.ADMIN, Role.COMMITTEE},
    "/supply/contracts/new": {Role.ADMIN, Role.COMMITTEE},
    "/supply/baselines": {Role.ADMIN, Role.COMMITTEE},
    "/admin/provider-applications": {Role.ADMIN},
    "/admin/compliance": {Role.ADMIN},
    "/provider/compliance": {Role.PROVIDER},
    "/provider/compliance/dbs": {Role.PROVIDER},
    "/provider/compliance/dbs/file": {Role.PROVIDER},
}


def sign_in_as(auth, world, role):
    if role == "anonymous":
        return None
    user = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
    }[role]
    return auth.as_user(user)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(PAGES))
def test_pages_are_gated_by_role(client, auth, world, path, role):
    sign_in_as(auth, world, role)
    response = client.get(path)
    if role == "anonymous":
        assert response.status_code == 302 and "/sign-in" in response.location
    elif Role(role) in PAGES[path]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_a_school_page_is_for_the_partnership_and_that_schools_own_staff(client, auth, world, role):
    sign_in_as(auth, world, role)
    own = client.get(f"/schools/{world.school_a.id}")
    other = client.get(f"/schools/{world.school_b.id}")
    if role == "anonymous":
        assert own.status_code == 302
    elif role in ("admin", "committee"):
        assert (own.status_code, other.status_code) == (200, 200)
    elif role in ("sbm", "head"):
        assert (own.status_code, other.status_code) == (200, 404)
    else:
        assert (own.status_code, other.status_code) == (404, 404)


@pytest.mark.parametrize("role", ["committee", "sbm", "head", "provider"])
def test_only_the_admin_can_change_users_or_membership(client, auth, world, role):
    sign_in_as(auth, world, role)
    assert (
        client.post(f"/admin/users/{world.sbm_b.id}/active", data={"active": "0"}).status_code
        == 403
    )
    assert client.post("/admin/membership/save", data={}).status_code == 403


def test_an_unknown_page_gets_the_not_found_page(client, auth, world):
    sign_in_as(auth, world, "sbm")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_the_become_a_provider_page_is_open_to_everyone(client, auth, world, role):
    sign_in_as(auth, world, role)
    assert client.get("/providers/apply").status_code == 200
    assert client.get("/providers/apply/sent").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_an_application_and_a_providers_documents_are_for_the_office_and_that_provider(
    client, auth, world, role
):
    from marketplace.providers import applications

    application = applications.apply(
        applications.ApplicationInput(
            organisation_name="Sweep Ltd",
            kind="company",
            address="1 Road",
            company_number="01234567",
            charity_number="",
            contact_name="Sam",
            contact_email="sam@example.org",
            contact_phone="020 7946 0000",
            categories=["hr"],
        )
    )
    sign_in_as(auth, world, role)
    detail = client.get(f"/admin/provider-applications/{application.id}")
    own_file = client.get(f"/admin/compliance/{world.provider_a.id}/dbs")
    other_file = client.get(f"/admin/compliance/{world.provider_b.id}/dbs")
    statuses = (detail.status_code, own_file.status_code, other_file.status_code)
    if role == "anonymous":
        assert all(s == 302 for s in statuses)
    elif role == "admin":
        assert statuses == (200, 200, 200)
        assert client.get("/admin/provider-applications/999999").status_code == 404
    else:
        assert statuses == (403, 403, 403)
    if role == "provider":  # its own file, never another provider's: there is no id to ask for
        assert client.get("/provider/compliance/dbs/file").status_code == 200
