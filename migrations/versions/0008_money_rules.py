"""money rules: rejected orders; pledges approved and with the school's PO; delivery acceptance

Revision ID: 0008_money_rules
Revises: 0007_hardening
Create Date: 2026-12-06 03:30:00.000000

"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0008_money_rules"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None

OLD_STATUSES = (
    "draft",
    "submitted",
    "approved",
    "confirmed",
    "delivered",
    "invoiced",
    "cancelled",
    "declined",
)
NEW_STATUSES = (*OLD_STATUSES, "rejected")


def _status_check(statuses):
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _rejected_orders(connection):
    """Orders cancelled by the head's rejection: their last audit event says "rejected"."""
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("entity_type", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("action", sa.String),
        sa.column("after", sa.JSON),
    )
    last = (
        sa.select(events.c.entity_id, sa.func.max(events.c.id).label("id"))
        .where(events.c.entity_type == "order")
        .group_by(events.c.entity_id)
        .subquery()
    )
    rows = connection.execute(
        sa.select(events.c.entity_id, events.c.after)
        .join(last, last.c.id == events.c.id)
        .where(events.c.action == "rejected")
    )
    found = []
    for order_id, after in rows:
        if isinstance(after, str):
            after = json.loads(after)
        found.append((int(order_id), str((after or {}).get("reason") or "")))
    return found


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rejection_reason", sa.Text(), nullable=False, server_default=sa.text("''"))
        )
        batch_op.drop_constraint(op.f("ck_orders_orderstatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_orderstatus"), _status_check(NEW_STATUSES))

    # Orders a head rejected were stored as cancelled, the reason only in the audit trail.
    connection = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("rejection_reason", sa.Text),
    )
    for order_id, reason in _rejected_orders(connection):
        connection.execute(
            orders.update()
            .where(orders.c.id == order_id, orders.c.status == "cancelled")
            .values(status="rejected", rejection_reason=reason)
        )


def downgrade():
    orders = sa.table("orders", sa.column("status", sa.String))
    op.get_bind().execute(
        orders.update().where(orders.c.status == "rejected").values(status="cancelled")
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_orderstatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_orderstatus"), _status_check(OLD_STATUSES))
        batch_op.drop_column("rejection_reason")
