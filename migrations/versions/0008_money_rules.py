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
        batch_op.add_column(sa.Column("acceptance_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("accepted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disputed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("dispute_reason", sa.Text(), nullable=False, server_default=sa.text("''"))
        )
        batch_op.create_foreign_key(
            op.f("fk_orders_accepted_by_id_users"), "users", ["accepted_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_orders_disputed_by_id_users"), "users", ["disputed_by_id"], ["id"]
        )
        batch_op.drop_constraint(op.f("ck_orders_orderstatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_orderstatus"), _status_check(NEW_STATUSES))

    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "estimated_pence", sa.BigInteger(), nullable=False, server_default=sa.text("0")
            )
        )
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("po_number", sa.String(length=60), nullable=False, server_default=sa.text("''"))
        )
        batch_op.create_foreign_key(
            op.f("fk_pledges_approved_by_id_users"), "users", ["approved_by_id"], ["id"]
        )

    connection = op.get_bind()
    # Pledges made before this rule were commitments when made: they stay in their rounds.
    pledges = sa.table(
        "pledges",
        sa.column("approved_at", sa.DateTime(timezone=True)),
        sa.column("approved_by_id", sa.Integer),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("updated_by_id", sa.Integer),
    )
    connection.execute(
        pledges.update().values(
            approved_at=pledges.c.updated_at, approved_by_id=pledges.c.updated_by_id
        )
    )

    # Deliveries recorded before this rule were billed as delivered: they count as accepted.
    delivered = sa.table(
        "orders",
        sa.column("status", sa.String),
        sa.column("delivered_at", sa.DateTime(timezone=True)),
        sa.column("accepted_at", sa.DateTime(timezone=True)),
    )
    connection.execute(
        delivered.update()
        .where(delivered.c.delivered_at.is_not(None))
        .values(accepted_at=delivered.c.delivered_at)
    )

    # Orders a head rejected were stored as cancelled, the reason only in the audit trail.
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
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_pledges_approved_by_id_users"), type_="foreignkey")
        batch_op.drop_column("po_number")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("estimated_pence")

    orders = sa.table("orders", sa.column("status", sa.String))
    op.get_bind().execute(
        orders.update().where(orders.c.status == "rejected").values(status="cancelled")
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_orderstatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_orderstatus"), _status_check(OLD_STATUSES))
        batch_op.drop_constraint(op.f("fk_orders_disputed_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_orders_accepted_by_id_users"), type_="foreignkey")
        batch_op.drop_column("dispute_reason")
        batch_op.drop_column("disputed_by_id")
        batch_op.drop_column("disputed_at")
        batch_op.drop_column("accepted_by_id")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("acceptance_due_on")
        batch_op.drop_column("rejection_reason")
