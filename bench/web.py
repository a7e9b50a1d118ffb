"""Page speed under load (issue 19): every main page against the sign-in page, in one run.

    python -m bench.web [--database postgresql://postgres@127.0.0.1:5432/postgres]
        [--workers 3] [--connections 20] [--duration 5] [--rounds 3]
        [--output bench/results/web.json]

Makes a throwaway PostgreSQL database (dropped afterwards), builds it with the migrations and
seeds the demo partnership (`flask demo seed`), serves it with gunicorn (`--workers` workers on a
free 127.0.0.1 port), signs in as the role each page is for, and loads every page with `wrk`
(Debian package `wrk`) at `--connections` concurrent connections for `--duration` seconds. The
pages are measured in interleaved rounds (sign-in, catalogue, …, sign-in, catalogue, …) so that
the machine's noise falls on all of them alike; each page's requests/s is reported as a ratio to
the sign-in page's in the same round (the sign-in page has the same layout and no data: the cost
of an empty page). Reported per page: the median over rounds of requests/s, of the ratio, and of
p50/p95/p99 latency. Targets: every page ≥ 50% of the sign-in page's requests/s (dashboards
≥ 30%) and p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "web.json"
NO_PAGE_CACHE_OUTPUT = ROOT / "bench" / "results" / "web-no-page-cache.json"
PASSWORD = "pooled-demo"  # the demo partnership's password (README)
TARGET_RATIO = 0.5
TARGET_DASHBOARD_RATIO = 0.3
TARGET_P95_MS = 100.0

# wrk reports latency percentiles in microseconds through this script's done() hook, and the
# responses that were not 200 (a redirect to the sign-in page is fast and would flatter a page):
# each thread counts its own, done() adds them up.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
not_ok = 0
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  local others = 0
  for _, thread in ipairs(threads) do others = others + thread:get("not_ok") end
  io.write(string.format(
    "RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), others))
end
"""


@dataclass(frozen=True)
class Page:
    name: str
    role: str | None  # demo login email, or None for a page served signed out
    path: str
    dashboard: bool = False


@dataclass
class Sample:
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def _database(base: str) -> tuple[str, sa.Engine, str]:
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"pooled_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin, name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _pages(database_url: str) -> list[Page]:
    """The pages of issue 19, with ids taken from the seeded demo."""
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:

        def first(sql: str) -> int:
            value = conn.exec_driver_sql(sql).scalar()
            if value is None:
                raise SystemExit(f"the demo has no row for: {sql}")
            return int(value)

        school = first("SELECT school_id FROM users WHERE email = 'sbm@demo.pooled.test'")
        service = first(
            "SELECT s.id FROM services s JOIN offers o ON o.service_id = s.id ORDER BY s.id LIMIT 1"
        )
        order = first(f"SELECT id FROM orders WHERE school_id = {school} ORDER BY id LIMIT 1")
        round_id = first("SELECT id FROM buying_rounds ORDER BY id LIMIT 1")
        tender = first("SELECT id FROM tenders WHERE published_at IS NOT NULL ORDER BY id LIMIT 1")
    engine.dispose()
    sbm, committee, provider = (
        "sbm@demo.pooled.test",
        "committee@demo.pooled.test",
        "provider@demo.pooled.test",
    )
    return [
        Page("sign-in", None, "/sign-in"),
        Page("catalogue", sbm, "/services"),
        Page("service", sbm, f"/services/{service}"),
        Page("order", sbm, f"/orders/{order}"),
        Page("orders", sbm, "/orders"),
        Page("invoices", sbm, "/invoices"),
        Page("round", sbm, f"/rounds/{round_id}"),
        Page("tender", committee, f"/tenders/{tender}"),
        Page("school dashboard", sbm, "/dashboard", dashboard=True),
        Page("partnership dashboard", committee, "/dashboard", dashboard=True),
        Page("provider dashboard", provider, "/dashboard", dashboard=True),
    ]


# Sessions are bound to the client that signed in (Flask-Login's strong session protection hashes
# the address and the User-Agent): wrk must send the User-Agent the sign-in used, or every page
# answers with a redirect to the sign-in page.
USER_AGENT = "pooled-bench-web"


def _session_cookie(base_url: str, email: str) -> str:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    form = session.get(f"{base_url}/sign-in", timeout=30)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    if match is None:
        raise SystemExit("no CSRF token on the sign-in page")
    answer = session.post(
        f"{base_url}/sign-in",
        data={"csrf_token": match.group(1), "email": email, "password": PASSWORD},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise SystemExit(f"could not sign in as {email}: {answer.status_code}")
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def _check(base_url: str, page: Page, cookie: str | None) -> None:
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    answer = requests.get(
        f"{base_url}{page.path}", headers=headers, timeout=30, allow_redirects=False
    )
    if answer.status_code != 200:
        raise SystemExit(f"{page.name} {page.path} answered {answer.status_code}")


def _wrk(url: str, cookie: str | None, connections: int, seconds: int, script: Path) -> Sample:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    command[1:1] = ["-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    total, duration_us, errors, p50, p95, p99, not_ok = (int(part) for part in line.split()[1:])
    return Sample(
        requests_per_second=total / (duration_us / 1e6),
        p50_ms=p50 / 1000,
        p95_ms=p95 / 1000,
        p99_ms=p99 / 1000,
        errors=errors + not_ok,
    )


def measure(
    database_url: str,
    workers: int,
    connections: int,
    seconds: int,
    rounds: int,
    page_cache: bool = True,
) -> list[dict[str, object]]:
    instance = Path(tempfile.mkdtemp(prefix="pooled-bench-web-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "POOLED_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "bench-web-key",
        "PAGE_CACHE": "1" if page_cache else "0",
        "STRIPE_API_KEY": "",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "seed")
    pages = _pages(database_url)
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--no-control-socket",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(f"{base_url}/sign-in", timeout=10)
                break
            except requests.RequestException:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.5)
        cookies = {
            role: _session_cookie(base_url, role) for role in {p.role for p in pages if p.role}
        }
        script = instance / "report.lua"
        script.write_text(WRK_SCRIPT)
        samples: dict[str, list[Sample]] = {page.name: [] for page in pages}
        ratios: dict[str, list[float]] = {page.name: [] for page in pages}
        for page in pages:  # warm every worker's templates and caches
            cookie = cookies.get(page.role) if page.role else None
            _check(base_url, page, cookie)
            _wrk(base_url + page.path, cookie, connections, 1, script)
        for round_number in range(1, rounds + 1):
            baseline = None
            for page in pages:
                cookie = cookies.get(page.role) if page.role else None
                sample = _wrk(base_url + page.path, cookie, connections, seconds, script)
                if sample.errors:
                    raise SystemExit(
                        f"{page.name}: {sample.errors} errors or answers other than 200 under load"
                    )
                if baseline is None:
                    baseline = sample.requests_per_second
                samples[page.name].append(sample)
                ratios[page.name].append(sample.requests_per_second / baseline)
                print(
                    f"  round {round_number} {page.name:<22} "
                    f"{sample.requests_per_second:8.1f} req/s  p95 {sample.p95_ms:6.1f} ms",
                    file=sys.stderr,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)

    rows: list[dict[str, object]] = []
    for page in pages:
        taken = samples[page.name]
        ratio = statistics.median(ratios[page.name])
        p95 = statistics.median(s.p95_ms for s in taken)
        target = TARGET_DASHBOARD_RATIO if page.dashboard else TARGET_RATIO
        rows.append(
            {
                "page": page.name,
                "path": page.path,
                "role": page.role or "signed out",
                "requests_per_second": round(
                    statistics.median(s.requests_per_second for s in taken), 1
                ),
                "ratio_to_sign_in": round(ratio, 3),
                "p50_ms": round(statistics.median(s.p50_ms for s in taken), 1),
                "p95_ms": round(p95, 1),
                "p99_ms": round(statistics.median(s.p99_ms for s in taken), 1),
                "target_ratio": target,
                "meets_targets": page.name == "sign-in"
                or (ratio >= target and p95 <= TARGET_P95_MS),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--duration", type=int, default=5, help="seconds per page per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-page-cache",
        action="store_true",
        help="render every view (PAGE_CACHE=0): the cost of a page nobody has just seen",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"default {DEFAULT_OUTPUT.name}, or {NO_PAGE_CACHE_OUTPUT.name} with --no-page-cache",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = NO_PAGE_CACHE_OUTPUT if args.no_page_cache else DEFAULT_OUTPUT
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")

    database_url, admin, name = _database(args.database)
    started = os.getloadavg()
    try:
        rows = measure(
            database_url,
            args.workers,
            args.connections,
            args.duration,
            args.rounds,
            page_cache=not args.no_page_cache,
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    print(f"{'page':<22} {'req/s':>8} {'× sign-in':>10} {'p50':>7} {'p95':>7} {'p99':>7}  target")
    for row in rows:
        print(
            f"{row['page']:<22} {row['requests_per_second']:>8} {row['ratio_to_sign_in']:>10.0%} "
            f"{row['p50_ms']:>6}ms {row['p95_ms']:>6}ms {row['p99_ms']:>6}ms  "
            f"{'met' if row['meets_targets'] else 'NOT met'}"
        )
    record = {
        "command": "python -m bench.web " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_before": [round(x, 2) for x in started],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "page_cache": not args.no_page_cache,
        "workers": args.workers,
        "connections": args.connections,
        "seconds_per_page_per_round": args.duration,
        "rounds": args.rounds,
        "targets": {
            "ratio": TARGET_RATIO,
            "dashboard_ratio": TARGET_DASHBOARD_RATIO,
            "p95_ms": TARGET_P95_MS,
        },
        "pages": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
