"""Ratings: a school's scores for one delivered order or approved timesheet week, and the
provider's one public reply.

Revision ID: 0024_ratings
Revises: 0023_contract_amendments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_ratings"
down_revision = "0023_contract_amendments"
branch_labels = None
depends_on = None


def _score_check(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"{column} >= 1 AND {column} <= 5", name=op.f(f"ck_ratings_{column}_in_range")
    )


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("timesheet_id", sa.Integer(), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("timeliness", sa.Integer(), nullable=False),
        sa.Column("communication", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("rated_by_id", sa.Integer(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply", sa.String(length=2000), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_by_id", sa.Integer(), nullable=True),
        _score_check("quality"),
        _score_check("timeliness"),
        _score_check("communication"),
        sa.CheckConstraint(
            "(order_id IS NULL) <> (timesheet_id IS NULL)",
            name=op.f("ck_ratings_one_piece_of_work"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_ratings_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_ratings_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_ratings_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_ratings_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_ratings_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_ratings_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["timesheet_id"],
            ["supply_timesheets.id"],
            name=op.f("fk_ratings_timesheet_id_supply_timesheets"),
        ),
        sa.ForeignKeyConstraint(
            ["rated_by_id"], ["users.id"], name=op.f("fk_ratings_rated_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["replied_by_id"], ["users.id"], name=op.f("fk_ratings_replied_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("order_id", name=op.f("uq_ratings_order_id")),
        sa.UniqueConstraint("timesheet_id", name=op.f("uq_ratings_timesheet_id")),
    )
    for column in ("school_id", "provider_id", "service_id", "offer_id", "contract_id"):
        op.create_index(op.f(f"ix_ratings_{column}"), "ratings", [column], unique=False)


def downgrade() -> None:
    for column in ("contract_id", "offer_id", "service_id", "provider_id", "school_id"):
        op.drop_index(op.f(f"ix_ratings_{column}"), table_name="ratings")
    op.drop_table("ratings")
