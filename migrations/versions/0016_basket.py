"""basket: a school's basket of offer lines, and the checkouts that send a basket as one order
per line under one purchase-order number (orders.checkout_id)

Revision ID: 0016_basket
Revises: 0015_supply_setup
Create Date: 2026-12-06 06:40:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016_basket"
down_revision = "0015_supply_setup"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "basket_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("term_key", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_basket_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_basket_lines_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_basket_lines_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_basket_lines_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basket_lines")),
        sa.UniqueConstraint(
            "school_id", "offer_id", "term_key", name=op.f("uq_basket_lines_school_id")
        ),
    )
    with op.batch_alter_table("basket_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_basket_lines_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_basket_lines_school_id"), ["school_id"], unique=False)

    op.create_table(
        "checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("po_number", sa.String(length=60), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_checkouts_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_checkouts_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkouts")),
    )
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkouts_school_id"), ["school_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkout_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_checkout_id"), ["checkout_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_checkout_id_checkouts"), "checkouts", ["checkout_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_orders_checkout_id_checkouts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_orders_checkout_id"))
        batch_op.drop_column("checkout_id")

    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkouts_school_id"))

    op.drop_table("checkouts")
    with op.batch_alter_table("basket_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_basket_lines_school_id"))
        batch_op.drop_index(batch_op.f("ix_basket_lines_offer_id"))

    op.drop_table("basket_lines")
