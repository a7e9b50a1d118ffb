"""onboarding: a partnership starts empty — its settings as a row, categories and services as
data

Revision ID: 0016_onboarding
Revises: 0015_supply_setup
Create Date: 2026-12-06 06:40:00

- `partnership_settings` (one row, made by `flask setup` or the demo seed): name, VAT number,
  invoice address, fee on traded services, a new year's defaults, bank details.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_onboarding"
down_revision = "0015_supply_setup"
branch_labels = None
depends_on = None


def _create_settings() -> None:
    op.create_table(
        "partnership_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vat_number", sa.String(length=20), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("fee_bp", sa.Integer(), nullable=False),
        sa.Column("default_rate_per_pupil_pence", sa.Integer(), nullable=False),
        sa.Column("default_cap_pence", sa.Integer(), nullable=True),
        sa.Column("default_council_match_bp", sa.Integer(), nullable=False),
        sa.Column("bank_account_name", sa.String(length=100), nullable=False),
        sa.Column("bank_sort_code", sa.String(length=8), nullable=False),
        sa.Column("bank_account_number", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "default_council_match_bp >= 0 AND default_council_match_bp <= 20000",
            name=op.f("ck_partnership_settings_default_match_in_range"),
        ),
        sa.CheckConstraint(
            "default_rate_per_pupil_pence >= 0",
            name=op.f("ck_partnership_settings_default_rate_not_negative"),
        ),
        sa.CheckConstraint(
            "fee_bp >= 0 AND fee_bp <= 10000", name=op.f("ck_partnership_settings_fee_in_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership_settings")),
    )



def upgrade():
    _create_settings()


def downgrade():
    op.drop_table("partnership_settings")
