"""The catalogue's full-text search, on each database's own index (migrations 0013_search and
0018_onboarding, which takes each service's category name and description from
service_categories and reindexes a category's services when it is renamed).

PostgreSQL: `service_search.document`, a tsvector in the `english` configuration with a GIN
index. SQLite: `service_search`, an FTS5 table with the Porter stemmer, rowid = service id.
Triggers on services, offers and providers keep both in step; neither table is a model.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from marketplace.catalogue import words

# Tables the migrations make that no model maps: the schema comparison leaves them out (SQLite
# adds FTS5's shadow tables service_search_data, _idx, _content, _docsize and _config).
UNMAPPED_TABLE_PREFIX = "service_search"


def is_unmapped_table(name: str | None) -> bool:
    return bool(name) and (name or "").startswith(UNMAPPED_TABLE_PREFIX)


# Column weights for SQLite's bm25: name, description, category, live offers and providers,
# in the proportions of PostgreSQL's ts_rank weights A, B, A, C.
_SQLITE = sa.text(
    "SELECT rowid AS service_id, -bm25(service_search, 1.0, 0.4, 1.0, 0.2) AS rank"
    " FROM service_search WHERE service_search MATCH :query"
)
_POSTGRESQL = sa.text(
    "SELECT service_id, ts_rank(document, to_tsquery('english', :query)) AS rank"
    " FROM service_search WHERE document @@ to_tsquery('english', :query)"
)


def matching_services(text: str) -> sa.Subquery | None:
    """(service_id, rank) of the services matching `text`, higher rank first; None when the
    text has no words to search for."""
    terms = words.parse(text)
    if not terms:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        statement = _POSTGRESQL.bindparams(query=words.postgres_tsquery(terms))
    else:
        statement = _SQLITE.bindparams(query=words.fts5_query(terms))
    return statement.columns(service_id=sa.Integer, rank=sa.Float).subquery("search")
