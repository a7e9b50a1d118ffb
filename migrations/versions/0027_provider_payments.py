"""Provider payments: payments out to providers, recorded by hand or from a bank file; the
partnership's payment term for providers (days after the month of delivery) in its settings.

Revision ID: 0027_provider_payments
Revises: 0026_renewal_pipeline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_provider_payments"
down_revision = "0026_renewal_pipeline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partnership_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "provider_payment_days", sa.Integer(), nullable=False, server_default=sa.text("30")
            )
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_partnership_settings_payment_days_in_range"),
            "provider_payment_days >= 0 AND provider_payment_days <= 365",
        )
    op.create_table(
        "provider_payment_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("total_pence", sa.BigInteger(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["users.id"],
            name=op.f("fk_provider_payment_imports_imported_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_payment_imports")),
    )
    op.create_index(
        op.f("ix_provider_payment_imports_sha256"),
        "provider_payment_imports",
        ["sha256"],
        unique=False,
    )
    op.create_table(
        "provider_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("payee", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "manual",
                "import",
                name="paymentsource",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_provider_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["provider_payment_imports.id"],
            name=op.f("fk_provider_payments_import_id_provider_payment_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_payments_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_provider_payments_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_payments")),
        sa.UniqueConstraint(
            "provider_id", "reference", name=op.f("uq_provider_payments_provider_id")
        ),
    )
    op.create_index(
        op.f("ix_provider_payments_provider_id"), "provider_payments", ["provider_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_payments_paid_on"), "provider_payments", ["paid_on"], unique=False
    )
    op.create_index(
        op.f("ix_provider_payments_import_id"), "provider_payments", ["import_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_provider_payments_import_id"), table_name="provider_payments")
    op.drop_index(op.f("ix_provider_payments_paid_on"), table_name="provider_payments")
    op.drop_index(op.f("ix_provider_payments_provider_id"), table_name="provider_payments")
    op.drop_table("provider_payments")
    op.drop_index(op.f("ix_provider_payment_imports_sha256"), table_name="provider_payment_imports")
    op.drop_table("provider_payment_imports")
    with op.batch_alter_table("partnership_settings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_partnership_settings_payment_days_in_range"), type_="check"
        )
        batch_op.drop_column("provider_payment_days")
