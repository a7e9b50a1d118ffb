"""The audit trail is append-only: the ORM and the database both refuse changes."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app import audit
from app.audit import AuditTrailIsAppendOnly
from app.extensions import db
from app.models import AuditEvent


@pytest.fixture
def event(world):
    row = audit.record(
        world.admin,
        "school",
        world.school_a.id,
        "renamed",
        before={"name": "A"},
        after={"name": "B"},
        scope="school:1",
    )
    db.session.commit()
    return row


def test_changing_an_event_through_the_orm_is_refused(event):
    event.action = "something else"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_deleting_an_event_through_the_orm_is_refused(event):
    db.session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(AuditEvent).values(action="x"),
        sa.delete(AuditEvent),
    ],
)
def test_bulk_statements_on_events_are_refused(event, statement):
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(statement)
    db.session.rollback()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_refuses_raw_sql_changes_too(event, sql):
    nested = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.connection().exec_driver_sql(sql)
    nested.rollback()
    assert (
        db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.id == event.id))
        == "renamed"
    )


def test_history_lists_an_entitys_events_in_order(event, world):
    audit.record(world.admin, "school", world.school_a.id, "renamed again")
    db.session.commit()
    assert [e.action for e in audit.history("school", world.school_a.id)] == [
        "renamed",
        "renamed again",
    ]
