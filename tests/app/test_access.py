"""Who may open which page: a sweep of paths × roles, and organisation scoping."""

import io
from pathlib import Path

import pytest

from app.config import Config
from app.extensions import db
from app.models import Role
from marketplace.orders.models import BasketLine, Checkout
from tests import factories
from tests.marketplace.conftest import term_key

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
    "/account/invite": {Role.HEAD, Role.PROVIDER},
    "/trusts": {Role.ADMIN, Role.COMMITTEE},
    "/trust/orders": {Role.TRUST},
    "/dashboard": set(Role),
    "/supply/contracts": {Role.ADMIN, Role.COMMITTEE},
    "/supply/contracts/new": {Role.ADMIN, Role.COMMITTEE},
    "/supply/baselines": {Role.ADMIN, Role.COMMITTEE},
    "/basket": {Role.SBM},
    "/basket/checkout": {Role.SBM},
    "/admin/provider-applications": {Role.ADMIN},
    "/admin/compliance": {Role.ADMIN},
    "/provider/compliance": {Role.PROVIDER},
    "/provider/compliance/dbs": {Role.PROVIDER},
    "/provider/compliance/dbs/file": {Role.PROVIDER},
    "/provider/ratings": {Role.PROVIDER},
    "/contracts/actions": {Role.ADMIN, Role.COMMITTEE},
    "/provider/kpis": {Role.PROVIDER},
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
        "trust": world.trust_user,
        "governor": world.governor_a,
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
    elif role in ("sbm", "head", "governor", "trust"):  # the trust's: school_a, not school_b
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


@pytest.mark.parametrize("role", ROLES)
def test_a_schools_basket_and_checkouts_are_its_own(client, auth, world, role):
    line = BasketLine(
        school_id=world.school_a.id, offer_id=world.offer_a.id, term_key=term_key(), quantity=3
    )
    checkout = Checkout(school_id=world.school_a.id, po_number="PO-ACCESS")
    db.session.add_all([line, checkout])
    db.session.commit()
    sign_in_as(auth, world, role)
    own = client.get(f"/basket/checkouts/{checkout.id}")
    remove = client.post(f"/basket/lines/{line.id}/remove")
    if role == "anonymous":
        assert (own.status_code, remove.status_code) == (302, 302)
    elif role in ("sbm", "head"):
        assert own.status_code == 200 and "PO-ACCESS" in own.get_data(as_text=True)
        assert remove.status_code == (302 if role == "sbm" else 403)
    else:
        assert (own.status_code, remove.status_code) == (403, 403)
    # Another school's SBM never sees or reaches them.
    auth.logout()
    auth.as_user(world.sbm_b)
    assert client.get(f"/basket/checkouts/{checkout.id}").status_code == 404
    assert "Your basket is empty" in client.get("/basket").get_data(as_text=True)
    assert client.post(f"/basket/lines/{line.id}/remove").status_code == 404
    quantity = client.post(
        f"/basket/lines/{line.id}/quantity", data={f"line-{line.id}-quantity": "1"}
    )
    assert quantity.status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_only_the_admin_sees_or_confirms_a_gias_import_preview(client, auth, world, role):
    auth.as_user(world.admin)
    sample = (Path(Config.DEMO_DATA_DIR) / "schools" / "gias_sample_99.csv").read_bytes()
    uploaded = client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(sample), "gias.csv"), "la_code": ""},
        content_type="multipart/form-data",
    )
    preview = uploaded.location
    assert "/admin/schools/import/preview/" in preview
    auth.logout()
    sign_in_as(auth, world, role)
    shown = client.get(preview)
    confirmed = client.post(preview, data={"sha256": "0" * 64})
    if role == "anonymous":
        assert shown.status_code == confirmed.status_code == 302
    elif role == "admin":
        assert (shown.status_code, confirmed.status_code) == (200, 400)
    else:
        assert shown.status_code == confirmed.status_code == 403


def test_an_unknown_page_gets_the_not_found_page(client, auth, world):
    sign_in_as(auth, world, "sbm")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def _orders_of_both_schools(world):
    from tests.marketplace.billing.conftest import make_order

    return make_order(world.school_a, world.offer_a, 2), make_order(
        world.school_b, world.offer_a, 2
    )


@pytest.mark.parametrize("role", ROLES)
def test_a_trusts_pages_and_its_schools_records_are_for_the_trust_and_the_partnership(
    client, auth, world, role
):
    """school_a is in the world's trust, school_b in none: the trust's finance lead reaches
    school_a's order, approval chain and dashboard, and gets 404 for school_b's."""
    own_order, other_order = _orders_of_both_schools(world)
    sign_in_as(auth, world, role)
    paths = {
        "trust": f"/trusts/{world.trust.id}",
        "own order": f"/orders/{own_order.id}",
        "other order": f"/orders/{other_order.id}",
        "own chain": f"/schools/{world.school_a.id}/approvals",
        "other chain": f"/schools/{world.school_b.id}/approvals",
        "own dashboard": f"/dashboard/schools/{world.school_a.id}",
        "other dashboard": f"/dashboard/schools/{world.school_b.id}",
    }
    got = {name: client.get(path).status_code for name, path in paths.items()}
    if role == "anonymous":
        assert set(got.values()) == {302}
        return
    expected = {
        "admin": (200, 200, 200, 200, 200, 200, 200),
        "committee": (200, 200, 200, 403, 403, 200, 200),
        "trust": (200, 200, 404, 200, 404, 200, 404),
        "head": (403, 200, 404, 200, 404, 403, 403),
        "governor": (403, 200, 404, 403, 403, 403, 403),
        "sbm": (403, 200, 404, 403, 403, 403, 403),
        # The provider sold both orders (offer_a): it reads them, and nothing of the schools'.
        "provider": (403, 200, 200, 403, 403, 403, 403),
    }[role]
    assert tuple(got.values()) == expected


def test_a_trust_user_gets_404_for_another_trusts_page(client, auth, world):
    other = factories.make_trust("Other Trust")
    auth.as_user(world.trust_user)
    assert client.get(f"/trusts/{other.id}").status_code == 404
    assert client.post(f"/trusts/{other.id}", data={"invoicing": "once"}).status_code == 404
    assert other.invoice_once is False


@pytest.mark.parametrize("role", ROLES)
def test_a_providers_admin_page_is_the_admins_alone(client, auth, world, role):
    sign_in_as(auth, world, role)
    response = client.get(f"/admin/providers/{world.provider_a.id}")
    if role == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == (200 if role == "admin" else 403)


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
            categories=[world.service.category.slug],
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


@pytest.mark.parametrize("role", ROLES)
def test_a_contracts_call_off_page_is_for_the_schools_taking_part(client, auth, world, role):
    from tests.procurement.contracts.factories import make_contract, make_ep_provider

    contract = make_contract(make_ep_provider(), world.service, [world.school_b])
    taking_part = make_contract(make_ep_provider(), world.service, [world.school_a])
    sign_in_as(auth, world, role)
    other = client.get(f"/contracts/{contract.id}/call-off")
    own = client.get(f"/contracts/{taking_part.id}/call-off")
    if role == "anonymous":
        assert (own.status_code, other.status_code) == (302, 302)
    elif role in ("sbm", "head", "trust"):  # school A's own staff, and its trust
        assert (own.status_code, other.status_code) == (200, 403)
    else:  # governors, providers, the committee and the admin never call off
        assert (own.status_code, other.status_code) == (404, 404)


@pytest.mark.parametrize("role", ROLES)
def test_a_trusts_invoice_is_for_the_trust_the_partnership_and_its_schools_own_lines(
    client, auth, world, role
):
    """A trust invoiced once: its finance lead and the partnership read the invoice and its PDF;
    a school of the trust reads its own lines on the page (not the PDF, which has every
    school's); nobody else reaches it."""
    from marketplace.billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus

    invoice = Invoice(
        trust_id=world.trust.id,
        kind=InvoiceKind.ORDER,
        period=factories.this_term().key,
        billing_key=f"trust-{world.trust.id}-run-0",
        title="The trust's schools",
        status=InvoiceStatus.OPEN,
        number="PLD-TRUST-1",
        net_pence=25_000,
        total_pence=25_000,
        lines=[
            InvoiceLine(
                school_id=world.school_a.id,
                description="Alpha Primary School: counselling",
                unit_pence=25_000,
                amount_pence=25_000,
            )
        ],
    )
    db.session.add(invoice)
    db.session.commit()
    sign_in_as(auth, world, role)
    got = (
        client.get(f"/invoices/{invoice.id}").status_code,
        client.get(f"/invoices/{invoice.id}.pdf").status_code,
    )
    expected = {
        "anonymous": (302, 302),
        "admin": (200, 200),
        "committee": (200, 200),
        "trust": (200, 200),
        "sbm": (200, 404),
        "head": (200, 404),
        "governor": (403, 403),
        "provider": (403, 403),
    }[role]
    assert got == expected
