"""The marketplace blueprint: catalogue, offers, orders, entitlements, billing, reports.

Route modules attach their views to `bp`; they are imported at the bottom so that
`from marketplace.views import bp` registers them all.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("marketplace", __name__)
# Issue 3 (catalogue, offers, orders, entitlements), 6 (billing) and 7 (dashboards).
from marketplace import (  # noqa: E402,F401
    billing_views,
    catalogue_views,
    entitlement_views,
    offer_views,
    order_views,
    report_views,
)
