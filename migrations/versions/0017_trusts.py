"""trusts: multi-academy trusts and their finance leads, a second approver role, each school's
two-step approval chain and the approvals an order has been given

Revision ID: 0017_trusts
Revises: 0016_basket
Create Date: 2026-12-06 06:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017_trusts"
down_revision = "0016_basket"
branch_labels = None
depends_on = None

OLD_ROLES = ("admin", "committee", "sbm", "head", "provider")
NEW_ROLES = (*OLD_ROLES, "trust", "governor")


def _role_check(roles):
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def upgrade():
    op.create_table(
        "trusts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("invoice_once", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusts")),
        sa.UniqueConstraint("code", name=op.f("uq_trusts_code")),
    )
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_approval_pence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("trust_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_schools_trust_id"), ["trust_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_schools_trust_id_trusts"), "trusts", ["trust_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_schools_approval_chain_in_order"),
            "second_approval_pence IS NULL OR second_approval_pence >= approval_threshold_pence",
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trust_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_trust_id"), ["trust_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_trust_id_trusts"), "trusts", ["trust_id"], ["id"]
        )
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), _role_check(NEW_ROLES))
        batch_op.drop_constraint(op.f("ck_users_school_role_has_school"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_school_role_has_school"),
            "(role NOT IN ('sbm', 'head', 'governor')) OR school_id IS NOT NULL",
        )
        batch_op.create_check_constraint(
            op.f("ck_users_trust_role_has_trust"), "(role <> 'trust') OR trust_id IS NOT NULL"
        )
    op.create_table(
        "order_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("step >= 1", name=op.f("ck_order_approvals_step_positive")),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["users.id"], name=op.f("fk_order_approvals_approver_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_approvals_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_approvals")),
        sa.UniqueConstraint("order_id", "step", name="uq_order_approvals_order_step"),
        sa.UniqueConstraint("order_id", "approver_id", name="uq_order_approvals_order_approver"),
    )
    with op.batch_alter_table("order_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_approvals_approver_id"), ["approver_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_order_approvals_order_id"), ["order_id"], unique=False)


def downgrade():
    # Trust and second-approver accounts cannot exist below this revision: refuse rather than
    # silently delete people.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM users WHERE role IN ('trust', 'governor')")).first():
        raise RuntimeError("users holds trust or governor accounts: cannot go below 0017_trusts")
    with op.batch_alter_table("order_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_approvals_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_approvals_approver_id"))
    op.drop_table("order_approvals")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_trust_role_has_trust"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_school_role_has_school"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_school_role_has_school"),
            "(role NOT IN ('sbm', 'head')) OR school_id IS NOT NULL",
        )
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), _role_check(OLD_ROLES))
        batch_op.drop_constraint(op.f("fk_users_trust_id_trusts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_trust_id"))
        batch_op.drop_column("trust_id")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_schools_approval_chain_in_order"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_schools_trust_id_trusts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_schools_trust_id"))
        batch_op.drop_column("trust_id")
        batch_op.drop_column("second_approval_pence")
    op.drop_table("trusts")
