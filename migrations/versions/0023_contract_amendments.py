"""contract_amendments: contract changes proposed and approved by two people (price
indexation, new prices, extension, volume change) with what they changed, how far a contract
may be extended, and early termination

Revision ID: 0023_contract_amendments
Revises: 0022_mini_competitions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_contract_amendments"
down_revision = "0022_mini_competitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extension_allowed_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("terminated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("termination_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "price_indexation",
                "new_prices",
                "extension",
                "volume_change",
                name="amendmentkind",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "approved",
                "rejected",
                "withdrawn",
                name="amendmentstatus",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("indexation_bp", sa.Integer(), nullable=True),
        sa.Column("new_tiers", sa.JSON(), nullable=True),
        sa.Column("new_ends_on", sa.Date(), nullable=True),
        sa.Column("new_capacity", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("release_id", sa.String(length=80), nullable=True),
        sa.Column("amends_release_id", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_amendments_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_contract_amendments_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_contract_amendments_proposed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_amendments")),
        sa.UniqueConstraint("contract_id", "number", name="uq_contract_amendments_contract_number"),
    )
    with op.batch_alter_table("contract_amendments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_amendments_contract_id"), ["contract_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contract_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_amendments_contract_id"))
    op.drop_table("contract_amendments")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("terminated_at")
        batch_op.drop_column("termination_reason")
        batch_op.drop_column("terminated_on")
        batch_op.drop_column("extension_allowed_until")
