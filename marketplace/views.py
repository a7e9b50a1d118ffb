"""The marketplace blueprint: catalogue, offers, orders, entitlements, billing, reports.

Route modules attach their views to `bp`; they are imported at the bottom so that
`from marketplace.views import bp` registers them all.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("marketplace", __name__)
from marketplace import catalogue_views, entitlement_views, offer_views, order_views  # noqa: E402,F401

from . import billing_views  # noqa: E402,F401  (issue 6: billing pages)
