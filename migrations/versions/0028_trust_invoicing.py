"""trust_invoicing: a trust invoiced once for all its schools (its invoices, Stripe customer,
finance email and address; invoice lines name their school; a timesheet or cancelled booking
may share its trust's invoice), and explicit non-member prices per offer tier

Revision ID: 0028_trust_invoicing
Revises: 0027_provider_payments
Create Date: 2026-12-06 10:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0028_trust_invoicing"
down_revision = "0027_provider_payments"
branch_labels = None
depends_on = None

ONE_PAYER = "(school_id IS NULL) <> (trust_id IS NULL)"


def upgrade():
    with op.batch_alter_table("trusts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("finance_email", sa.String(length=254), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("address", sa.Text(), server_default="", nullable=False))

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trust_id", sa.Integer(), nullable=True))
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_invoices_trust_id"), ["trust_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_trust_id_trusts"), "trusts", ["trust_id"], ["id"]
        )
        batch_op.create_check_constraint(batch_op.f("ck_invoices_one_payer"), ONE_PAYER)

    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE invoice_lines SET school_id = "
        "(SELECT invoices.school_id FROM invoices WHERE invoices.id = invoice_lines.invoice_id)"
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_invoice_lines_school_id"), ["school_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_invoice_lines_school_id_schools"), "schools", ["school_id"], ["id"]
        )

    with op.batch_alter_table("billing_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trust_id", sa.Integer(), nullable=True))
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_billing_customers_trust_id"), ["trust_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_billing_customers_trust_id_trusts"), "trusts", ["trust_id"], ["id"]
        )
        batch_op.create_check_constraint(batch_op.f("ck_billing_customers_one_payer"), ONE_PAYER)

    with op.batch_alter_table("supply_timesheets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_supply_timesheets_invoice_id"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_supply_timesheets_invoice_id"), ["invoice_id"], unique=False
        )
    with op.batch_alter_table("supply_bookings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_supply_bookings_cancellation_invoice_id"), type_="unique"
        )
        batch_op.create_index(
            batch_op.f("ix_supply_bookings_cancellation_invoice_id"),
            ["cancellation_invoice_id"],
            unique=False,
        )

    with op.batch_alter_table("offer_tiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("non_member_unit_price_pence", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_offer_tiers_non_member_not_below_member"),
            "non_member_unit_price_pence IS NULL OR non_member_unit_price_pence >= unit_price_pence",
        )


def downgrade():
    # Trust invoices cannot exist below this revision: refuse rather than delete invoices.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM invoices WHERE trust_id IS NOT NULL")).first():
        raise RuntimeError("invoices holds trust invoices: cannot go below 0028_trust_invoicing")
    if bind.execute(sa.text("SELECT 1 FROM billing_customers WHERE trust_id IS NOT NULL")).first():
        raise RuntimeError(
            "billing_customers holds trusts' Stripe customers: cannot go below 0028_trust_invoicing"
        )

    with op.batch_alter_table("offer_tiers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_offer_tiers_non_member_not_below_member"), type_="check"
        )
        batch_op.drop_column("non_member_unit_price_pence")

    with op.batch_alter_table("supply_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_bookings_cancellation_invoice_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_supply_bookings_cancellation_invoice_id"), ["cancellation_invoice_id"]
        )
    with op.batch_alter_table("supply_timesheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_timesheets_invoice_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_supply_timesheets_invoice_id"), ["invoice_id"]
        )

    with op.batch_alter_table("billing_customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_billing_customers_one_payer"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_billing_customers_trust_id_trusts"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_billing_customers_trust_id"), type_="unique")
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("trust_id")

    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invoice_lines_school_id_schools"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_invoice_lines_school_id"))
        batch_op.drop_column("school_id")

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invoices_one_payer"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_invoices_trust_id_trusts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invoices_trust_id"))
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("trust_id")

    with op.batch_alter_table("trusts", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("finance_email")
