"""The renewal pipeline: decisions on contracts ending, reminders sent, schools' contracts
outside the partnership, and the evaluator-only reference prices and volumes of drafts
prefilled from the pipeline.

Revision ID: 0026_renewal_pipeline
Revises: 0025_contract_kpis
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026_renewal_pipeline"
down_revision = "0025_contract_kpis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("supplier_name", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("annual_value_pence", sa.BigInteger(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "annual_value_pence >= 0", name=op.f("ck_external_contracts_annual_value_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_external_contracts_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_external_contracts_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_external_contracts_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_contracts")),
    )
    with op.batch_alter_table("external_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_contracts_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_external_contracts_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "renewal_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_renewal_reminders_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_reminders")),
        sa.UniqueConstraint(
            "contract_id", "days_before", name="uq_renewal_reminders_contract_days"
        ),
    )
    with op.batch_alter_table("renewal_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renewal_reminders_contract_id"), ["contract_id"], unique=False
        )

    op.create_table(
        "reference_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(tender_id IS NULL) <> (round_id IS NULL)",
            name=op.f("ck_reference_prices_one_tender_or_round"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_reference_prices_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["buying_rounds.id"],
            name=op.f("fk_reference_prices_round_id_buying_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_reference_prices_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_reference_prices_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_prices")),
    )
    with op.batch_alter_table("reference_prices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reference_prices_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reference_prices_round_id"), ["round_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reference_prices_tender_id"), ["tender_id"], unique=False
        )

    op.create_table(
        "reference_volumes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("annual_value_pence", sa.BigInteger(), nullable=True),
        sa.Column("basis", sa.String(length=300), nullable=False),
        sa.CheckConstraint(
            "(tender_id IS NULL) <> (round_id IS NULL)",
            name=op.f("ck_reference_volumes_one_tender_or_round"),
        ),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_reference_volumes_quantity_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["buying_rounds.id"],
            name=op.f("fk_reference_volumes_round_id_buying_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_reference_volumes_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_reference_volumes_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_reference_volumes_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_volumes")),
    )
    with op.batch_alter_table("reference_volumes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reference_volumes_round_id"), ["round_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reference_volumes_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reference_volumes_tender_id"), ["tender_id"], unique=False
        )

    op.create_table(
        "renewal_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column(
            "choice",
            sa.Enum(
                "extend",
                "retender",
                "round",
                "lapse",
                name="renewalchoice",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tender_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_renewal_decisions_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_renewal_decisions_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["buying_rounds.id"],
            name=op.f("fk_renewal_decisions_round_id_buying_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_renewal_decisions_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_decisions")),
        sa.UniqueConstraint("contract_id", name=op.f("uq_renewal_decisions_contract_id")),
    )
    with op.batch_alter_table("renewal_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renewal_decisions_round_id"), ["round_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_renewal_decisions_tender_id"), ["tender_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("renewal_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewal_decisions_tender_id"))
        batch_op.drop_index(batch_op.f("ix_renewal_decisions_round_id"))

    op.drop_table("renewal_decisions")
    with op.batch_alter_table("reference_volumes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_volumes_tender_id"))
        batch_op.drop_index(batch_op.f("ix_reference_volumes_school_id"))
        batch_op.drop_index(batch_op.f("ix_reference_volumes_round_id"))

    op.drop_table("reference_volumes")
    with op.batch_alter_table("reference_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_prices_tender_id"))
        batch_op.drop_index(batch_op.f("ix_reference_prices_round_id"))
        batch_op.drop_index(batch_op.f("ix_reference_prices_contract_id"))

    op.drop_table("reference_prices")
    with op.batch_alter_table("renewal_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewal_reminders_contract_id"))

    op.drop_table("renewal_reminders")
    with op.batch_alter_table("external_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_contracts_service_id"))
        batch_op.drop_index(batch_op.f("ix_external_contracts_school_id"))

    op.drop_table("external_contracts")
