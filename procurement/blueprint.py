"""The procurement blueprint: the pages of buying rounds, tenders, contracts and the pipeline.

One blueprint for the domain (endpoints `procurement.*`); each subpackage's views (a `views.py`,
or a `views/` package whose `__init__` imports its modules) add their routes to `bp`, and
`blueprint()` imports them all for the app factory.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("procurement", __name__)


def blueprint() -> Blueprint:
    """The blueprint with every procurement route on it."""
    # Each domain's words for its statuses, for every page and email (app.statuses).
    from procurement.contracts import labels as contract_labels  # noqa: F401
    from procurement.contracts import views as contract_views  # noqa: F401
    from procurement.kpis import labels as kpi_labels  # noqa: F401
    from procurement.kpis import views as kpi_views  # noqa: F401
    from procurement.minicomps import labels as minicomp_labels  # noqa: F401
    from procurement.minicomps import views as minicomp_views  # noqa: F401
    from procurement.pipeline import views as pipeline_views  # noqa: F401
    from procurement.rounds import labels as round_labels  # noqa: F401
    from procurement.rounds import views as round_views  # noqa: F401
    from procurement.tenders import labels as tender_labels  # noqa: F401
    from procurement.tenders import views as tender_views  # noqa: F401

    return bp
