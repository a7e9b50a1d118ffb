"""Catalogue pages: search and filter services; a page per service with its live offers."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app.cache import cached_page
from app.calendar import term_label
from app.forms import PoundsField, field_errors
from app.models import SCHOOL_ROLES, Role, School
from app.security import roles_required
from app.time import london_today
from marketplace.blueprint import bp
from marketplace.catalogue import compare, editing
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.coverage import coverage
from marketplace.catalogue.errors import CannotCompare
from marketplace.catalogue.forms import CompareForm
from marketplace.catalogue.models import ServiceCategory, ServiceKind, Unit
from marketplace.orders.contract_prices import contract_prices
from marketplace.orders.savings import (
    member_years,
    membership_change,
    membership_saving,
    this_and_next_year,
)
from marketplace.ratings.services import summaries_for_offers

CATALOGUE_ROLES = (Role.SBM, Role.HEAD, Role.ADMIN, Role.COMMITTEE)


class CatalogueSearchForm(Form):
    """The catalogue's filters, read from the query string (a GET form: no CSRF)."""

    q = StringField("Search", validators=[Optional(), Length(max=100)])
    category = SelectField("Category", default="", choices=[("", "All categories")])
    kind = SelectField(
        "Core or traded",
        default="",
        choices=[
            ("", "Core and traded"),
            (ServiceKind.CORE.value, "Core offer (in your subscription)"),
            (ServiceKind.TRADED.value, "Traded (bought on top)"),
        ],
    )
    unit = SelectField(
        "Priced per", default="", choices=[("", "Any unit")] + [(u.value, u.value) for u in Unit]
    )
    provider = SelectField("Provider", default="", choices=[("", "Any provider")])
    min_price = PoundsField("Price per unit from", validators=[Optional()])
    max_price = PoundsField("Price per unit up to", validators=[Optional()])

    def validate_max_price(self, field: PoundsField) -> None:
        low, high = self.min_price.data, field.data
        if low is not None and high is not None and high < low:
            raise ValidationError("The highest price must be more than the lowest price")

    def filters(self) -> catalogue.CatalogueFilters:
        """The filters that passed validation (a field with an error is left out)."""

        def ok(field: object) -> bool:
            return not getattr(field, "errors", None)

        provider = self.provider.data if ok(self.provider) else ""
        prices_ok = ok(self.min_price) and ok(self.max_price)
        return catalogue.CatalogueFilters(
            q=(self.q.data or "") if ok(self.q) else "",
            category=self.category.data if self.category.data and ok(self.category) else None,
            kind=ServiceKind(self.kind.data) if self.kind.data and ok(self.kind) else None,
            unit=Unit(self.unit.data) if self.unit.data and ok(self.unit) else None,
            # A bad price bound leaves out the price filter as a whole.
            min_price_pence=self.min_price.data if prices_ok else None,
            max_price_pence=self.max_price.data if prices_ok else None,
            provider_id=int(provider) if provider and provider.isdigit() else None,
        )


@bp.route("/services", endpoint="catalogue")
@roles_required(*CATALOGUE_ROLES)
@cached_page
def catalogue_page():
    """Find a service: search by words and filter by category, kind, unit, price, provider."""
    today = london_today()
    form = CatalogueSearchForm(request.args)
    form.provider.choices = [("", "Any provider")] + [
        (str(provider_id), name)
        for provider_id, name in catalogue.providers_with_live_offers(today)
    ]
    form.category.choices = [("", "All categories")] + [
        (c.slug, c.name) for c in editing.categories(include_retired=False)
    ]
    form.validate()
    school_id = current_user.school_id if current_user.role in SCHOOL_ROLES else None
    # The school's membership this year and next, read once for the prices and the notices.
    members = (
        member_years(school_id, [year.start_year for year in this_and_next_year(today)])
        if school_id is not None
        else None
    )
    entries = catalogue.search(form.filters(), today, school_id, members)
    groups: dict[ServiceCategory, list[catalogue.CatalogueEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.service.category, []).append(entry)
    filtered = any(request.args.get(name) for name in form._fields)
    return render_template(
        "marketplace/catalogue/catalogue.html",
        form=form,
        groups=groups,
        count=len(entries),
        filtered=filtered,
        saving=membership_saving(school_id, today, members) if school_id is not None else None,
        change=membership_change(school_id, today, members) if school_id is not None else None,
    )


def _school() -> School | None:
    return current_user.school if current_user.role in SCHOOL_ROLES else None


def _service_detail(service_id: int, compare_form: CompareForm | None = None, status: int = 200):
    today = london_today()
    school = _school()
    page = catalogue.service_page(service_id, today, school, request.args.get("term"))
    contracts = contract_prices().for_school(school.id, service_id, today) if school else []
    rounds = coverage().open_rounds(service_id)
    compare_form = compare_form or CompareForm()
    compare_form.offer.choices = [
        (view.offer.id, f"{view.offer.provider.name}: {view.offer.title}") for view in page.offers
    ]
    return (
        render_template(
            "marketplace/catalogue/service_detail.html",
            page=page,
            service=page.service,
            school=school,
            contracts=contracts,
            rounds=rounds,
            can_order=current_user.role is Role.SBM,
            today=today,
            compare_form=compare_form,
            ratings=summaries_for_offers(view.offer.id for view in page.offers),
        ),
        status,
    )


@bp.route("/services/<int:service_id>")
@roles_required(*CATALOGUE_ROLES)
@cached_page
def service_detail(service_id: int):
    """A service and every live offer: tiers, capacity left per term, lead time, notice rules."""
    return _service_detail(service_id)


@bp.route("/services/<int:service_id>/compare")
@roles_required(*CATALOGUE_ROLES)
def service_compare(service_id: int):
    """Two to four offers for the service side by side, priced at the school's quantity."""
    form = CompareForm(request.args)
    if form.validate():
        try:
            comparison = compare.compare_offers(
                service_id, form.offer.data or [], london_today(), _school(), form.quantity.data
            )
        except CannotCompare as exc:
            field_errors(form, exc.field, exc.message)
        else:
            return render_template(
                "marketplace/catalogue/compare.html",
                comparison=comparison,
                service=comparison.service,
                form=form,
                can_order=current_user.role is Role.SBM,
            )
    return _service_detail(service_id, form, 400)


bp.add_app_template_filter(term_label, "term_label")
