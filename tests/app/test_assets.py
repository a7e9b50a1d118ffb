"""Built assets: hashed names linked from every page, kept a year by browsers, compressed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import brotli

from app.assets import IMMUTABLE

DIST = Path(__file__).resolve().parents[2] / "app" / "static" / "dist"


def manifest() -> dict[str, str]:
    return json.loads((DIST / "manifest.json").read_text())


def linked_assets(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/dist/[^"]+)"', html)


def test_every_page_links_the_hashed_files_of_the_manifest(client):
    links = linked_assets(client.get("/sign-in").get_data(as_text=True))
    expected = {f"/static/dist/{manifest()[name]}" for name in ("app.css", "app.js")}
    expected.add(f"/static/dist/{manifest()['images/favicon.svg']}")
    assert set(links) == expected
    for name, hashed in manifest().items():
        assert hashed != name and re.search(r"\.[0-9a-f]{10}\.", hashed), hashed
        assert (DIST / hashed).is_file()
        assert not (DIST / name).exists(), f"{name} is shipped under its plain name too"


def test_a_hashed_file_is_kept_for_a_year_and_others_for_an_hour(client):
    hashed = client.get(f"/static/dist/{manifest()['app.css']}")
    assert hashed.status_code == 200
    assert hashed.headers["Cache-Control"] == IMMUTABLE
    plain = client.get("/static/dist/manifest.json")
    assert plain.headers["Cache-Control"] == "public, max-age=3600"
    assert client.get("/static/dist/app.css").status_code == 404


def test_the_script_imports_govuk_frontend_by_its_hashed_name(client):
    script = client.get(f"/static/dist/{manifest()['app.js']}").get_data(as_text=True)
    assert f'from "./{manifest()["govuk-frontend.min.js"]}"' in script
    assert client.get(f"/static/dist/{manifest()['govuk-frontend.min.js']}").status_code == 200


def test_stylesheets_are_compressed_as_the_browser_asks(client):
    path = f"/static/dist/{manifest()['app.css']}"
    original = (DIST / manifest()["app.css"]).read_bytes()
    with_br = client.get(path, headers={"Accept-Encoding": "br"})
    assert with_br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(with_br.get_data()) == original
    assert len(with_br.get_data()) < len(original) / 4
    plain = client.get(path)
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == original


def test_html_pages_are_not_compressed_so_the_csrf_token_cannot_leak_by_size(client, csrf_enabled):
    page = client.get("/sign-in", headers={"Accept-Encoding": "br, gzip"})
    assert page.status_code == 200
    assert "Content-Encoding" not in page.headers
    assert "csrf_token" in page.get_data(as_text=True)
