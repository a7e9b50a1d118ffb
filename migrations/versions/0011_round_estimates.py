"""round estimates: indicative prices worked out by a job when pledges change, read by pages

Revision ID: 0011_round_estimates
Revises: 0010_notifications
Create Date: 2026-12-06 04:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_round_estimates"
down_revision = "0010_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "round_estimates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["buying_rounds.id"],
            name=op.f("fk_round_estimates_round_id_buying_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_estimates")),
        sa.UniqueConstraint("round_id", name=op.f("uq_round_estimates_round_id")),
    )


def downgrade():
    op.drop_table("round_estimates")
