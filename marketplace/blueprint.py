"""The marketplace blueprint: the pages of the catalogue, offers, orders, entitlements, billing
and supply cover (with the public vacancies board).

One blueprint for the domain (endpoints `marketplace.*`); each subpackage's `views.py` adds its
routes to `bp`, and `blueprint()` imports them all for the app factory.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("marketplace", __name__)


def blueprint() -> Blueprint:
    """The blueprint with every marketplace route on it."""
    # Each domain's words for its statuses, for every page and email (app.statuses).
    from marketplace.billing import labels as billing_labels  # noqa: F401
    from marketplace.billing import views as billing_views  # noqa: F401
    from marketplace.catalogue import admin_views as catalogue_admin_views  # noqa: F401
    from marketplace.catalogue import views as catalogue_views  # noqa: F401
    from marketplace.documents import views as document_views  # noqa: F401
    from marketplace.entitlements import views as entitlement_views  # noqa: F401
    from marketplace.offers import views as offer_views  # noqa: F401
    from marketplace.orders import labels as order_labels  # noqa: F401
    from marketplace.orders import views as order_views  # noqa: F401
    from marketplace.payouts import views as payout_views  # noqa: F401
    from marketplace.providers import views as provider_views  # noqa: F401
    from marketplace.ratings import views as rating_views  # noqa: F401
    from marketplace.supply import labels as supply_labels  # noqa: F401
    from marketplace.supply import views as supply_views  # noqa: F401

    return bp
