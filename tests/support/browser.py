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
from contextlib import contextmanager
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


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
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


@contextmanager
def demo_server(backend: str, tmp: Path, **env: str) -> Iterator[LiveServer]:
    """The demo partnership on gunicorn (2 workers) on a free 127.0.0.1 port, in a fresh
    database (`flask db upgrade` then `flask demo seed`); stopped and dropped afterwards.
    `env` adds to or overrides the server's environment (e.g. Stripe settings)."""
    with fresh_database(backend, tmp) as database_url:
        server_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "POOLED_INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": "live-server-test-key",
            "STRIPE_API_KEY": "",
            **env,
        }
        server = LiveServer(url="", database_url=database_url, env=server_env)
        for command in (("db", "upgrade"), ("demo", "seed")):
            result = server.flask(*command)
            assert result.returncode == 0, result.stderr
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
                "2",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=server_env,
        )
        server.url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(server.url, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def live_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo partnership served by gunicorn (2 workers) on a free 127.0.0.1 port."""
    tmp = tmp_path_factory.mktemp(f"live-{backend}")
    with demo_server(
        backend, tmp, STRIPE_API_KEY=os.environ.get("LIVE_STRIPE_API_KEY", "")
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
    """A fresh browser context and page; a screenshot is kept under tests/screenshots/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        finally:
            context.close()


def sign_in(page: object, server: LiveServer, email: str, password: str = "pooled-demo") -> None:
    """Sign in through the real form."""
    page.goto(server.url + "/sign-in")  # type: ignore[attr-defined]
    page.get_by_label("Email address").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
