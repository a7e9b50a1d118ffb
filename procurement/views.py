"""The procurement blueprint: buying rounds, tenders, bids, contracts and notices.

Route modules attach their views to `bp`; they are imported at the bottom so that
`from procurement.views import bp` registers them all.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("procurement", __name__)
from procurement import round_views  # noqa: E402,F401

from . import contract_views, tender_views  # noqa: E402,F401
