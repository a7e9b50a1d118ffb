"""pledge steps: a round's standard quantity — schools pledge each service in whole blocks of it
(issue 18), so equal pledges merge in the aggregator.

Revision ID: 0029_pledge_steps
Revises: 0028_trust_invoicing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_pledge_steps"
down_revision = "0028_trust_invoicing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("round_services") as batch:
        batch.add_column(
            sa.Column("pledge_step", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_round_services_pledge_step_positive"), "pledge_step >= 1"
        )


def downgrade() -> None:
    with op.batch_alter_table("round_services") as batch:
        batch.drop_constraint(op.f("ck_round_services_pledge_step_positive"), type_="check")
        batch.drop_column("pledge_step")
