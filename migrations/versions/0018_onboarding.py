"""onboarding: a partnership starts empty — its settings as a row, categories and services as
data

Revision ID: 0018_onboarding
Revises: 0017_trusts
Create Date: 2026-12-06 06:40:00

- `partnership_settings` (one row, made by `flask setup` or the demo seed): name, VAT number,
  invoice address, fee on traded services, a new year's defaults, bank details.
- `service_categories` (slug, name, description, retired) made from the fixed categories of
  before, with their labels; `services.category_id` filled from `services.category`, which goes.
  `services.includes`: what a core service's subscription includes.
- The catalogue's search index (0013_search) took a category's label from a CASE on
  `services.category`: its functions and triggers are made again to take the category's name
  and description from `service_categories`, and a trigger there rewrites the documents of a
  category's services when it is renamed or described anew.
"""

# ruff: noqa: S608 - DDL put together from this file's own constants; no input reaches it.
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0018_onboarding"
down_revision = "0017_trusts"
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



# The categories as they were fixed in code before this revision (slug, name, description).
CATEGORIES = [
    ("governance", "Governor support and clerking", "Clerking, governor training and advice."),
    (
        "ect",
        "ECT appropriate body",
        "Statutory induction of early career teachers: appropriate body registration and"
        " quality assurance.",
    ),
    ("counselling", "Counselling", "Counsellors for pupils, bought by the day."),
    ("speech-language", "Speech and language therapy", ""),
    ("educational-psychology", "Educational psychology", ""),
    ("supply", "Supply staff", "Cover teachers and support staff through the managed service."),
    ("hr", "HR", "Human resources advice, casework and policies."),
    ("payroll", "Payroll", ""),
    ("insurance", "Insurance", ""),
    ("data-assessment", "Data and assessment", ""),
    ("cpd", "CPD and peer review", ""),
]


def _create_categories() -> None:
    op.create_table(
        "service_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_service_categories_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_service_categories_slug")),
    )
    # Only the categories services use: a new database starts with none (the admin, the CSV
    # import or the demo seed makes them).
    for slug, name, description in CATEGORIES:
        op.execute(
            sa.text(
                "INSERT INTO service_categories (slug, name, description, retired, created_at)"
                " SELECT :slug, :name, :description, false, CURRENT_TIMESTAMP"
                " WHERE EXISTS (SELECT 1 FROM services WHERE category = :slug)"
            ).bindparams(slug=slug, name=name, description=description)
        )


# --- The search index, taking the category from service_categories.

CATEGORY_TEXT = (
    "(SELECT c.name || ' ' || c.description FROM service_categories c WHERE c.id = s.category_id)"
)


def _offers_text(separator: str) -> str:
    """Live offers' titles and their providers' names for one service, as one string."""
    return (
        f"(SELECT {separator} FROM offers o JOIN providers p ON p.id = o.provider_id"
        " WHERE o.service_id = s.id AND o.status = 'live')"
    )


PG_REFRESH = f"""
CREATE FUNCTION service_search_refresh(sid integer) RETURNS void AS $$
BEGIN
  DELETE FROM service_search WHERE service_id = sid;
  INSERT INTO service_search (service_id, document)
  SELECT s.id,
         setweight(to_tsvector('english', s.name), 'A')
         || setweight(to_tsvector('english', coalesce({CATEGORY_TEXT}, '')), 'A')
         || setweight(to_tsvector('english', coalesce(s.description, '')), 'B')
         || setweight(to_tsvector('english',
              coalesce({_offers_text("string_agg(p.name || ' ' || o.title, ' ')")}, '')), 'C')
  FROM services s WHERE s.id = sid;
END
$$ LANGUAGE plpgsql
"""

PG_CATEGORY_TRIGGER = [
    """
CREATE FUNCTION service_search_on_category() RETURNS trigger AS $$
BEGIN
  PERFORM service_search_refresh(s.id) FROM services s WHERE s.category_id = NEW.id;
  RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER service_search_categories AFTER UPDATE OF name, description"
    " ON service_categories FOR EACH ROW EXECUTE FUNCTION service_search_on_category()",
]


def _sqlite_rows(where: str) -> str:
    offers = _offers_text("group_concat(p.name || ' ' || o.title, ' ')")
    return (
        "INSERT INTO service_search (rowid, name, description, category, offers)"
        f" SELECT s.id, s.name, coalesce(s.description, ''), coalesce({CATEGORY_TEXT}, ''),"
        f" coalesce({offers}, '') FROM services s WHERE {where}"
    )


def _sqlite_refresh(service_id: str) -> str:
    return (
        f"DELETE FROM service_search WHERE rowid = {service_id};\n"
        f"  {_sqlite_rows(f's.id = {service_id}')};"
    )


SQLITE_TRIGGERS = {
    "service_search_services_insert": ("AFTER INSERT ON services", _sqlite_refresh("new.id")),
    "service_search_services_update": ("AFTER UPDATE ON services", _sqlite_refresh("new.id")),
    "service_search_services_delete": (
        "AFTER DELETE ON services",
        "DELETE FROM service_search WHERE rowid = old.id;",
    ),
    "service_search_offers_insert": ("AFTER INSERT ON offers", _sqlite_refresh("new.service_id")),
    "service_search_offers_update": (
        "AFTER UPDATE ON offers",
        _sqlite_refresh("old.service_id") + "\n  " + _sqlite_refresh("new.service_id"),
    ),
    "service_search_offers_delete": ("AFTER DELETE ON offers", _sqlite_refresh("old.service_id")),
    "service_search_providers_update": (
        "AFTER UPDATE OF name ON providers",
        "DELETE FROM service_search WHERE rowid IN"
        " (SELECT service_id FROM offers WHERE provider_id = new.id);\n  "
        + _sqlite_rows("s.id IN (SELECT service_id FROM offers WHERE provider_id = new.id)")
        + ";",
    ),
    "service_search_categories_update": (
        "AFTER UPDATE OF name, description ON service_categories",
        "DELETE FROM service_search WHERE rowid IN"
        " (SELECT id FROM services WHERE category_id = new.id);\n  "
        + _sqlite_rows("s.category_id = new.id")
        + ";",
    ),
}


def _revision_0013():
    """0013_search as a module: its triggers are what a downgrade puts back."""
    path = Path(__file__).with_name("0013_search.py")
    spec = importlib.util.spec_from_file_location("pooled_migration_0013_search", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drop_search_triggers(postgresql: bool) -> None:
    """The triggers and functions of 0013 or of this revision (the index table stays)."""
    if postgresql:
        for table, trigger in (
            ("services", "service_search_services"),
            ("offers", "service_search_offers"),
            ("providers", "service_search_providers"),
            ("service_categories", "service_search_categories"),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for function in ("service_search_on_category()", "service_search_refresh(integer)"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _create_search_triggers(postgresql: bool) -> None:
    if postgresql:
        # The trigger functions on services, offers and providers call service_search_refresh
        # by name: 0013's stay; only the refresh function is new (and the category trigger).
        old = _revision_0013()
        op.execute(PG_REFRESH)
        for statement in old.PG_TRIGGERS[3:]:  # the CREATE TRIGGERs (functions were kept)
            op.execute(statement)
        for statement in PG_CATEGORY_TRIGGER:
            op.execute(statement)
        op.execute("SELECT service_search_refresh(id) FROM services")
    else:
        for name, (when, body) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN\n  {body}\nEND")
        op.execute("DELETE FROM service_search")
        op.execute(_sqlite_rows("1 = 1"))


def upgrade():
    postgresql = op.get_context().dialect.name == "postgresql"
    _create_settings()
    _create_categories()
    # Before services changes: on SQLite the batch copy drops the table's triggers with it.
    _drop_search_triggers(postgresql)
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("includes", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE services SET category_id ="
        " (SELECT c.id FROM service_categories c WHERE c.slug = services.category)"
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.alter_column("category_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("includes", server_default=None)
        batch_op.drop_constraint(batch_op.f("ck_services_category"), type_="check")
        batch_op.drop_column("category")
        batch_op.create_index(batch_op.f("ix_services_category_id"), ["category_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_services_category_id_service_categories"),
            "service_categories",
            ["category_id"],
            ["id"],
        )
    _create_search_triggers(postgresql)


def downgrade():
    postgresql = op.get_context().dialect.name == "postgresql"
    old = _revision_0013()
    _drop_search_triggers(postgresql)
    slugs = [slug for slug, _name, _description in CATEGORIES]
    bind = op.get_bind()
    extra = bind.execute(
        sa.text(
            "SELECT count(*) FROM services s JOIN service_categories c ON c.id = s.category_id"
            " WHERE c.slug NOT IN :slugs"
        ).bindparams(sa.bindparam("slugs", expanding=True)),
        {"slugs": slugs},
    ).scalar()
    if extra:
        raise RuntimeError(
            "services are in categories made after 0018_onboarding: cannot go below it"
        )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=30), nullable=True))
    op.execute(
        "UPDATE services SET category ="
        " (SELECT c.slug FROM service_categories c WHERE c.id = services.category_id)"
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_services_category_id_service_categories"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_services_category_id"))
        batch_op.drop_column("category_id")
        batch_op.drop_column("includes")
        batch_op.alter_column("category", existing_type=sa.String(length=30), nullable=False)
        batch_op.create_check_constraint(
            "category", sa.column("category").in_(slugs)
        )
    if postgresql:
        op.execute(old.PG_REFRESH)
        for statement in old.PG_TRIGGERS[3:]:
            op.execute(statement)
        op.execute("SELECT service_search_refresh(id) FROM services")
    else:
        for name, (when, body) in old.SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN\n  {body}\nEND")
        op.execute("DELETE FROM service_search")
        op.execute(old._sqlite_rows("1 = 1"))
    op.drop_table("service_categories")
    op.drop_table("partnership_settings")
