"""cfr codes: the finance code (CFR code or cost centre) a school gives each service

Revision ID: 0014_cfr_codes
Revises: 0013_search
Create Date: 2026-12-06 04:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014_cfr_codes"
down_revision = "0013_search"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_finance_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_service_finance_codes_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_finance_codes_service_id_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_finance_codes")),
        sa.UniqueConstraint(
            "school_id", "service_id", name=op.f("uq_service_finance_codes_school_id")
        ),
    )
    with op.batch_alter_table("service_finance_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_finance_codes_school_id"), ["school_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("service_finance_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_finance_codes_school_id"))
    op.drop_table("service_finance_codes")
