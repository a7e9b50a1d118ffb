"""Becoming a provider: the public application, and the partnership office approving (the
provider is created and the applicant invited) or rejecting it with a reason (emailed)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.errors import Conflict
from app.extensions import db
from app.models import AuditEvent, Provider, Role, User
from app.notifications.kinds import CHOOSABLE, Delivery
from app.notifications.models import NotificationPreference, OutboxMessage
from marketplace.providers import applications
from marketplace.providers.errors import ApplicationDecided, InvalidApplication
from marketplace.providers.models import ApplicationStatus, ProviderApplication
from tests import factories
from tests.support import outbox
from tests.support.smtp import link_in, text_of


@pytest.fixture(autouse=True)
def categories(world):
    """The categories applicants choose from (the catalogue's table, as the office keeps it)."""
    for slug in ("speech-language", "counselling"):
        factories.make_category(slug)
    db.session.commit()


FORM = {
    "organisation_name": "Brightside Speech Therapy Ltd",
    "kind": "company",
    "address": "1 High Street\nEaling\nW5 2AA",
    "company_number": "01234567",
    "charity_number": "",
    "contact_name": "Priya Shah",
    "contact_email": "Priya@Brightside.example",
    "contact_phone": "020 7946 0000",
    "categories": ["speech-language", "counselling"],
}


def application_input(**changes: object) -> applications.ApplicationInput:
    values = {**FORM, **changes}
    return applications.ApplicationInput(**values)  # type: ignore[arg-type]


def count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_the_sign_in_page_links_to_becoming_a_provider(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/providers/apply"' in page


def test_an_organisation_applies_on_the_public_page_without_signing_in(client, db_session):
    page = client.get("/providers/apply")
    assert page.status_code == 200 and "Become a provider" in page.get_data(as_text=True)
    sent = client.post("/providers/apply", data=FORM)
    assert sent.status_code == 302 and sent.location.endswith("/providers/apply/sent")
    application = db.session.scalar(sa.select(ProviderApplication))
    assert application is not None
    assert application.contact_email == "priya@brightside.example"
    assert application.categories == ["counselling", "speech-language"]
    assert application.status is ApplicationStatus.PENDING
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "provider_application")
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"organisation_name": ""}, "organisation_name", "Enter your organisation’s name"),
        ({"kind": "pirate"}, "kind", "Choose what kind of organisation"),
        ({"company_number": "1234"}, "company_number", "8 characters"),
        ({"company_number": ""}, "company_number", "Enter your Companies House number"),
        ({"kind": "charity", "charity_number": "12"}, "charity_number", "charity number like"),
        ({"contact_email": "not an email"}, "contact_email", "email address like"),
        ({"contact_phone": "call me"}, "contact_phone", "telephone number"),
        ({"categories": []}, "categories", "Choose at least one"),
        ({"categories": ["gold-mining"]}, "categories", "from the list"),
    ],
)
def test_a_bad_application_is_refused_with_a_named_error_and_nothing_saved(
    client, db_session, changes, field, message
):
    response = client.post("/providers/apply", data={**FORM, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page
    assert f'href="#{field}"' in page
    assert message.replace("’", "&#8217;") in page or message in page
    assert count(ProviderApplication) == 0


def test_a_second_pending_application_from_the_same_email_is_refused(db_session):
    applications.apply(application_input())
    with pytest.raises(InvalidApplication, match="already have an application"):
        applications.apply(application_input(organisation_name="Another Name Ltd"))
    assert count(ProviderApplication) == 1


def test_an_organisation_that_already_sells_cannot_apply_again_under_its_name(db_session, world):
    with pytest.raises(InvalidApplication, match="already sells"):
        applications.apply(application_input(organisation_name=world.provider_a.name.upper()))


def test_approving_creates_the_provider_and_emails_the_applicant_an_invitation(
    client, auth, world, mailbox
):
    application = applications.apply(application_input())
    auth.as_user(world.admin)
    listed = client.get("/admin/provider-applications").get_data(as_text=True)
    assert "Brightside Speech Therapy Ltd" in listed
    detail = client.get(f"/admin/provider-applications/{application.id}").get_data(as_text=True)
    assert "Speech and language therapy" in detail and "01234567" in detail

    done = client.post(f"/admin/provider-applications/{application.id}/approve")
    assert done.status_code == 302
    provider = db.session.scalar(
        sa.select(Provider).where(Provider.name == "Brightside Speech Therapy Ltd")
    )
    assert provider is not None and provider.contact_email == "priya@brightside.example"
    user = db.session.scalar(sa.select(User).where(User.email == "priya@brightside.example"))
    assert user is not None
    assert (user.role, user.provider_id, user.name) == (Role.PROVIDER, provider.id, "Priya Shah")
    db.session.refresh(application)
    assert application.status is ApplicationStatus.APPROVED
    assert application.provider_id == provider.id and application.decided_by_id == world.admin.id

    [message] = mailbox.wait_for("priya@brightside.example")
    assert message["Subject"] == "You have been invited to Pooled"
    assert "Brightside Speech Therapy Ltd" in text_of(message)
    url = link_in(message, "/invitation/")
    auth.logout()
    accept = client.post(
        urlsplit(url).path,
        data={"password": "a good long password", "confirm": "a good long password"},
    )
    assert accept.status_code == 302
    assert auth.login("priya@brightside.example", "a good long password").status_code == 302


def test_a_decided_application_cannot_be_decided_again(db_session, world):
    application = applications.apply(application_input())
    applications.approve(application.id, world.admin)
    with pytest.raises(ApplicationDecided):
        applications.reject(application.id, "Changed our mind", world.admin)
    with pytest.raises(ApplicationDecided):
        applications.approve(application.id, world.admin)


def test_approval_is_refused_whole_when_the_applicant_already_has_an_account(db_session, world):
    application = applications.apply(application_input(contact_email=world.sbm_a.email))
    providers_before = count(Provider)
    with pytest.raises(Conflict, match="already an account"):
        applications.approve(application.id, world.admin)
    assert count(Provider) == providers_before
    db.session.refresh(application)
    assert application.status is ApplicationStatus.PENDING


def test_rejecting_needs_a_reason_which_the_applicant_is_emailed(client, auth, world, mailbox):
    application = applications.apply(application_input())
    auth.as_user(world.admin)
    refused = client.post(
        f"/admin/provider-applications/{application.id}/reject", data={"reason": "  "}
    )
    assert refused.status_code == 400
    assert "Give the reason" in refused.get_data(as_text=True)
    db.session.refresh(application)
    assert application.status is ApplicationStatus.PENDING

    done = client.post(
        f"/admin/provider-applications/{application.id}/reject",
        data={"reason": "We already have enough speech therapy providers in Ealing."},
    )
    assert done.status_code == 302
    db.session.refresh(application)
    assert application.status is ApplicationStatus.REJECTED
    [message] = mailbox.wait_for("priya@brightside.example")
    assert "enough speech therapy providers" in text_of(message)
    row = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "provider_application")
    )
    assert row is not None and row.user_id is None
    # The same address may apply again once the earlier application is decided.
    assert applications.apply(application_input()).status is ApplicationStatus.PENDING


@pytest.mark.parametrize("role", ["committee", "sbm", "head", "provider"])
def test_only_the_admin_decides_applications(client, auth, world, role):
    application = applications.apply(application_input())
    user = {
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
    }[role]
    auth.as_user(user)
    assert client.post(f"/admin/provider-applications/{application.id}/approve").status_code == 403
    assert (
        client.post(
            f"/admin/provider-applications/{application.id}/reject", data={"reason": "x"}
        ).status_code
        == 403
    )
    db.session.refresh(application)
    assert application.status is ApplicationStatus.PENDING


def test_every_admin_is_told_of_a_new_application_by_email_and_in_app(db_session, world):
    second = factories.make_user(Role.ADMIN, email="office2@pooled.example")
    gone = factories.make_user(Role.ADMIN, email="left@pooled.example", active=False)
    db.session.commit()

    application = applications.apply(application_input())

    told = outbox.emails("provider_application_received")
    assert {row.recipient for row in told} == {world.admin.email, second.email}
    assert gone.email not in outbox.recipients("provider_application_received")
    review = f"/admin/provider-applications/{application.id}"
    assert all(review in row.text_body and "Brightside Speech" in row.subject for row in told)
    [note] = outbox.notifications(world.admin)
    assert note.link == review and note.kind == "provider_application_received"
    assert outbox.notifications(world.sbm_a) == []
    assert outbox.notifications(world.provider_user_a) == []


def test_an_admin_who_turned_application_emails_off_still_sees_them_in_app(db_session, world):
    db.session.add(
        NotificationPreference(
            user_id=world.admin.id, kind="provider_application_received", delivery=Delivery.OFF
        )
    )
    db.session.commit()

    applications.apply(application_input())

    assert outbox.emails("provider_application_received", to=world.admin) == []
    assert [n.kind for n in outbox.notifications(world.admin)] == ["provider_application_received"]


def test_admins_choose_how_they_hear_of_applications():
    assert "provider_application_received" in {k.key for k in CHOOSABLE}
