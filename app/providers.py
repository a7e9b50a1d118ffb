"""Use cases for provider organisations the admin adds: a company, a council service, a charity,
or a member school selling to others (linked to its school). Their people are invited with the
same invitations as everyone (app.accounts.invite_user)."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.errors import DomainError, NotFound
from app.extensions import db
from app.models import Provider, ProviderKind, School, User
from app.use_case import use_case

NAME_MAX = 200

KIND_LABELS = {
    ProviderKind.COMPANY: "A company",
    ProviderKind.COUNCIL: "A council service",
    ProviderKind.CHARITY: "A charity",
    ProviderKind.SCHOOL: "A school selling to others",
}


class ProviderError(DomainError):
    code = "provider_invalid"


def all_providers() -> list[Provider]:
    return list(db.session.scalars(sa.select(Provider).order_by(sa.func.lower(Provider.name))))


def get_provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("There is no such provider.")
    return provider


def provider_users(provider_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.provider_id == provider_id).order_by(User.email)
        )
    )


@use_case
def create_provider(
    *,
    name: str,
    kind: ProviderKind,
    school_id: int | None = None,
    contact_email: str = "",
    description: str = "",
    actor: User | None,
) -> Provider:
    """Add a provider; a school selling to others names its school (once per school)."""
    name = " ".join(name.split())
    if not name:
        raise ProviderError("Enter the provider’s name.", field="name")
    if len(name) > NAME_MAX:
        raise ProviderError(f"The name must be {NAME_MAX} characters or fewer.", field="name")
    taken = db.session.scalar(
        sa.select(Provider.id).where(sa.func.lower(Provider.name) == name.lower())
    )
    if taken is not None:
        raise ProviderError(f"There is already a provider called {name}.", field="name")
    if kind is ProviderKind.SCHOOL:
        if school_id is None or db.session.get(School, school_id) is None:
            raise ProviderError("Choose the school that sells its services.", field="school_id")
        if db.session.scalar(sa.select(Provider.id).where(Provider.school_id == school_id)):
            raise ProviderError("That school already sells as a provider.", field="school_id")
    elif school_id is not None:
        raise ProviderError(
            "Only a school selling to others is linked to a school.", field="school_id"
        )
    email = contact_email.strip().lower()
    if email and ("@" not in email or len(email) > 254 or any(c.isspace() for c in email)):
        raise ProviderError(
            "Enter a contact email address like office@provider.co.uk.", field="contact_email"
        )
    provider = Provider(
        name=name,
        kind=kind,
        school_id=school_id,
        contact_email=email,
        description=description.strip(),
    )
    db.session.add(provider)
    db.session.flush()
    audit.record(
        actor,
        "provider",
        provider.id,
        "created",
        after={"name": name, "kind": kind.value, "school_id": school_id},
        scope=f"provider:{provider.id}",
    )
    db.session.commit()
    return provider
