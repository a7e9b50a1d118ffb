"""Use cases for user accounts, and which provider a user acts for."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import Provider, Role, School, User


class AccountError(DomainError):
    code = "account_invalid"


def create_user(
    *,
    name: str,
    email: str,
    role: Role,
    password: str,
    school_id: int | None = None,
    provider_id: int | None = None,
    actor: User | None = None,
) -> User:
    """Create a user tied to the organisation its role needs."""
    email = email.strip().lower()
    if len(password) < 10:
        raise AccountError("The password must be at least 10 characters.")
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"There is already an account for {email}.")
    if role in (Role.SBM, Role.HEAD):
        if school_id is None or db.session.get(School, school_id) is None:
            raise AccountError("Choose the school this person works for.")
        provider_id = None
    elif role is Role.PROVIDER:
        if provider_id is None or db.session.get(Provider, provider_id) is None:
            raise AccountError("Choose the provider this person works for.")
        school_id = None
    else:
        school_id = provider_id = None
    user = User(
        name=name.strip(), email=email, role=role, school_id=school_id, provider_id=provider_id
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor, "user", user.id, "created", after={"email": email, "role": role.value}, scope="users"
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
