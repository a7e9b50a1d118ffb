"""Template context: navigation per role, money and time filters."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from app.models import Role
from app.money import format_pence
from app.time import format_date, format_instant

# (label, endpoint, roles). An item shows only once its endpoint exists.
NAVIGATION: list[tuple[str, str, frozenset[Role]]] = [
    ("Home", "home.home", frozenset(Role)),
    (
        "Services",
        "marketplace.catalogue",
        frozenset({Role.SBM, Role.HEAD, Role.ADMIN, Role.COMMITTEE}),
    ),
    ("Orders", "marketplace.orders", frozenset({Role.SBM, Role.HEAD})),
    ("Offers", "marketplace.provider_offers", frozenset({Role.PROVIDER})),
    ("Orders", "marketplace.provider_orders", frozenset({Role.PROVIDER})),
    ("Entitlements", "marketplace.entitlements", frozenset({Role.SBM, Role.HEAD})),
    ("Supply cover", "marketplace.supply_home", frozenset(Role)),
    (
        "Buying rounds",
        "procurement.rounds",
        frozenset({Role.SBM, Role.HEAD, Role.COMMITTEE, Role.ADMIN}),
    ),
    ("Tenders", "procurement.tenders", frozenset({Role.COMMITTEE, Role.ADMIN, Role.PROVIDER})),
    ("Contracts", "procurement.contracts", frozenset(Role)),
    ("Invoices", "marketplace.invoices", frozenset({Role.SBM, Role.HEAD})),
    ("Payments", "marketplace.provider_payables", frozenset({Role.PROVIDER})),
    ("Billing", "marketplace.billing", frozenset({Role.ADMIN})),
    ("Dashboard", "dashboards.dashboard", frozenset(Role)),
    ("Schools", "admin.schools", frozenset({Role.ADMIN, Role.COMMITTEE})),
    ("Users", "admin.users", frozenset({Role.ADMIN})),
    ("Membership", "admin.membership_terms", frozenset({Role.ADMIN})),
    ("Grants", "admin.grants", frozenset({Role.ADMIN})),
    ("My school", "home.my_school", frozenset({Role.SBM, Role.HEAD})),
]


def nav_items() -> list[dict[str, Any]]:
    """The navigation for the signed-in user's role, marking the current section."""
    if not current_user.is_authenticated:
        return []
    endpoints = current_app.view_functions
    current = request.endpoint or ""
    items = []
    for label, endpoint, roles in NAVIGATION:
        if current_user.role in roles and endpoint in endpoints:
            items.append({"text": label, "href": url_for(endpoint), "active": current == endpoint})
    return items


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_pence
    app.jinja_env.filters["money0"] = lambda pence: format_pence(pence, show_pence=False)
    app.jinja_env.filters["london"] = format_instant
    app.jinja_env.filters["long_date"] = format_date
    app.jinja_env.globals["Role"] = Role

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "partnership_name": app.config["PARTNERSHIP_NAME"],
            "nav_items": nav_items(),
            # Pages link to a feature only once its view exists.
            "available_endpoints": app.view_functions,
        }
