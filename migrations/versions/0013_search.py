"""search: the catalogue's full-text index (PostgreSQL tsvector, SQLite FTS5) kept by triggers

Revision ID: 0013_search
Revises: 0012_supply
Create Date: 2026-12-06 04:00:00

One search document per service: its name and category (weight A), description (B), and the
names and titles of the live offers for it and their providers (C). Triggers on services, offers
and providers rewrite a service's document in the same transaction as the change, so the index
is never behind. Neither table is a model: tests/test_database.py and env.py leave them out of
the model comparison (marketplace.catalogue.search.UNMAPPED_TABLES).
"""

# ruff: noqa: S608 - DDL put together from this file's own constants; no input reaches it.
from alembic import op

revision = "0013_search"
down_revision = "0012_supply"
branch_labels = None
depends_on = None

# The categories' labels as they were at this revision (marketplace.catalogue.models).
CATEGORY_LABELS = {
    "governance": "Governor support and clerking",
    "ect": "ECT appropriate body early career teachers induction",
    "counselling": "Counselling",
    "speech-language": "Speech and language therapy",
    "educational-psychology": "Educational psychology",
    "supply": "Supply staff",
    "hr": "HR human resources",
    "payroll": "Payroll",
    "insurance": "Insurance",
    "data-assessment": "Data and assessment",
    "cpd": "CPD and peer review",
}


def _category_label(column: str) -> str:
    whens = " ".join(f"WHEN '{value}' THEN '{label}'" for value, label in CATEGORY_LABELS.items())
    return f"(CASE {column} {whens} ELSE '' END)"


def _offers_text(service_id: str, separator: str) -> str:
    """Live offers' titles and their providers' names for one service, as one string."""
    return (
        f"(SELECT {separator} FROM offers o JOIN providers p ON p.id = o.provider_id"
        f" WHERE o.service_id = {service_id} AND o.status = 'live')"
    )


# --- PostgreSQL: a tsvector per service with a GIN index; one function rewrites a document.

PG_CATEGORY = _category_label("s.category")
PG_OFFERS = _offers_text("s.id", "string_agg(p.name || ' ' || o.title, ' ')")
PG_REFRESH = f"""
CREATE FUNCTION service_search_refresh(sid integer) RETURNS void AS $$
BEGIN
  DELETE FROM service_search WHERE service_id = sid;
  INSERT INTO service_search (service_id, document)
  SELECT s.id,
         setweight(to_tsvector('english', s.name), 'A')
         || setweight(to_tsvector('english', {PG_CATEGORY}), 'A')
         || setweight(to_tsvector('english', coalesce(s.description, '')), 'B')
         || setweight(to_tsvector('english', coalesce({PG_OFFERS}, '')), 'C')
  FROM services s WHERE s.id = sid;
END
$$ LANGUAGE plpgsql
"""

PG_TRIGGERS = [
    """
CREATE FUNCTION service_search_on_service() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM service_search WHERE service_id = OLD.id;
    RETURN OLD;
  END IF;
  PERFORM service_search_refresh(NEW.id);
  RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    """
CREATE FUNCTION service_search_on_offer() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM service_search_refresh(OLD.service_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM service_search_refresh(NEW.service_id);
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$ LANGUAGE plpgsql""",
    """
CREATE FUNCTION service_search_on_provider() RETURNS trigger AS $$
BEGIN
  PERFORM service_search_refresh(o.service_id)
    FROM (SELECT DISTINCT service_id FROM offers WHERE provider_id = NEW.id) o;
  RETURN NEW;
END
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER service_search_services AFTER INSERT OR UPDATE OR DELETE ON services"
    " FOR EACH ROW EXECUTE FUNCTION service_search_on_service()",
    "CREATE TRIGGER service_search_offers AFTER INSERT OR UPDATE OR DELETE ON offers"
    " FOR EACH ROW EXECUTE FUNCTION service_search_on_offer()",
    "CREATE TRIGGER service_search_providers AFTER UPDATE OF name ON providers"
    " FOR EACH ROW EXECUTE FUNCTION service_search_on_provider()",
]


def _postgresql_upgrade() -> None:
    op.execute(
        "CREATE TABLE service_search ( service_id integer PRIMARY KEY, document tsvector NOT NULL)"
    )
    op.execute("CREATE INDEX ix_service_search_document ON service_search USING gin (document)")
    op.execute(PG_REFRESH)
    for statement in PG_TRIGGERS:
        op.execute(statement)
    op.execute("SELECT service_search_refresh(id) FROM services")


def _postgresql_downgrade() -> None:
    for table, trigger in (
        ("services", "service_search_services"),
        ("offers", "service_search_offers"),
        ("providers", "service_search_providers"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in (
        "service_search_on_service()",
        "service_search_on_offer()",
        "service_search_on_provider()",
        "service_search_refresh(integer)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TABLE IF EXISTS service_search")


# --- SQLite: an FTS5 table (rowid = service id, Porter stemmer); triggers rewrite a row.


def _sqlite_rows(where: str) -> str:
    """Insert the search rows of the services matching `where`."""
    offers = _offers_text("s.id", "group_concat(p.name || ' ' || o.title, ' ')")
    return (
        "INSERT INTO service_search (rowid, name, description, category, offers)"
        f" SELECT s.id, s.name, coalesce(s.description, ''), {_category_label('s.category')},"
        f" coalesce({offers}, '') FROM services s WHERE {where}"
    )


def _sqlite_refresh(service_id: str) -> str:
    return (
        f"DELETE FROM service_search WHERE rowid = {service_id};\n"
        f"  {_sqlite_rows(f's.id = {service_id}')};"
    )


SQLITE_TRIGGERS = {
    "service_search_services_insert": (
        "AFTER INSERT ON services",
        _sqlite_refresh("new.id"),
    ),
    "service_search_services_update": (
        "AFTER UPDATE ON services",
        _sqlite_refresh("new.id"),
    ),
    "service_search_services_delete": (
        "AFTER DELETE ON services",
        "DELETE FROM service_search WHERE rowid = old.id;",
    ),
    "service_search_offers_insert": (
        "AFTER INSERT ON offers",
        _sqlite_refresh("new.service_id"),
    ),
    "service_search_offers_update": (
        "AFTER UPDATE ON offers",
        _sqlite_refresh("old.service_id") + "\n  " + _sqlite_refresh("new.service_id"),
    ),
    "service_search_offers_delete": (
        "AFTER DELETE ON offers",
        _sqlite_refresh("old.service_id"),
    ),
    "service_search_providers_update": (
        "AFTER UPDATE OF name ON providers",
        # A trigger has no loops: every service this provider offers, in one INSERT … SELECT.
        "DELETE FROM service_search WHERE rowid IN"
        " (SELECT service_id FROM offers WHERE provider_id = new.id);\n  "
        + _sqlite_rows("s.id IN (SELECT service_id FROM offers WHERE provider_id = new.id)")
        + ";",
    ),
}


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE service_search USING fts5("
        "name, description, category, offers, tokenize = 'porter unicode61')"
    )
    for name, (when, body) in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN\n  {body}\nEND")
    op.execute(_sqlite_rows("1 = 1"))


def _sqlite_downgrade() -> None:
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS service_search")


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        _postgresql_downgrade()
    else:
        _sqlite_downgrade()
