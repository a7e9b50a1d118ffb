"""Use cases for keeping the catalogue: the admin creates, edits and retires categories and
services. A retired category takes no new services; a retired service keeps its offers, orders
and invoices but takes no new offer or order and leaves the catalogue.

A category's name and description are part of its services' search documents: the trigger on
service_categories (migration 0018_onboarding) rewrites them when either changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import User
from app.use_case import use_case
from marketplace.catalogue.errors import (
    CategoryNotFound,
    InvalidCatalogueEntry,
    ServiceNotFound,
    ServiceRetired,
)
from marketplace.catalogue.models import (
    Service,
    ServiceCategory,
    ServiceKind,
    Unit,
    VatTreatment,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --- Pure checks


def check_slug(slug: str, max_length: int) -> str:
    """Lower-case letters and digits in words joined by hyphens, e.g. "speech-language"."""
    slug = slug.strip()
    if not slug:
        raise InvalidCatalogueEntry("Enter a short name for addresses and files.", field="slug")
    if len(slug) > max_length or not SLUG.match(slug):
        raise InvalidCatalogueEntry(
            f"The short name must be lower-case letters and digits joined by hyphens, like"
            f" speech-language, and at most {max_length} characters.",
            field="slug",
        )
    return slug


def check_text(value: str, what: str, field: str, max_length: int, *, required: bool) -> str:
    text = " ".join(value.split()) if "\n" not in value else value.strip()
    if required and not text:
        raise InvalidCatalogueEntry(f"Enter the {what}.", field=field)
    if len(text) > max_length:
        raise InvalidCatalogueEntry(
            f"The {what} must be {max_length:,} characters or fewer.", field=field
        )
    return text


@dataclass(frozen=True)
class CategoryInput:
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class ServiceInput:
    """A service as the admin page, the CSV import or the demo gives it."""

    slug: str
    name: str
    kind: ServiceKind
    category_slug: str
    unit: Unit
    vat: VatTreatment
    description: str = ""
    includes: str = ""


# --- Categories


def categories(*, include_retired: bool = True) -> list[ServiceCategory]:
    stmt = sa.select(ServiceCategory).order_by(ServiceCategory.name)
    if not include_retired:
        stmt = stmt.where(ServiceCategory.retired.is_(False))
    return list(db.session.scalars(stmt))


def get_category(category_id: int) -> ServiceCategory:
    category = db.session.get(ServiceCategory, category_id)
    if category is None:
        raise CategoryNotFound("There is no such category.")
    return category


def category_by_slug(slug: str) -> ServiceCategory | None:
    return db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.slug == slug))


def _category_snapshot(category: ServiceCategory) -> dict[str, Any]:
    return {
        "slug": category.slug,
        "name": category.name,
        "description": category.description,
        "retired": category.retired,
    }


def _check_category(values: CategoryInput, current: ServiceCategory | None) -> dict[str, str]:
    name = check_text(values.name, "category’s name", "name", 120, required=True)
    description = check_text(values.description, "description", "description", 2000, required=False)
    taken = db.session.scalar(
        sa.select(ServiceCategory.id).where(
            sa.func.lower(ServiceCategory.name) == name.lower(),
            ServiceCategory.id != (current.id if current else -1),
        )
    )
    if taken is not None:
        raise InvalidCatalogueEntry(f"There is already a category called {name}.", field="name")
    return {"name": name, "description": description}


@use_case
def create_category(values: CategoryInput, actor: User | None) -> ServiceCategory:
    """A new category (the short name is its key for the CSV import and cannot change)."""
    slug = check_slug(values.slug, 60)
    if category_by_slug(slug) is not None:
        raise InvalidCatalogueEntry(
            f"There is already a category with the short name {slug}.", field="slug"
        )
    category = ServiceCategory(slug=slug, **_check_category(values, None))
    db.session.add(category)
    db.session.flush()
    audit.record(
        actor,
        "service_category",
        category.id,
        "created",
        after=_category_snapshot(category),
        scope="catalogue",
    )
    db.session.commit()
    return category


@use_case
def update_category(category_id: int, values: CategoryInput, actor: User) -> ServiceCategory:
    """Rename or describe a category; its services are found by the new words at once."""
    category = get_category(category_id)
    before = _category_snapshot(category)
    for column, value in _check_category(values, category).items():
        setattr(category, column, value)
    db.session.flush()
    audit.record(
        actor,
        "service_category",
        category.id,
        "changed",
        before=before,
        after=_category_snapshot(category),
        scope="catalogue",
    )
    db.session.commit()
    return category


@use_case
def set_category_retired(category_id: int, retired: bool, actor: User) -> ServiceCategory:
    """Retire a category (no new services in it) or bring it back."""
    category = get_category(category_id)
    if category.retired != retired:
        category.retired = retired
        audit.record(
            actor,
            "service_category",
            category.id,
            "retired" if retired else "reinstated",
            scope="catalogue",
        )
    db.session.commit()
    return category


# --- Services


def all_services() -> list[Service]:
    """Every service, retired ones too, by category and name (for the admin)."""
    return list(
        db.session.scalars(
            sa.select(Service)
            .join(ServiceCategory, ServiceCategory.id == Service.category_id)
            .order_by(ServiceCategory.name, Service.name)
        )
    )


def get_service(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None:
        raise ServiceNotFound("There is no such service.")
    return service


def service_by_slug(slug: str) -> Service | None:
    return db.session.scalar(sa.select(Service).where(Service.slug == slug))


def ensure_not_retired(service: Service) -> None:
    """The rule the offer and order use cases apply: a retired service takes nothing new."""
    if not service.active:
        raise ServiceRetired(
            f"{service.name} has been retired from the catalogue: it takes no new offers or orders."
        )


def _service_snapshot(service: Service) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "name": service.name,
        "kind": service.kind.value,
        "category_id": service.category_id,
        "unit": service.unit.value,
        "vat": service.vat.value,
        "description": service.description,
        "includes": service.includes,
        "active": service.active,
    }


def service_columns(values: ServiceInput, current: Service | None) -> dict[str, Any]:
    """The columns to store for a service, checked; InvalidCatalogueEntry names the field."""
    name = check_text(values.name, "service’s name", "name", 200, required=True)
    wanted = values.category_slug.strip()
    category = category_by_slug(wanted) if wanted else None
    if category is None:
        raise InvalidCatalogueEntry(
            f"There is no category with the short name {wanted}."
            if wanted
            else "Choose a category.",
            field="category",
        )
    if category.retired and (current is None or current.category_id != category.id):
        raise InvalidCatalogueEntry(
            f"The category {category.name} is retired: choose another.", field="category"
        )
    return {
        "name": name,
        "kind": values.kind,
        "category_id": category.id,
        "unit": values.unit,
        "vat": values.vat,
        "description": check_text(
            values.description, "description", "description", 5000, required=False
        ),
        "includes": check_text(
            values.includes, "list of what is included", "includes", 2000, required=False
        ),
    }


def add_service(values: ServiceInput, actor: User | None) -> Service:
    """Make a service without committing (the import adds many in one transaction)."""
    slug = check_slug(values.slug, 80)
    if service_by_slug(slug) is not None:
        raise InvalidCatalogueEntry(
            f"There is already a service with the short name {slug}.", field="slug"
        )
    service = Service(slug=slug, active=True, **service_columns(values, None))
    db.session.add(service)
    db.session.flush()
    audit.record(
        actor, "service", service.id, "created", after=_service_snapshot(service), scope="catalogue"
    )
    return service


def change_service(service: Service, values: ServiceInput, actor: User | None) -> bool:
    """Change a service's details without committing; whether anything changed."""
    before = _service_snapshot(service)
    for column, value in service_columns(values, service).items():
        setattr(service, column, value)
    db.session.flush()
    after = _service_snapshot(service)
    if after == before:
        return False
    audit.record(
        actor, "service", service.id, "changed", before=before, after=after, scope="catalogue"
    )
    return True


@use_case
def create_service(values: ServiceInput, actor: User | None) -> Service:
    service = add_service(values, actor)
    db.session.commit()
    return service


@use_case
def update_service(service_id: int, values: ServiceInput, actor: User) -> Service:
    service = get_service(service_id)
    change_service(service, values, actor)
    db.session.commit()
    return service


@use_case
def set_service_retired(service_id: int, retired: bool, actor: User) -> Service:
    """Retire a service (its history stays; no new offers or orders) or bring it back."""
    service = get_service(service_id)
    if service.active == retired:
        service.active = not retired
        audit.record(
            actor, "service", service.id, "retired" if retired else "reinstated", scope="catalogue"
        )
    db.session.commit()
    return service
