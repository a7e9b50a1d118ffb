"""Benchmark the dashboards (issue 7): each rendered as its role on the demo partnership.

    python -m bench.dashboards [--database postgresql://postgres@127.0.0.1:5432/postgres]
        [--repeat 30] [--output bench/results/dashboards.json]

Makes a throwaway PostgreSQL database (dropped afterwards), builds it with the migrations, seeds
the demo partnership (`flask demo seed`), then renders each dashboard and one CSV per role
through the Flask test client, signed in as that role: the first request (cold: templates
compiled) is reported apart, then the median and 95th percentile of `--repeat` requests, and
the number of SQL statements one request runs. Target: every dashboard ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "dashboards.json"
TARGET_MS = 200
PAGES = [
    ("partnership", "committee@demo.pooled.test", "/dashboard"),
    ("partnership CSV", "committee@demo.pooled.test", "/dashboard/income-by-stream.csv"),
    ("school", "sbm@demo.pooled.test", "/dashboard"),
    ("school CSV", "sbm@demo.pooled.test", "/dashboard/spend-by-service.csv"),
    ("provider", "provider@demo.pooled.test", "/dashboard"),
    ("provider CSV", "provider@demo.pooled.test", "/dashboard/owed.csv"),
]


def _database(base: str) -> tuple[str, sa.Engine, str]:
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"pooled_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin, name


def _counter(statements: list[str]):
    def count(_conn: object, _cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    return count


def measure(database_url: str, repeat: int) -> list[dict[str, object]]:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
    seeded = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    rows = []
    with app.app_context():
        engine = db.engine
    for label, email, path in PAGES:
        client = app.test_client()
        signed = client.post("/sign-in", data={"email": email, "password": "pooled-demo"})
        assert signed.status_code == 302, f"could not sign in as {email}"
        start = time.perf_counter()
        response = client.get(path)
        cold_ms = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (path, response.status_code)
        statements: list[str] = []
        count = _counter(statements)
        event.listen(engine, "before_cursor_execute", count)
        client.get(path)
        event.remove(engine, "before_cursor_execute", count)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        rows.append(
            {
                "page": label,
                "as": email,
                "path": path,
                "cold_ms": round(cold_ms, 1),
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(p95, 1),
                "max_ms": round(times[-1], 1),
                "statements": len(statements),
                "bytes": len(response.data),
                "within_target": p95 <= TARGET_MS,
            }
        )
    with app.app_context():
        db.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server to make the throwaway database on",
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    url, admin, name = _database(args.database)
    try:
        rows = measure(url, args.repeat)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    print(f"Dashboards on the demo partnership, PostgreSQL, {args.repeat} requests each")
    print(f"{'page':<18}{'cold ms':>9}{'median':>9}{'p95':>9}{'max':>9}{'SQL':>6}  target")
    for row in rows:
        print(
            f"{row['page']:<18}{row['cold_ms']:>9}{row['median_ms']:>9}{row['p95_ms']:>9}"
            f"{row['max_ms']:>9}{row['statements']:>6}  "
            f"{'ok' if row['within_target'] else 'OVER'} (≤ {TARGET_MS} ms)"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "repeat": args.repeat,
                "target_ms": TARGET_MS,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"Written to {shown}")


if __name__ == "__main__":
    main()
