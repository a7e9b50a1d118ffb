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
    "/admin/partnership": {Role.ADMIN},
    "/admin/catalogue": {Role.ADMIN},
    "/admin/providers": {Role.ADMIN},
    "/admin/providers/new": {Role.ADMIN},
    "/admin/catalogue/categories/new": {Role.ADMIN},
    "/admin/catalogue/services/new": {Role.ADMIN},
    "/admin/outbox": {Role.ADMIN},
    "/notifications": set(Role),
    "/account/notifications": set(Role),
    "/account/invite": {Role.SBM, Role.HEAD, Role.PROVIDER},
    "/supply/contracts": {Role.ADMIN, Role.COMMITTEE},
    "/supply/contracts/new": {Role.ADMIN, Role.COMMITTEE},
    "/supply/baselines": {Role.ADMIN, Role.COMMITTEE},
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
def test_a_providers_admin_page_is_the_admins_alone(client, auth, world, role):
    sign_in_as(auth, world, role)
    response = client.get(f"/admin/providers/{world.provider_a.id}")
    if role == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == (200 if role == "admin" else 403)
