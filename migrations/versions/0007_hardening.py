"""hardening: sessions end on sign-out; sign-in throttled per address and client

Revision ID: 0007_hardening
Revises: 0006_reports
Create Date: 2026-12-06 00:43:50.863349

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_hardening"
down_revision = "0006_reports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    # Throttle rows only live for a lock period: the table is remade with its new key.
    op.drop_table("login_throttles")
    op.create_table(
        "login_throttles",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", "client", name=op.f("pk_login_throttles")),
    )


def downgrade():
    op.drop_table("login_throttles")
    op.create_table(
        "login_throttles",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
