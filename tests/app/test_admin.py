"""The partnership office: users, membership terms and grants."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Membership, MembershipTerm, Role, User
from tests import factories


def test_the_admin_invites_a_business_manager_for_a_school(client, auth, world):
    auth.as_user(world.admin)
    response = client.post(
        "/admin/users/new",
        data={
            "name": "New SBM",
            "email": "New.SBM@Example.org",
            "role": "sbm",
            "school_id": world.school_b.id,
            "provider_id": 0,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.sbm@example.org"))
    assert user.role is Role.SBM and user.school_id == world.school_b.id
    assert user.invited_at is not None and not user.check_password("")


def test_a_school_role_needs_a_school_and_emails_are_unique(client, auth, world):
    taken = factories.make_user(Role.SBM, school=world.school_a, email="taken@example.org")
    auth.as_user(world.admin)
    no_school = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": "x@example.org",
            "role": "head",
            "school_id": 0,
            "provider_id": 0,
        },
    )
    assert "Choose the school this person works for" in no_school.get_data(as_text=True)
    duplicate = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": taken.email,
            "role": "admin",
            "school_id": 0,
            "provider_id": 0,
        },
    )
    assert "There is already an account" in duplicate.get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.email == "x@example.org")
        )
        == 0
    )


def test_the_admin_deactivates_and_reactivates_a_user_and_it_is_audited(client, auth, world):
    auth.as_user(world.admin)
    client.post(f"/admin/users/{world.sbm_b.id}/active", data={"active": "0"})
    assert db.session.get(User, world.sbm_b.id).active is False
    client.post(f"/admin/users/{world.sbm_b.id}/active", data={"active": "1"})
    assert db.session.get(User, world.sbm_b.id).active is True
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == str(world.sbm_b.id))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["deactivated", "activated"]


def test_the_admin_cannot_deactivate_themselves(client, auth, world):
    auth.as_user(world.admin)
    response = client.post(
        f"/admin/users/{world.admin.id}/active", data={"active": "0"}, follow_redirects=True
    )
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    assert db.session.get(User, world.admin.id).active is True


def test_setting_terms_and_enrolling_members(client, auth, db_session):
    admin = factories.make_user(Role.ADMIN)
    member = factories.make_school("Member Primary", pupils=300)
    factories.make_school("No Count Primary", pupils=None)
    factories.make_school("Non-member", is_member=False)
    auth.as_user(admin)
    response = client.post(
        "/admin/membership/save",
        data={
            "start_year": "2030",
            "rate": "14.50",
            "cap": "12,500",
            "council_match_percent": "100",
        },
    )
    assert response.status_code == 302
    term = db.session.scalar(sa.select(MembershipTerm).where(MembershipTerm.start_year == 2030))
    assert (term.rate_per_pupil_pence, term.default_cap_pence, term.council_match_bp) == (
        1450,
        1_250_000,
        10_000,
    )
    page = client.post(f"/admin/membership/{term.id}/enrol", follow_redirects=True).get_data(
        as_text=True
    )
    assert "1 schools enrolled" in page
    assert "No Count Primary" in page  # named as left out for want of a pupil count
    membership = db.session.scalar(sa.select(Membership).where(Membership.term_id == term.id))
    assert membership.school_id == member.id and membership.pupils_counted == 300


def test_bad_terms_are_refused_and_nothing_is_saved(client, auth, db_session):
    auth.as_user(factories.make_user(Role.ADMIN))
    response = client.post(
        "/admin/membership/save",
        data={"start_year": "2031", "rate": "-3", "cap": "", "council_match_percent": "2.5"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "cannot be negative" in page
    assert "must be a whole number" in page
    assert (
        db.session.scalar(sa.select(MembershipTerm).where(MembershipTerm.start_year == 2031))
        is None
    )


def test_the_school_page_shows_the_subscription_and_how_it_was_worked_out(client, auth, world):
    auth.as_user(world.sbm_a)
    page = client.get(f"/schools/{world.school_a.id}").get_data(as_text=True)
    assert "420 pupils × £14.00 a pupil = £5,880.00" in page
    assert "£5,880.00" in page


def test_a_schools_own_cap_overrides_the_default(client, auth, world):
    term = db.session.scalar(sa.select(MembershipTerm))
    auth.as_user(world.admin)
    client.post(
        f"/admin/schools/{world.school_b.id}/membership/{term.id}",
        data={"pupils_counted": "1200", "cap": "7,500", "is_member": "y"},
    )
    page = client.get(f"/schools/{world.school_b.id}").get_data(as_text=True)
    assert "Capped at £7,500.00 a school" in page


def test_the_admin_records_a_grant_in_pounds_and_it_is_audited(client, auth, world):
    from app.models import Grant

    auth.as_user(world.admin)
    response = client.post(
        "/admin/grants",
        data={
            "source": "Department for Education",
            "description": "School-led improvement",
            "amount": "45,000.50",
            "received_on": "2026-09-01",
        },
    )
    assert response.status_code == 302
    grant = db.session.scalar(sa.select(Grant))
    assert (grant.amount_pence, grant.recorded_by_id) == (4_500_050, world.admin.id)
    page = client.get("/admin/grants").get_data(as_text=True)
    assert "£45,000.50" in page and "Department for Education" in page
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "grant"))
    assert event.after["amount_pence"] == 4_500_050


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"source": ""}, "Enter who the money came from"),
        ({"amount": "0"}, "more than"),
        ({"amount": "-5"}, ""),
        ({"amount": "ten pounds"}, ""),
        ({"received_on": "2026-02-30"}, "enter a real date"),
        ({"received_on": "2999-01-01"}, "today or in the past"),
    ],
)
def test_a_bad_grant_is_refused_and_nothing_is_saved(client, auth, world, changes, message):
    from app.models import Grant

    auth.as_user(world.admin)
    data = {"source": "DfE", "amount": "100", "received_on": "2026-09-01", **changes}
    response = client.post("/admin/grants", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Grant.id))) == 0


def test_only_the_admin_records_grants(client, auth, world):
    for user in (world.committee, world.sbm_a, world.provider_user_a):
        auth.logout()
        auth.as_user(user)
        assert client.get("/admin/grants").status_code == 403


def test_the_admin_invites_a_trusts_finance_lead_who_must_have_a_trust(client, auth, world):
    auth.as_user(world.admin)
    data = {"name": "Trust CFO", "email": "cfo@example.org", "role": "trust", "school_id": 0}
    no_trust = client.post("/admin/users/new", data={**data, "trust_id": 0})
    assert no_trust.status_code == 400
    assert "Choose the trust this person works for" in no_trust.get_data(as_text=True)
    assert db.session.scalar(sa.select(User.id).where(User.email == "cfo@example.org")) is None

    response = client.post("/admin/users/new", data={**data, "trust_id": world.trust.id})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "cfo@example.org"))
    assert (user.role, user.trust_id, user.school_id) == (Role.TRUST, world.trust.id, None)
