"""The tender's audit trail: every state change, read per tender, and impossible to rewrite."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app import audit
from app.audit import AuditTrailIsAppendOnly
from app.extensions import db
from app.models import AuditEvent
from app.time import utcnow
from procurement.tenders import award, reading
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)


@pytest.fixture
def tender_events(world):
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    open_bids(tw)
    evaluate(tw, {bid_a.id: (50, 50), bid_b.id: (50, 50)})
    award.decide_award(tw.tender.id, world.committee, now=AFTER_DEADLINE + timedelta(days=2))
    return tw, audit.events_in_scope(f"tender:{tw.tender.id}")


def test_every_state_change_of_the_tender_is_recorded_with_before_and_after(tender_events):
    tw, events = tender_events
    changes = [(e.action, e.before, e.after) for e in events if e.entity_type == "tender"]
    actions = [action for action, _, _ in changes]
    assert actions == [
        "created",
        "published",
        "opening confirmed",
        "opening confirmed",
        "bids opened",
        "evaluation started",
        "award decided",
    ]
    by_action = {action: (before, after) for action, before, after in changes}
    assert by_action["published"][0]["status"] == "draft"
    assert by_action["published"][1]["status"] == "open"
    assert by_action["bids opened"][1]["status"] == "opened"
    assert by_action["award decided"] == (
        {"status": "evaluation"},
        {"status": "standstill", "standstill_ends_on": "2026-03-30"},
    )
    openers = [e.actor_id for e in events if e.action == "opening confirmed"]
    assert openers == [tw.committee.id, tw.committee2.id]


def test_bid_events_never_record_prices_or_answers(tender_events):
    _, events = tender_events
    for event in events:
        if event.entity_type == "tender_bid":
            text = repr((event.before, event.after))
            assert "23457" not in text and "Zanzibar" not in text


def test_the_committee_reads_the_trail_per_tender(client, auth, world, tender_events):
    tw, _ = tender_events
    other = make_tender(world)
    auth.as_user(world.committee)
    page = client.get(f"/tenders/{tw.tender.id}/audit").get_data(as_text=True)
    assert "Award decided" in page and "Bids opened" in page
    assert "standstill to 2026-03-30" in page
    assert f"Tender {other.tender.id}" not in page


def test_bid_events_stay_out_of_the_trail_until_the_bids_are_opened(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    assert not [e for e in reading.trail(tw.tender) if e.entity_type == "tender_bid"]
    assert [
        e for e in audit.events_in_scope(f"tender:{tw.tender.id}") if e.entity_type == "tender_bid"
    ]
    open_bids(tw)
    assert len([e for e in reading.trail(tw.tender) if e.action == "bid submitted"]) == 2


def test_an_audit_row_cannot_be_changed_through_the_orm(tender_events):
    _, events = tender_events
    event = events[0]
    event.action = "rewritten"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_an_audit_row_cannot_be_deleted_through_the_orm(tender_events):
    _, events = tender_events
    db.session.delete(events[0])
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("kind", ["update", "delete"])
def test_a_bulk_statement_on_the_trail_is_refused(tender_events, kind):
    tw, _ = tender_events
    scope = AuditEvent.scope == f"tender:{tw.tender.id}"
    statement = (
        sa.update(AuditEvent).where(scope).values(actor_label="someone else")
        if kind == "update"
        else sa.delete(AuditEvent).where(scope)
    )
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(statement)
    db.session.rollback()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET action = 'rewritten' WHERE scope = :scope",
        "DELETE FROM audit_events WHERE scope = :scope",
    ],
)
def test_raw_sql_on_the_trail_is_refused_by_the_database(tender_events, sql):
    tw, events = tender_events
    scope = f"tender:{tw.tender.id}"
    nested = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(sa.text(sql), {"scope": scope})
    nested.rollback()
    assert len(audit.events_in_scope(scope)) == len(events)
    assert audit.events_in_scope(scope)[0].action == "created"


def test_the_trail_is_timed_by_each_use_cases_clock(world):
    tw = make_tender(world)
    published = [
        e for e in audit.events_in_scope(f"tender:{tw.tender.id}") if e.action == "published"
    ]
    assert published[0].at == tw.tender.published_at
    assert published[0].at < utcnow()
