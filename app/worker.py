"""The queue's consumer entry point, and the one list of modules that define tasks.

The factory imports every module here, so the web app and every consumer know the same tasks.
`flask jobs worker` runs a consumer inside the app; huey's own consumer works too:

    huey_consumer app.worker.huey -w 2 -k thread

(`app.worker.huey` builds the app from the environment the first time it is read.)
"""

from __future__ import annotations

import importlib
from typing import Any

# Every module that defines tasks (core first, then the domains).
TASK_MODULES = (
    "app.jobs.services",
    "app.notifications.tasks",
    "app.schools",
    "marketplace.billing.tasks",
    "marketplace.providers.tasks",
    "marketplace.supply.tasks",
    "procurement.pipeline.tasks",
    "procurement.kpis.tasks",
    "procurement.rounds.estimates",
    "procurement.rounds.tasks",
    "procurement.tenders.tasks",
)


def import_tasks(extra: tuple[str, ...] = ()) -> None:
    """Define every task (and the extra modules named in JOBS_EXTRA_MODULES, for tests)."""
    for module in (*TASK_MODULES, *extra):
        importlib.import_module(module)


_created: list[object] = []


def __getattr__(name: str) -> Any:
    if name == "huey":
        from app import create_app
        from app.jobs import huey

        if not _created:
            _created.append(create_app())
        return huey
    raise AttributeError(name)
