"""Tasks used by the job tests (imported by the tests and, through JOBS_EXTRA_MODULES, by the
consumers they start)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from app import audit
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


@task()
def note_once(key: str) -> None:
    """Leave one audit event per run, so a test can count how often each job ran."""
    time.sleep(0.1)  # long enough for both consumers to be busy
    audit.record(None, "job_test", key, "ran")
    db.session.commit()
