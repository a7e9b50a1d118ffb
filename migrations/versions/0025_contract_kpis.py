"""Contract KPIs: targets, providers' quarterly returns and the committee's actions.

Revision ID: 0025_contract_kpis
Revises: 0024_ratings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_contract_kpis"
down_revision = "0024_ratings"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=30)


def upgrade() -> None:
    op.create_table(
        "contract_kpis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _enum("kpikind", "on_time_delivery", "fill_rate", "satisfaction", "custom"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", _enum("kpiunit", "percent", "score", "count"), nullable=False),
        sa.Column("target_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("direction", _enum("direction", "higher", "lower"), nullable=False),
        sa.Column("source", _enum("kpisource", "computed", "provider_return"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "target_hundredths >= 0", name=op.f("ck_contract_kpis_target_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_kpis_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_kpis")),
    )
    with op.batch_alter_table("contract_kpis", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_kpis_contract_id"), ["contract_id"], unique=False
        )

    op.create_table(
        "kpi_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("value_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("value_hundredths >= 0", name=op.f("ck_kpi_returns_value_not_negative")),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["contract_kpis.id"], name=op.f("fk_kpi_returns_kpi_id_contract_kpis")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_kpi_returns_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_kpi_returns_submitted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_returns")),
        sa.UniqueConstraint("kpi_id", "quarter", name="uq_kpi_returns_kpi_quarter"),
    )
    with op.batch_alter_table("kpi_returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_returns_kpi_id"), ["kpi_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_kpi_returns_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "kpi_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("value_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("target_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("status", _enum("actionstatus", "open", "closed"), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["contract_kpis.id"], name=op.f("fk_kpi_actions_kpi_id_contract_kpis")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_kpi_actions_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_kpi_actions_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_kpi_actions_closed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_actions")),
        sa.UniqueConstraint("kpi_id", "quarter", name="uq_kpi_actions_kpi_quarter"),
    )
    with op.batch_alter_table("kpi_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_actions_kpi_id"), ["kpi_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_kpi_actions_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kpi_actions_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kpi_actions_status"), ["status"], unique=False)


def downgrade() -> None:
    for table, columns in (
        ("kpi_actions", ("kpi_id", "contract_id", "provider_id", "status")),
        ("kpi_returns", ("kpi_id", "provider_id")),
        ("contract_kpis", ("contract_id",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
