"""Vacancy documents: files posted with a vacancy, public while it is open.

Revision ID: 0020_vacancy_documents
Revises: 0019_provider_compliance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_vacancy_documents"
down_revision = "0019_provider_compliance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vacancy_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_vacancy_documents_size_positive")),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_vacancy_documents_vacancy_id_vacancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancy_documents")),
    )
    op.create_index(
        op.f("ix_vacancy_documents_vacancy_id"), "vacancy_documents", ["vacancy_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_vacancy_documents_vacancy_id"), table_name="vacancy_documents")
    op.drop_table("vacancy_documents")
