"""Becoming a provider: an organisation applies on the public page; an admin approves it (the
provider organisation is created and the applicant invited as its user) or rejects it with a
reason the applicant is emailed. Every public use case commits once or writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from app import audit
from app.accounts import invite_user
from app.extensions import db
from app.models import Provider, ProviderKind, Role, User
from app.notifications.rendering import link, render_email
from app.notifications.services import email_address, notify
from app.time import utcnow
from app.use_case import use_case
from marketplace.catalogue import editing
from marketplace.providers import rules
from marketplace.providers.errors import (
    ApplicationDecided,
    ApplicationNotFound,
    InvalidApplication,
)
from marketplace.providers.models import ApplicationStatus, ProviderApplication

NAME_MAX = 200
ADDRESS_MAX = 1000
REASON_MAX = 2000
PHONE_DIGITS = (10, 15)


@dataclass(frozen=True)
class ApplicationInput:
    organisation_name: str
    kind: str
    address: str
    company_number: str
    charity_number: str
    contact_name: str
    contact_email: str
    contact_phone: str
    categories: list[str] = field(default_factory=list)


def _text(value: str, limit: int, missing: str, what: str, name: str) -> str:
    text = " ".join((value or "").split()) if name != "address" else (value or "").strip()
    if not text:
        raise InvalidApplication(missing, field=name)
    if len(text) > limit:
        raise InvalidApplication(f"{what} must be {limit} characters or fewer", field=name)
    return text


def _check(data: ApplicationInput) -> ProviderApplication:
    name = _text(
        data.organisation_name,
        NAME_MAX,
        "Enter your organisation’s name",
        "The name",
        "organisation_name",
    )
    try:
        kind = ProviderKind(data.kind)
    except ValueError:
        raise InvalidApplication("Choose what kind of organisation you are", field="kind") from None
    address = _text(
        data.address, ADDRESS_MAX, "Enter your organisation’s address", "The address", "address"
    )
    company = rules.normalise_number(data.company_number or "")
    charity = rules.normalise_number(data.charity_number or "")
    if company and (problem := rules.company_number_problem(company)):
        raise InvalidApplication(problem, field="company_number")
    if charity and (problem := rules.charity_number_problem(charity)):
        raise InvalidApplication(problem, field="charity_number")
    if kind is ProviderKind.COMPANY and not company:
        raise InvalidApplication("Enter your Companies House number", field="company_number")
    if kind is ProviderKind.CHARITY and not charity:
        raise InvalidApplication("Enter your charity number", field="charity_number")
    contact = _text(
        data.contact_name, NAME_MAX, "Enter the contact’s name", "The name", "contact_name"
    )
    email = (data.contact_email or "").strip().lower()
    if (
        "@" not in email
        or len(email) > 254
        or any(c.isspace() for c in email)
        or email.startswith("@")
        or email.endswith("@")
    ):
        raise InvalidApplication(
            "Enter an email address like name@example.co.uk", field="contact_email"
        )
    phone = " ".join((data.contact_phone or "").split())
    digits = sum(c.isdigit() for c in phone)
    if (
        not phone
        or any(not (c.isdigit() or c in " +()-") for c in phone)
        or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]
    ):
        raise InvalidApplication(
            "Enter a telephone number, like 020 7946 0000 or +44 20 7946 0000",
            field="contact_phone",
        )
    known = {c.slug for c in editing.categories(include_retired=False)}
    categories = sorted(set(data.categories or []))
    if not categories:
        raise InvalidApplication(
            "Choose at least one kind of service you offer", field="categories"
        )
    if any(c not in known for c in categories):
        raise InvalidApplication("Choose services from the list", field="categories")
    return ProviderApplication(
        organisation_name=name,
        kind=kind,
        address=address,
        company_number=company,
        charity_number=charity,
        contact_name=contact,
        contact_email=email,
        contact_phone=phone,
        categories=categories,
    )


@use_case
def apply(data: ApplicationInput, now: datetime | None = None) -> ProviderApplication:
    """Record an application from the public page, refusing a second pending one from the
    same email address or for an organisation that is already a provider."""
    application = _check(data)
    pending = db.session.scalar(
        sa.select(ProviderApplication.id).where(
            ProviderApplication.contact_email == application.contact_email,
            ProviderApplication.status == ApplicationStatus.PENDING,
        )
    )
    if pending is not None:
        raise InvalidApplication(
            "We already have an application from this email address waiting for a decision. "
            "We will email you when it is decided.",
            field="contact_email",
        )
    if _provider_named(application.organisation_name) is not None:
        raise InvalidApplication(
            "An organisation with this name already sells through the partnership. Ask its "
            "users to invite you, or use your organisation’s full legal name.",
            field="organisation_name",
        )
    application.submitted_at = now or utcnow()
    db.session.add(application)
    db.session.flush()
    audit.record(
        None,
        "provider_application",
        application.id,
        "submitted",
        after={"organisation": application.organisation_name, "email": application.contact_email},
        scope="provider_applications",
    )
    _tell_admins(application)
    db.session.commit()
    return application


def _admins() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
        )
    )


def _tell_admins(application: ProviderApplication) -> None:
    """Every admin hears of the application (in-app and, as they chose, by email), with a
    link to the page where it is decided."""
    notify(
        "provider_application_received",
        _admins(),
        event=f"provider-application-{application.id}-submitted",
        template="provider_application_received",
        subject=f"{application.organisation_name} has applied to become a provider",
        link=link("marketplace.provider_application_detail", application_id=application.id),
        about=("provider_application", application.id),
        summary=f"From {application.contact_name} ({application.contact_email}): "
        "approve or reject it.",
        application=application,
    )


def _provider_named(name: str) -> int | None:
    return db.session.scalar(
        sa.select(Provider.id).where(sa.func.lower(Provider.name) == name.lower())
    )


def applications(status: ApplicationStatus | None = None) -> list[ProviderApplication]:
    """Applications, pending first, newest first within each status."""
    stmt = sa.select(ProviderApplication)
    if status is not None:
        stmt = stmt.where(ProviderApplication.status == status)
    order = sa.case((ProviderApplication.status == ApplicationStatus.PENDING, 0), else_=1)
    return list(db.session.scalars(stmt.order_by(order, ProviderApplication.submitted_at.desc())))


def get_application(application_id: int, *, lock: bool = False) -> ProviderApplication:
    """An application, for the partnership office; ApplicationNotFound otherwise."""
    stmt = sa.select(ProviderApplication).where(ProviderApplication.id == application_id)
    if lock:
        stmt = stmt.with_for_update()
    application = db.session.scalar(stmt)
    if application is None:
        raise ApplicationNotFound("There is no such application.")
    return application


def _pending(application_id: int) -> ProviderApplication:
    application = get_application(application_id, lock=True)
    if application.status is not ApplicationStatus.PENDING:
        raise ApplicationDecided(
            f"This application was already {application.status.value}; nothing was changed."
        )
    return application


@use_case
def approve(
    application_id: int, actor: User, now: datetime | None = None
) -> tuple[ProviderApplication, str]:
    """Create the provider organisation and invite the applicant as its user (the invitation
    email goes through the outbox); returns the application and the invitation link."""
    now = now or utcnow()
    application = _pending(application_id)
    if _provider_named(application.organisation_name) is not None:
        raise ApplicationDecided(
            f"There is already a provider called {application.organisation_name}: reject this "
            "application, or ask that provider to invite the applicant."
        )
    numbers = ", ".join(
        f"{label} {number}"
        for label, number in (
            ("Companies House", application.company_number),
            ("charity", application.charity_number),
        )
        if number
    )
    provider = Provider(
        name=application.organisation_name,
        kind=application.kind,
        contact_email=application.contact_email,
        description=numbers,
    )
    db.session.add(provider)
    db.session.flush()
    application.status = ApplicationStatus.APPROVED
    application.decided_at = now
    application.decided_by_id = actor.id
    application.provider_id = provider.id
    audit.record(
        actor,
        "provider_application",
        application.id,
        "approved",
        before={"status": ApplicationStatus.PENDING.value},
        after={"status": application.status.value, "provider_id": provider.id},
        scope="provider_applications",
    )
    audit.record(
        actor, "provider", provider.id, "created", after={"name": provider.name}, scope="providers"
    )
    # The invitation commits this use case's work with its own (or, refused, writes nothing).
    _, url = invite_user(
        name=application.contact_name,
        email=application.contact_email,
        role=Role.PROVIDER,
        provider_id=provider.id,
        actor=actor,
        now=now,
    )
    return application, url


@use_case
def reject(
    application_id: int, reason: str, actor: User, now: datetime | None = None
) -> ProviderApplication:
    """Turn an application down with a reason, which the applicant is emailed."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidApplication("Give the reason: the applicant is emailed it", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidApplication(
            f"The reason must be {REASON_MAX} characters or fewer", field="reason"
        )
    application = _pending(application_id)
    application.status = ApplicationStatus.REJECTED
    application.rejection_reason = reason
    application.decided_at = now or utcnow()
    application.decided_by_id = actor.id
    audit.record(
        actor,
        "provider_application",
        application.id,
        "rejected",
        before={"status": ApplicationStatus.PENDING.value},
        after={"status": application.status.value, "reason": reason},
        scope="provider_applications",
    )
    subject = "Your application to become a provider"
    email_address(
        "provider_application",
        application.contact_email,
        key=f"provider-application-{application.id}-rejected",
        email=render_email(
            "provider_application_rejected",
            subject,
            application=application,
            reason=reason,
        ),
        about=("provider_application", application.id),
    )
    db.session.commit()
    return application
