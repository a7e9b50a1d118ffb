"""The audit trail: append-only records of every state change."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import db
from app.models import AuditEvent, User


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


def record(
    actor: User | None,
    entity_type: str,
    entity_id: int | str,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    scope: str = "",
) -> AuditEvent:
    """Add an audit event to the session; the caller's use case commits it with its change."""
    event_row = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
        scope=scope,
    )
    db.session.add(event_row)
    return event_row


def history(entity_type: str, entity_id: int | str) -> list[AuditEvent]:
    """Events for one record, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def events_in_scope(scope: str) -> list[AuditEvent]:
    """Events grouped under one scope (e.g. "tender:3"), oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.scope == scope)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def _refuse_change(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")


def _refuse_bulk_change(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if mapper.class_ is AuditEvent:
            raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) == AuditEvent.__tablename__:
        raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")


_installed = False


def install_guards() -> None:
    """Refuse updates and deletes of audit events in the ORM (the database refuses them too)."""
    global _installed
    if _installed:
        return
    event.listen(AuditEvent, "before_update", _refuse_change)
    event.listen(AuditEvent, "before_delete", _refuse_change)
    event.listen(Session, "do_orm_execute", _refuse_bulk_change)
    _installed = True
