"""Tasks used by the job tests (imported by the tests and, through JOBS_EXTRA_MODULES, by the
consumers they start)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.jobs import task
from app.models import School


@task()
def rename_school(school_id: int, name: str) -> None:
    db.session.execute(sa.update(School).where(School.id == school_id).values(name=name))
    db.session.commit()


@task(retries=2)
def fail_until_renamed(school_id: int) -> None:
    school = db.session.get(School, school_id)
    assert school is not None
    if not school.name.startswith("Renamed"):
        raise ValueError(f"{school.name} is not renamed yet")
