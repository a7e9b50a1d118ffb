"""A live Pooled server (gunicorn on 127.0.0.1) and headless Debian Chromium via Playwright."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import fresh_database, required

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    database_url: str
    env: dict[str, str]

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `flask` command against the live server's database."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    # Generous: on a shared two-core machine four workers can take over 30 s to boot.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/sign-in", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError("the app server did not start in time")


class DemoTemplates:
    """Demo partnerships built once per test process (and per Stripe setting, which changes
    what the seed bills), copied for each live server: seeding takes seconds, copying not."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.stack = ExitStack()
        self.urls: dict[tuple[str, bool], str] = {}

    def seeded(self, backend: str, env: dict[str, str]) -> str:
        key = (backend, bool(env.get("STRIPE_API_KEY")))
        if key not in self.urls:
            url = self.stack.enter_context(fresh_database(backend, self.tmp))
            builder = LiveServer(url="", database_url=url, env={**env, "DATABASE_URL": url})
            for command in (("db", "upgrade"), ("demo", "seed")):
                result = builder.flask(*command)
                assert result.returncode == 0, result.stderr
            self.urls[key] = url
        return self.urls[key]

    def close(self) -> None:
        self.stack.close()


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTemplates]:
    templates = DemoTemplates(tmp_path_factory.mktemp("demo-templates"))
    try:
        yield templates
    finally:
        templates.close()


@contextmanager
def demo_server(
    backend: str, tmp: Path, templates: DemoTemplates, workers: int = 2, **env: str
) -> Iterator[LiveServer]:
    """The demo partnership on gunicorn (`workers` workers) on a free 127.0.0.1 port, with a
    job-queue consumer beside it (as `make run` has), in a database of its own (a copy of one
    built by `flask db upgrade` and `flask demo seed`); stopped and dropped afterwards. `env`
    adds to or overrides the server's environment."""
    server_env = {
        **os.environ,
        "POOLED_INSTANCE_PATH": str(tmp / "instance"),
        "SECRET_KEY": "live-server-test-key",
        "STRIPE_API_KEY": "",
        # Tests write to the server's database from their own process (test clocks, fixtures),
        # behind the server's back: no page of the server's may be served from its page cache
        # (app.cache.cached_page; tests/app/test_cache.py tests the cache itself).
        "PAGE_CACHE": "0",
        **env,
    }
    template = templates.seeded(backend, server_env)
    with fresh_database(backend, tmp, template=template) as database_url:
        server_env["DATABASE_URL"] = database_url
        with _serving(
            LiveServer(url="", database_url=database_url, env=server_env), workers
        ) as server:
            yield server


@contextmanager
def empty_server(backend: str, tmp: Path, workers: int = 2, **env: str) -> Iterator[LiveServer]:
    """As `demo_server`, on an empty database (`flask db upgrade` only: no demo seed), as a
    new partnership starts with `make run DEMO=0`."""
    server_env = {
        **os.environ,
        "POOLED_INSTANCE_PATH": str(tmp / "instance"),
        "SECRET_KEY": "live-server-test-key",
        "STRIPE_API_KEY": "",
        # Tests write to the server's database from their own process (test clocks, fixtures),
        # behind the server's back: no page of the server's may be served from its page cache
        # (app.cache.cached_page; tests/app/test_cache.py tests the cache itself).
        "PAGE_CACHE": "0",
        **env,
    }
    with fresh_database(backend, tmp) as database_url:
        server_env["DATABASE_URL"] = database_url
        server = LiveServer(url="", database_url=database_url, env=server_env)
        result = server.flask("db", "upgrade")
        assert result.returncode == 0, result.stderr
        with _serving(server, workers) as running:
            yield running


@contextmanager
def _serving(server: LiveServer, workers: int) -> Iterator[LiveServer]:
    """gunicorn on a free port and a job-queue consumer, for `server`'s database."""
    server_env = server.env
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=server_env,
    )
    server.url = f"http://127.0.0.1:{port}"
    running = [process]
    try:
        _wait_until_up(server.url, process)
        # The consumer starts once the web server is up (both at once slow each other).
        consumer = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"]
        running.append(subprocess.Popen(consumer, cwd=ROOT, env=server_env))  # noqa: S603
        yield server
    finally:
        for child in running:
            child.terminate()
        for child in running:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@pytest.fixture(scope="module")
def live_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, demo_templates: DemoTemplates
) -> Iterator[LiveServer]:
    """The demo partnership served by gunicorn (2 workers) on a free 127.0.0.1 port."""
    tmp = tmp_path_factory.mktemp(f"live-{backend}")
    with demo_server(
        backend, tmp, demo_templates, STRIPE_API_KEY=os.environ.get("LIVE_STRIPE_API_KEY", "")
    ) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium; never a downloaded browser."""
    if not os.path.exists(CHROMIUM):
        reason = f"browser suite skipped: {CHROMIUM} is not installed (apt-get install chromium)"
        if required("REQUIRE_BROWSER"):
            pytest.fail(reason + " but REQUIRE_BROWSER=1")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context and page; a screenshot is kept under tests/screenshots/.

    Every page runs under the app's Content-Security-Policy: a violation Chromium reports in
    the console fails the test (`csp_violations(page)` reads them, and a test that provokes
    one on purpose clears the list).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    violations: list[str] = []
    tab.on("console", lambda message: _record_csp_violation(violations, message.text))
    _CSP_VIOLATIONS[id(tab)] = violations
    try:
        yield tab
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        finally:
            context.close()
            _CSP_VIOLATIONS.pop(id(tab), None)
    assert violations == [], f"Content-Security-Policy violations: {violations}"


_CSP_VIOLATIONS: dict[int, list[str]] = {}


def _record_csp_violation(violations: list[str], text: str) -> None:
    if "Content Security Policy" in text:
        violations.append(text)


def csp_violations(page: object) -> list[str]:
    """The CSP violations Chromium has reported on this page so far (a live list)."""
    return _CSP_VIOLATIONS[id(page)]


def sign_in(page: object, server: LiveServer, email: str, password: str = "pooled-demo") -> None:
    """Sign in through the real form."""
    page.goto(server.url + "/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    # Wait for the answer to the form (home page, or the form again with an error), so that
    # whatever the test does next does not cut the sign-in short.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
