"""WCAG 2.2 AA: axe-core run in Chromium on every page each role reaches, at 1280 and 375 px.

axe-core comes from npm (package.json devDependency, `node_modules/axe-core/axe.min.js`) and
is read into each page by the test, never served by the app or kept in the repository. Pages
are found by following links from each role's home page (GET only; one page per route, ids
folded, so `/orders/7` and `/orders/8` count once; no downloads). A serious or critical
violation fails the test.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.databases import postgres_base_url, required
from tests.support.browser import ROOT, sign_in

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 375)
# Every page at both widths in one CI run, for half the time: the pages are the same on either
# database, so each backend's run scans its own width (both when PostgreSQL is not configured).
WIDTHS_BY_BACKEND = {"sqlite": (1280,), "postgresql": (375,)}
FAILING_IMPACTS = {"serious", "critical"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MAX_PAGES_PER_ROLE = 80
# Not pages: downloads, the webhook, signing out.
# Files, feeds, and an email's HTML shown in a sandbox where no script (nor axe) can run.
NOT_A_PAGE = re.compile(
    r"\.(pdf|csv|json|atom|png|svg|js|css)$|^/sign-out|^/stripe/|^/static/|^/admin/outbox/\d+/html$"
)

ROLES = {
    "anonymous": None,
    "admin": "admin@demo.pooled.test",
    "committee": "committee@demo.pooled.test",
    "sbm": "sbm@demo.pooled.test",
    "head": "head@demo.pooled.test",
    "provider": "provider@demo.pooled.test",
    "trust": "trust@demo.pooled.test",
    "governor": "governor@demo.pooled.test",
}
ANONYMOUS_PAGES = ["/sign-in", "/help", "/accessibility"]


def axe_source() -> str:
    if not AXE.exists():
        reason = f"accessibility scan skipped: {AXE} is missing (npm ci installs axe-core)"
        if required("REQUIRE_BROWSER"):
            pytest.fail(reason + " but REQUIRE_BROWSER=1")
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


def route_of(path: str) -> str:
    """One page per route: numbers folded (`/orders/12` → `/orders/N`)."""
    return re.sub(r"\d+", "N", path)


def links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        url, _ = urldefrag(href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin or NOT_A_PAGE.search(parts.path):
            continue
        found.append(parts.path)  # query strings (filters, pages) are the same page
    return found


def scan(page, source: str) -> list[dict]:
    """axe's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    results = page.evaluate(
        "tags => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def describe(role: str, path: str, width: int, violation: dict) -> str:
    nodes = "; ".join(
        f"{' '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}"
        for node in violation["nodes"][:3]
    )
    return f"{role} {path} @{width}px [{violation['impact']}] {violation['id']}: {nodes}"


# Routes already scanned in this run, per server: a page every role reaches (the help guides,
# a tender) is scanned by the first role that gets there; the others still crawl through it.
SCANNED_ROUTES: dict[str, set[str]] = {}


def crawl_and_scan(
    page, server, role: str, source: str, widths: tuple[int, ...] = WIDTHS
) -> tuple[list[str], list[str]]:
    """(pages reached, violations) for one role; each route is scanned once per server."""
    start = ANONYMOUS_PAGES if ROLES[role] is None else ["/home"]
    if ROLES[role] is not None:
        sign_in(page, server, ROLES[role])
    queue = deque(start)
    seen_routes: set[str] = set()
    scanned: list[str] = []
    problems: list[str] = []
    while queue and len(scanned) < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        if route_of(path) in seen_routes:
            continue
        seen_routes.add(route_of(path))
        try:
            response = page.goto(server.url + path)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue  # a file (a tender document), not a page
            raise
        if response is None or response.status >= 400 or not page.url.startswith(server.url):
            continue
        if ROLES[role] is not None and urlsplit(page.url).path == "/sign-in":
            continue  # signed out by a page, should not happen
        scanned.append(path)
        done = SCANNED_ROUTES.setdefault(server.url, set())
        if route_of(path) not in done:
            done.add(route_of(path))
            for width in widths:
                page.set_viewport_size({"width": width, "height": 900})
                problems += [describe(role, path, width, v) for v in scan(page, source)]
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        if ROLES[role] is not None:
            queue.extend(link for link in links(page, server.url) if link != "/sign-in")
    return scanned, problems


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_has_no_serious_or_critical_accessibility_problems(
    live_server, page, role, backend
):
    source = axe_source()
    widths = WIDTHS if postgres_base_url() is None else WIDTHS_BY_BACKEND[backend]
    scanned, problems = crawl_and_scan(page, live_server, role, source, widths)
    print(f"{role}: {len(scanned)} pages scanned at {widths} px")
    assert len(scanned) >= (3 if role == "anonymous" else 8), scanned
    assert problems == [], "\n".join(problems)


def test_the_scan_finds_a_problem_when_there_is_one(live_server, page):
    source = axe_source()
    page.goto(live_server.url + "/sign-in")
    page.evaluate("() => document.querySelector('input[type=password]').labels[0].remove()")
    assert [v["id"] for v in scan(page, source)] == ["label"]
