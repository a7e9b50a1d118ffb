"""The admin keeps the catalogue: categories and services, created, edited and retired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.forms import ActionForm, submit
from app.models import Role
from app.security import roles_required
from marketplace.blueprint import bp
from marketplace.catalogue import editing
from marketplace.catalogue.forms import VAT_LABELS, CategoryForm, ServiceForm
from marketplace.catalogue.models import Service, ServiceKind, Unit, VatTreatment


@bp.route("/admin/catalogue", endpoint="catalogue_admin")
@roles_required(Role.ADMIN)
def catalogue_admin():
    """Every category and service, retired ones too, with links to change them."""
    return render_template(
        "marketplace/catalogue/admin.html",
        categories=editing.categories(),
        services=editing.all_services(),
        form=ActionForm(),
        vat_labels=VAT_LABELS,
    )


@bp.route("/admin/catalogue/categories/new", methods=["GET", "POST"], endpoint="category_new")
@roles_required(Role.ADMIN)
def category_new():
    """Add a category."""
    form = CategoryForm()
    outcome = submit(
        form,
        lambda: editing.create_category(
            editing.CategoryInput(
                form.slug.data or "", form.name.data or "", form.description.data or ""
            ),
            current_user,
        ),
    )
    if outcome.done:
        flash(f"Category {outcome.value.name} added.", "success")
        return redirect(url_for("marketplace.catalogue_admin"), code=303)
    return render_template(
        "marketplace/catalogue/category_form.html", form=form, category=None
    ), outcome.status


@bp.route(
    "/admin/catalogue/categories/<int:category_id>",
    methods=["GET", "POST"],
    endpoint="category_edit",
)
@roles_required(Role.ADMIN)
def category_edit(category_id: int):
    """Rename or describe a category (its short name stays)."""
    category = editing.get_category(category_id)
    form = CategoryForm(obj=category)
    del form.slug  # the short name is the category's key: it does not change
    outcome = submit(
        form,
        lambda: editing.update_category(
            category.id,
            editing.CategoryInput(category.slug, form.name.data or "", form.description.data or ""),
            current_user,
        ),
    )
    if outcome.done:
        flash(f"Category {outcome.value.name} saved.", "success")
        return redirect(url_for("marketplace.catalogue_admin"), code=303)
    return render_template(
        "marketplace/catalogue/category_form.html", form=form, category=category
    ), outcome.status


@bp.route(
    "/admin/catalogue/categories/<int:category_id>/retire",
    methods=["POST"],
    endpoint="category_retire",
)
@roles_required(Role.ADMIN)
def category_retire(category_id: int):
    """Retire a category, or bring it back."""
    return _retire(lambda retired: editing.set_category_retired(category_id, retired, current_user))


@bp.route("/admin/catalogue/services/new", methods=["GET", "POST"], endpoint="service_new")
@roles_required(Role.ADMIN)
def service_new():
    """Add a service to the catalogue."""
    form = _service_form(None)
    outcome = submit(form, lambda: editing.create_service(_service_input(form), current_user))
    if outcome.done:
        flash(f"Service {outcome.value.name} added.", "success")
        return redirect(url_for("marketplace.catalogue_admin"), code=303)
    return render_template(
        "marketplace/catalogue/service_form.html", form=form, service=None
    ), outcome.status


@bp.route(
    "/admin/catalogue/services/<int:service_id>",
    methods=["GET", "POST"],
    endpoint="service_edit",
)
@roles_required(Role.ADMIN)
def service_edit(service_id: int):
    """Change a service's details (its short name stays)."""
    service = editing.get_service(service_id)
    form = _service_form(service)
    del form.slug  # the short name is the service's key: it does not change
    outcome = submit(
        form,
        lambda: editing.update_service(
            service.id, _service_input(form, service.slug), current_user
        ),
    )
    if outcome.done:
        flash(f"Service {outcome.value.name} saved.", "success")
        return redirect(url_for("marketplace.catalogue_admin"), code=303)
    return render_template(
        "marketplace/catalogue/service_form.html", form=form, service=service
    ), outcome.status


@bp.route(
    "/admin/catalogue/services/<int:service_id>/retire",
    methods=["POST"],
    endpoint="service_retire",
)
@roles_required(Role.ADMIN)
def service_retire(service_id: int):
    """Retire a service (its history stays; no new offers or orders), or bring it back."""
    return _retire(lambda retired: editing.set_service_retired(service_id, retired, current_user))


def _retire(action: Callable[[bool], Any]) -> Any:
    """Run a retire-or-bring-back use case from the list's button (retired=1 or 0)."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired. Try again.", "error")
        return redirect(url_for("marketplace.catalogue_admin"), code=303)
    retired = request.form.get("retired") == "1"
    try:
        record = action(retired)
    except DomainError as exc:
        refusal_status(exc)
        flash(exc.message, "error")
    else:
        flash(f"{record.name} {'retired' if retired else 'brought back'}.", "success")
    return redirect(url_for("marketplace.catalogue_admin"), code=303)


def _service_form(service: Service | None) -> ServiceForm:
    form = ServiceForm(
        obj=service,
        data=(
            {
                "kind": service.kind.value,
                "unit": service.unit.value,
                "vat": service.vat.value,
                "category": service.category.slug,
            }
            if service is not None
            else None
        ),
    )
    form.category.choices = [("", "Choose a category")] + [
        (c.slug, c.name + (" (retired)" if c.retired else ""))
        for c in editing.categories()
        if not c.retired or (service is not None and service.category_id == c.id)
    ]
    return form


def _service_input(form: ServiceForm, slug: str | None = None) -> editing.ServiceInput:
    return editing.ServiceInput(
        slug=slug if slug is not None else form.slug.data or "",
        name=form.name.data or "",
        kind=ServiceKind(form.kind.data),
        category_slug=form.category.data or "",
        unit=Unit(form.unit.data),
        vat=VatTreatment(form.vat.data),
        description=form.description.data or "",
        includes=form.includes.data or "",
    )
