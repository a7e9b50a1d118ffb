"""Static assets: content-hashed names, long cache lifetimes, compressed text responses.

`npm run build` writes `app/static/dist/` with content-hashed file names
(`app.8624b31491.css`) and a `manifest.json` from each plain name to its hashed one. Templates
link them with `asset_url("app.css")`. A hashed file never changes under its name, so it is sent
with `Cache-Control: public, max-age=31536000, immutable`; everything else under /static gets
an hour.

Compression (Flask-Compress: zstd, Brotli or gzip, as the browser asks) applies to stylesheets,
scripts, SVG, CSV and JSON. HTML pages are not compressed: they carry the session's CSRF token
beside text a visitor can make the page reflect (search terms), which is what the BREACH attack
needs to read the token through compressed response sizes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for
from flask_compress import Compress

IMMUTABLE = "public, max-age=31536000, immutable"
HASHED_NAME = re.compile(r"\.[0-9a-f]{10}\.[a-z0-9]+$")
COMPRESSED_TYPES = [
    "text/css",
    "text/javascript",
    "application/javascript",
    "image/svg+xml",
    "text/csv",
    "application/json",
    "application/vnd.oai.openapi+json",
]

compress = Compress()


def _manifest(app: Flask) -> dict[str, str]:
    path = Path(app.static_folder or "", "dist", "manifest.json")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        app.logger.warning("%s is missing: run `npm run build` (make assets)", path)
        return {}
    return {str(name): str(hashed) for name, hashed in loaded.items()}


def asset_url(name: str) -> str:
    """The URL of a built asset by its plain name, e.g. asset_url("app.css")."""
    hashed = current_app.extensions["pooled_assets"].get(name, name)
    return url_for("static", filename=f"dist/{hashed}")


def _cache_static(response: Response) -> Response:
    if request.endpoint == "static" and response.status_code in (200, 304):
        if HASHED_NAME.search(request.path):
            response.headers["Cache-Control"] = IMMUTABLE
        else:
            response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def init_app(app: Flask) -> None:
    app.extensions["pooled_assets"] = _manifest(app)
    app.jinja_env.globals["asset_url"] = asset_url
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["zstd", "br", "gzip"])
    compress.init_app(app)
    app.after_request(_cache_static)
