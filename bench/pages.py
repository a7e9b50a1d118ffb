"""Where a page's time goes, in-process (issue 19): CPU time and SQL statements per request.

    python -m bench.pages --database sqlite:////tmp/demo.db [--requests 30] [--profile tender]

Reads an already seeded demo database (`flask demo seed`; any SQLAlchemy URL), signs in as the
role each page of `bench.web` is for, and requests every page through the Flask test client:
after three warm-up requests, the CPU time of this process per request (`time.process_time`,
much less disturbed by other work on a shared machine than the wall clock) and the SQL
statements one request runs. `--profile NAME` also prints a pyinstrument profile of that page
(requirements-dev). The figures cache is off (NullCache), so dashboards show the cost of their
figures as well as of drawing them.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from bench.web import PASSWORD, _pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a seeded demo database's URL")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--profile", default="", help="a page name from bench.web to profile")
    args = parser.parse_args(argv)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database,
            "SECRET_KEY": "bench-pages-key",
            "WTF_CSRF_ENABLED": False,
            "CACHE_TYPE": "NullCache",
            "CACHE_NO_NULL_WARNING": True,
        }
    )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    clients: dict[str | None, Any] = {}
    print(f"{'page':<22} {'CPU ms':>7} {'statements':>10}")
    for page in _pages(args.database):
        client = clients.get(page.role)
        if client is None:
            client = clients[page.role] = app.test_client()
            if page.role:
                signed_in = client.post("/sign-in", data={"email": page.role, "password": PASSWORD})
                if signed_in.status_code != 302:
                    raise SystemExit(f"could not sign in as {page.role}")
        for _ in range(3):
            if client.get(page.path).status_code != 200:
                raise SystemExit(f"{page.path} did not answer 200")
        started = time.process_time()
        for _ in range(args.requests):
            client.get(page.path)
        cpu_ms = (time.process_time() - started) / args.requests * 1000
        statements.clear()
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                client.get(page.path)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        print(f"{page.name:<22} {cpu_ms:>7.2f} {len(statements):>10}")
        if page.name == args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.requests):
                client.get(page.path)
            profiler.stop()
            print(profiler.output_text(color=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
