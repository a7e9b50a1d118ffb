"""Call-offs under contracts: a contract's maximum value, and whether schools that join later
may call off under it.

Revision ID: 0021_contract_calloffs
Revises: 0020_vacancy_documents
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_contract_calloffs"
down_revision = "0020_vacancy_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_pence", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "open_to_new_schools", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("open_to_new_schools")
        batch_op.drop_column("value_pence")
