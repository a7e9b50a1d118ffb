"""Template context: navigation per role, money and time filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.widgets import Select, html_params

from app.cache import cached_figures
from app.extensions import db
from app.models import Role
from app.money import format_pence
from app.notifications import inbox
from app.partnership import details as partnership_details
from app.statuses import status_colour, status_label
from app.time import format_date, format_instant

# Roles that approve a school's orders without buying: no supply cover or contracts of their own.
APPROVERS_ONLY = frozenset({Role.TRUST, Role.GOVERNOR})
# (label, endpoint, roles). An item shows only once its endpoint exists.
NAVIGATION: list[tuple[str, str, frozenset[Role]]] = [
    ("Home", "home.home", frozenset(Role)),
    (
        "Services",
        "marketplace.catalogue",
        frozenset({Role.SBM, Role.HEAD, Role.ADMIN, Role.COMMITTEE}),
    ),
    ("Orders", "marketplace.orders", frozenset({Role.SBM, Role.HEAD})),
    ("Orders", "marketplace.trust_orders", frozenset({Role.TRUST})),
    ("Trust", "trusts.trust", frozenset({Role.TRUST})),
    ("Offers", "marketplace.provider_offers", frozenset({Role.PROVIDER})),
    ("Orders", "marketplace.provider_orders", frozenset({Role.PROVIDER})),
    ("Entitlements", "marketplace.entitlements", frozenset({Role.SBM, Role.HEAD})),
    ("Supply cover", "marketplace.supply_home", frozenset(Role) - APPROVERS_ONLY),
    (
        "Buying rounds",
        "procurement.rounds",
        frozenset({Role.SBM, Role.HEAD, Role.COMMITTEE, Role.ADMIN}),
    ),
    ("Tenders", "procurement.tenders", frozenset({Role.COMMITTEE, Role.ADMIN, Role.PROVIDER})),
    ("Contracts", "procurement.contracts", frozenset(Role) - APPROVERS_ONLY),
    ("Pipeline", "procurement.pipeline", frozenset({Role.COMMITTEE, Role.ADMIN})),
    (
        "Outside contracts",
        "procurement.external_contracts",
        frozenset({Role.SBM, Role.HEAD, Role.TRUST}),
    ),
    ("Invoices", "marketplace.invoices", frozenset({Role.SBM, Role.HEAD, Role.TRUST})),
    ("Quote requests", "procurement.mini_competitions", frozenset({Role.PROVIDER})),
    ("Payments", "marketplace.provider_payables", frozenset({Role.PROVIDER})),
    ("Ratings", "marketplace.provider_ratings", frozenset({Role.PROVIDER})),
    ("Billing", "marketplace.billing", frozenset({Role.ADMIN})),
    ("Disputes", "marketplace.order_disputes", frozenset({Role.ADMIN})),
    ("Dashboard", "dashboards.dashboard", frozenset(Role)),
    ("Schools", "admin.schools", frozenset({Role.ADMIN, Role.COMMITTEE})),
    ("Trusts", "trusts.trusts", frozenset({Role.ADMIN, Role.COMMITTEE})),
    ("Users", "admin.users", frozenset({Role.ADMIN})),
    ("Providers", "admin.providers_list", frozenset({Role.ADMIN})),
    ("Membership", "admin.membership_terms", frozenset({Role.ADMIN})),
    ("Grants", "admin.grants", frozenset({Role.ADMIN})),
    ("Applications", "marketplace.provider_applications", frozenset({Role.ADMIN})),
    ("Compliance", "marketplace.compliance_list", frozenset({Role.ADMIN})),
    ("Compliance", "marketplace.provider_compliance", frozenset({Role.PROVIDER})),
    ("Outbox", "notifications.outbox", frozenset({Role.ADMIN})),
    ("Manage catalogue", "marketplace.catalogue_admin", frozenset({Role.ADMIN})),
    ("Jobs", "admin.jobs", frozenset({Role.ADMIN})),
    ("Settings", "admin.partnership_settings", frozenset({Role.ADMIN})),
    ("My school", "home.my_school", frozenset({Role.SBM, Role.HEAD, Role.GOVERNOR})),
    ("Approvals", "marketplace.my_school_approvals", frozenset({Role.HEAD})),
]


def partnership_name() -> str:
    """The partnership's name for the page's header; the config's if the database cannot say
    (an error page after a failed transaction must still render)."""
    try:
        return cached_figures(
            "partnership-name",
            lambda: partnership_details().name,
            current_app.config["FIGURES_CACHE_SECONDS"],
        )
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return str(current_app.config["PARTNERSHIP_NAME"])


def nav_items() -> list[dict[str, Any]]:
    """The navigation for the signed-in user's role, marking the current section."""
    if not has_request_context() or not current_user.is_authenticated:
        return []  # an email rendered by a task or a command has no navigation
    role = current_user.role
    # A role's items and their addresses are the same on every request (for one script root):
    # worked out once per worker.
    known = current_app.extensions.setdefault("pooled_navigation", {})
    key = (role, request.script_root)
    entries = known.get(key)
    if entries is None:
        endpoints = current_app.view_functions
        entries = known[key] = tuple(
            (label, endpoint, url_for(endpoint))
            for label, endpoint, roles in NAVIGATION
            if role in roles and endpoint in endpoints
        )
    current = request.endpoint or ""
    return [
        {"text": label, "href": href, "active": current == endpoint}
        for label, endpoint, href in entries
    ]


def table_cell(
    cell: Any, column: int, numeric_columns: Iterable[int], header: bool = False
) -> Markup:
    """One cell of the `table` macro: text or Markup, or a mapping {"text": …, "header": True,
    "numeric": True, "colspan": 2, "id": "…", "classes": "…"}; column: the one it starts in.

    Python rather than a macro: the app's tables have thousands of cells, and a macro call per
    cell was most of the time their pages took to render (issue 19).
    """
    spec = cell if isinstance(cell, Mapping) else {"text": cell}
    is_header = spec.get("header", header)
    numeric = spec.get("numeric", column in numeric_columns)
    kind = "header" if is_header else "cell"
    tag = "th" if is_header else "td"
    parts = [f"<{tag}", ' scope="row"' if is_header else "", f' class="govuk-table__{kind}']
    if numeric:
        parts.append(f" govuk-table__{kind}--numeric")
    if spec.get("classes"):
        parts.append(f" {escape(spec['classes'])}")
    parts.append('"')
    if spec.get("colspan"):
        parts.append(f' colspan="{escape(spec["colspan"])}"')
    if spec.get("id"):
        parts.append(f' id="{escape(spec["id"])}"')
    parts.append(f">{escape(spec.get('text', ''))}</{tag}>")
    return Markup("".join(parts))  # noqa: S704 - every value in it went through escape()


def table_row(row: Any, numeric_columns: Iterable[int], first_cell_is_header: bool) -> Markup:
    """One row of the `table` macro: a list of cells, or a mapping {"cells": […], "id": "…",
    "attrs": {"data-x": 1}}."""
    spec = row if isinstance(row, Mapping) else {"cells": row}
    numeric = frozenset(numeric_columns)
    parts = ['\n    <tr class="govuk-table__row"']
    if spec.get("id"):
        parts.append(f' id="{escape(spec["id"])}"')
    for name, value in (spec.get("attrs") or {}).items():
        parts.append(f' {escape(name)}="{escape(value)}"')
    parts.append(">")
    column = 0
    for index, cell in enumerate(spec["cells"]):
        parts.append("\n      ")
        parts.append(table_cell(cell, column, numeric, header=index == 0 and first_cell_is_header))
        column += (cell.get("colspan") if isinstance(cell, Mapping) else None) or 1
    parts.append("\n    </tr>")
    return Markup("".join(parts))  # noqa: S704 - every value in it went through escape()


def select_field(field: Field, **attrs: Any) -> Markup:
    """The <select> WTForms draws for `field(**attrs)`, drawn the same way several times faster.

    WTForms 3.3 builds every <option> through `html_params` and a signature lookup, which made
    a page's filter selects a third of its render time (issue 19). Multiple selects, option
    groups and options with their own attributes are left to WTForms.
    """
    widget = field.widget
    if type(widget) is not Select or widget.multiple or field.has_groups():
        return Markup(field(**attrs))  # noqa: S704 - WTForms' own escaped output
    choices = list(field.iter_choices())
    if any(choice.render_kw for choice in choices):
        return Markup(field(**attrs))  # noqa: S704 - WTForms' own escaped output
    attrs.setdefault("id", field.id)
    flags = field.flags
    for name in Select.validation_attrs:
        if name not in attrs and getattr(flags, name, False):
            attrs[name] = getattr(flags, name)
    parts = [f"<select {html_params(name=field.name, **attrs)}>"]
    for choice in choices:
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        label = escape(choice.label or choice.value)
        parts.append(f'<option {selected}value="{escape(value)}">{label}</option>')
    parts.append("</select>")
    return Markup("".join(parts))  # noqa: S704 - every value in it went through escape()


def unread_notifications() -> int:
    """How many notifications the signed-in user has not read (for the header)."""
    if not has_request_context() or not current_user.is_authenticated:
        return 0
    user_id = current_user.id
    return cached_figures(
        f"unread:{user_id}",
        lambda: inbox.unread_count(user_id),
        current_app.config["FIGURES_CACHE_SECONDS"],
    )


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_pence
    app.jinja_env.filters["money0"] = lambda pence: format_pence(pence, show_pence=False)
    app.jinja_env.filters["london"] = format_instant
    app.jinja_env.filters["long_date"] = format_date
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["table_row"] = table_row
    app.jinja_env.globals["select_field"] = select_field
    app.jinja_env.globals["status_label"] = status_label
    app.jinja_env.globals["status_colour"] = status_colour

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "partnership_name": partnership_name(),
            "nav_items": nav_items(),
            "unread_notifications": unread_notifications(),
            # Pages link to a feature only once its view exists.
            "available_endpoints": app.view_functions,
        }
