"""Use cases for user accounts (invitations, password resets, deactivation), and which
provider a user acts for.

Nobody types another person's password: an invitation emails a signed link (7 days, single
use) with which the invitee sets their own, and "Forgot your password?" emails a reset link
(1 hour, single use) that also ends the user's other sessions (app.account_links).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from app import audit
from app.account_links import LIFETIME, LinkInvalid, LinkPurpose, make_token, user_for_token
from app.errors import Conflict, DomainError, NotAllowed, NotFound
from app.extensions import db
from app.models import Provider, Role, School, Trust, User
from app.notifications.models import OutboxMessage
from app.notifications.rendering import link, render_email
from app.notifications.services import notify
from app.time import format_date, utcnow
from app.use_case import use_case

PASSWORD_MIN = 10


class AccountError(DomainError):
    code = "account_invalid"


class LinkRefused(DomainError):
    code = "account_link_invalid"


def check_password_rules(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise AccountError(
            f"The password must be at least {PASSWORD_MIN} characters.", field="password"
        )


def _unusable_password_hash() -> str:
    """A hash of a random secret nobody knows: the account cannot sign in until a link sets
    a password."""
    return generate_password_hash(secrets.token_urlsafe(32))


def may_invite(actor: User, role: Role, school_id: int | None, provider_id: int | None) -> bool:
    """Admins invite anyone; the head their own school's staff and approvers (business
    managers, heads, second approvers such as the chair of governors); provider users their own
    provider's staff."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.HEAD:
        return role in SCHOOL_STAFF_ROLES and school_id == actor.school_id
    if actor.role is Role.PROVIDER:
        return role is Role.PROVIDER and provider_id == actor.provider_id
    return False


# The roles that belong to one school (a school_id), and so a head may invite.
SCHOOL_STAFF_ROLES = (Role.SBM, Role.HEAD, Role.GOVERNOR)


@use_case
def invite_user(
    *,
    name: str,
    email: str,
    role: Role,
    school_id: int | None = None,
    provider_id: int | None = None,
    trust_id: int | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> tuple[User, str]:
    """Create an account that cannot sign in yet and email its owner a link to set their
    password; returns the user and the link. `actor` None is the command line."""
    now = now or utcnow()
    email = email.strip().lower()
    name = name.strip()
    if not name:
        raise AccountError("Enter the person’s name.", field="name")
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError("Enter an email address like name@school.org.uk.", field="email")
    if role in SCHOOL_STAFF_ROLES:
        if school_id is None or db.session.get(School, school_id) is None:
            raise AccountError("Choose the school this person works for.", field="school_id")
        provider_id = trust_id = None
    elif role is Role.PROVIDER:
        if provider_id is None or db.session.get(Provider, provider_id) is None:
            raise AccountError("Choose the provider this person works for.", field="provider_id")
        school_id = trust_id = None
    elif role is Role.TRUST:
        if trust_id is None or db.session.get(Trust, trust_id) is None:
            raise AccountError("Choose the trust this person works for.", field="trust_id")
        school_id = provider_id = None
    else:
        school_id = provider_id = trust_id = None
    if actor is not None and not may_invite(actor, role, school_id, provider_id):
        raise NotAllowed("You cannot invite someone to that role or organisation.")
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"There is already an account for {email}.", field="email")
    user = User(
        name=name,
        email=email,
        role=role,
        school_id=school_id,
        provider_id=provider_id,
        trust_id=trust_id,
        password_hash=_unusable_password_hash(),
        invited_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor,
        "user",
        user.id,
        "invited",
        after={"email": email, "role": role.value},
        scope="users",
    )
    url = link("auth.accept_invitation", token=make_token(user, LinkPurpose.INVITATION))
    notify(
        "invitation",
        [user],
        event=f"invitation-{user.id}-{int(now.timestamp())}",
        template="invitation",
        subject="You have been invited to Pooled",
        link=url,
        about=("user", user.id),
        inviter=actor.name if actor is not None else "The partnership office",
        expires_on=format_date(now + LIFETIME[LinkPurpose.INVITATION]),
    )
    db.session.commit()
    return user, url


@use_case
def request_password_reset(email: str, now: datetime | None = None) -> None:
    """Email a reset link to an active account with this address, at most
    PASSWORD_RESET_MAX_PER_HOUR times an hour. Whatever the address, it says nothing back."""
    now = now or utcnow()
    email = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    recent = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.kind == "password_reset",
            OutboxMessage.recipient == email,
            OutboxMessage.created_at > now - timedelta(hours=1),
        )
    )
    limit = current_app.config["PASSWORD_RESET_MAX_PER_HOUR"]
    if user is None or not user.active or (recent or 0) >= limit:
        # The same work as a real request (a link signed, an email rendered), so that the
        # time taken does not tell whether the address has an account.
        stand_in = User(id=0, email=email, name="", role=Role.SBM, password_hash="")
        make_token(stand_in, LinkPurpose.PASSWORD_RESET)
        render_email("password_reset", "", recipient=stand_in, link="")
        db.session.rollback()
        return
    url = link("auth.reset_password", token=make_token(user, LinkPurpose.PASSWORD_RESET))
    notify(
        "password_reset",
        [user],
        event=f"password-reset-{user.id}-{now.timestamp():.6f}",
        template="password_reset",
        subject="Reset your Pooled password",
        link=url,
        about=("user", user.id),
    )
    audit.record(None, "user", user.id, "password_reset_requested", scope="users")
    db.session.commit()


def _purpose_text(purpose: LinkPurpose) -> str:
    return "invitation" if purpose is LinkPurpose.INVITATION else "password reset link"


def user_for_link(token: str, purpose: LinkPurpose) -> User:
    """The user a link is for, or LinkRefused saying what to do."""
    try:
        return user_for_token(token, purpose)
    except LinkInvalid as exc:
        what = _purpose_text(purpose)
        if exc.expired:
            message = f"This {what} has expired."
        else:
            message = f"This {what} has already been used or is not complete."
        if purpose is LinkPurpose.PASSWORD_RESET:
            message += " Ask for a new one."
        else:
            message += " Ask whoever invited you to invite you again."
        raise LinkRefused(message) from exc


@use_case
def set_password_from_link(token: str, purpose: LinkPurpose, password: str) -> User:
    """Set the password a link allows; the link then stops working and every other session
    of the user ends."""
    user = user_for_link(token, purpose)
    check_password_rules(password)
    user.set_password(password)  # changes the hash (the link's fingerprint) and ends sessions
    user.invited_at = None
    audit.record(
        None,
        "user",
        user.id,
        "invitation_accepted" if purpose is LinkPurpose.INVITATION else "password_reset",
        scope="users",
    )
    db.session.commit()
    return user


def set_active(user_id: int, active: bool, actor: User) -> User:
    """Deactivate (or reactivate) a user; nobody can deactivate themselves."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == actor.id and not active:
        raise Conflict("You cannot deactivate your own account.")
    if user.active == active:
        return user
    user.active = active
    if not active:
        user.end_sessions()
    audit.record(
        actor,
        "user",
        user.id,
        "activated" if active else "deactivated",
        before={"active": not active},
        after={"active": active},
        scope="users",
    )
    db.session.commit()
    return user


def provider_for_user(user: User) -> Provider | None:
    """The provider a user acts for: a provider user's own, or a school-led hub's SBM's school."""
    if user.role is Role.PROVIDER:
        return user.provider
    if user.role is Role.SBM and user.school_id is not None:
        return db.session.scalar(
            sa.select(Provider).where(Provider.school_id == user.school_id).order_by(Provider.id)
        )
    return None


def provider_for_school(school_id: int) -> int | None:
    """The provider id of a school that also sells (a school-led hub), if it does."""
    return db.session.scalar(
        sa.select(Provider.id).where(Provider.school_id == school_id).order_by(Provider.id)
    )
