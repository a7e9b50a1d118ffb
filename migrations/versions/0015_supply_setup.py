"""supply_setup: the rate card keeps its history — a rate a proposal was priced at is marked
replaced instead of changed, and one current rate per cell

Revision ID: 0015_supply_setup
Revises: 0014_cfr_codes
Create Date: 2026-12-06 05:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_supply_setup"
down_revision = "0014_cfr_codes"
branch_labels = None
depends_on = None

CELL = ["contract_id", "provider_id", "role", "unit", "weighting"]


def upgrade():
    with op.batch_alter_table("supply_rates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch_op.add_column(sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_supply_rates_cell", type_="unique")
    with op.batch_alter_table("supply_rates", schema=None) as batch_op:
        batch_op.alter_column("created_at", server_default=None)
        batch_op.create_index(
            "uq_supply_rates_current_cell",
            CELL,
            unique=True,
            sqlite_where=sa.text("replaced_at IS NULL"),
            postgresql_where=sa.text("replaced_at IS NULL"),
        )


def downgrade():
    # Replaced rates go with the history: proposals priced at one would lose it, so refuse.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM supply_rates WHERE replaced_at IS NOT NULL")).first():
        raise RuntimeError("supply_rates holds replaced rates: cannot go below 0015_supply_setup")
    with op.batch_alter_table("supply_rates", schema=None) as batch_op:
        batch_op.drop_index("uq_supply_rates_current_cell")
        batch_op.create_unique_constraint("uq_supply_rates_cell", CELL)
        batch_op.drop_column("replaced_at")
        batch_op.drop_column("created_at")
