"""Recording a grant: the use case, without the page."""

from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.grants import GrantError, record_grant
from app.models import AuditEvent, Grant


def test_a_grant_is_recorded_trimmed_and_audited(world):
    grant = record_grant(
        world.admin,
        source="  Department for Education ",
        description=" School-led improvement ",
        amount_pence=4_500_050,
        received_on=date(2026, 9, 1),
        today=date(2026, 9, 1),
    )
    assert (grant.source, grant.description) == (
        "Department for Education",
        "School-led improvement",
    )
    assert grant.recorded_by_id == world.admin.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "grant"))
    assert (event.entity_id, event.action, event.scope) == (
        str(grant.id),
        "recorded",
        "partnership",
    )
    assert event.after == {
        "source": "Department for Education",
        "amount_pence": 4_500_050,
        "received_on": "2026-09-01",
    }


def test_money_not_yet_received_is_refused_on_its_date_and_nothing_is_written(world):
    with pytest.raises(GrantError, match="today or in the past") as refused:
        record_grant(
            world.admin,
            source="DfE",
            description="",
            amount_pence=100,
            received_on=date(2026, 9, 2),
            today=date(2026, 9, 1),
        )
    assert refused.value.field == "received_on"
    assert db.session.scalar(sa.select(sa.func.count(Grant.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
