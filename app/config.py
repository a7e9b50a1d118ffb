"""Configuration read from the environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url_from_env(instance_path: str) -> str:
    """The SQLAlchemy URL: DATABASE_URL if set (PostgreSQL via psycopg 3), else SQLite."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "pooled.sqlite3")
    # Heroku-style and plain URLs name no driver; we use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key_from_env(instance_path: str) -> str:
    """SECRET_KEY, or a key kept in the instance folder so every worker shares it."""
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as fh:  # first process to get here writes it
            fh.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    return path.read_text().strip()


class Config:
    """Settings for every environment; production ones come from the environment."""

    PARTNERSHIP_NAME = os.environ.get("PARTNERSHIP_NAME", "Ealing Learning Partnership")
    # On every PDF (invoices, credit notes, confirmations, statements); lines split on "|".
    PARTNERSHIP_ADDRESS = os.environ.get(
        "PARTNERSHIP_ADDRESS", "Perceval House|14-16 Uxbridge Road|London|W5 2HL"
    )
    PARTNERSHIP_VAT_NUMBER = os.environ.get("PARTNERSHIP_VAT_NUMBER", "GB 123 4567 89")
    # Where people ask for help or report an accessibility problem (the accessibility statement).
    PARTNERSHIP_EMAIL = os.environ.get("PARTNERSHIP_EMAIL", "office@elp.demo.pooled.test")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Session cookies: never readable by scripts, not sent cross-site, HTTPS-only in production.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", False)
    # How many reverse proxies stand in front of gunicorn: their X-Forwarded-For/-Proto are
    # then trusted for the client's address (sign-in throttling) and HTTPS (HSTS).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Longer addresses get a styled 414 page (gunicorn.conf.py lets them reach the app).
    MAX_URL_LENGTH = 4096
    # Failed sign-ins: this many within the window from one client locks the address for that
    # client for LOGIN_LOCK_MINUTES…
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_WINDOW_MINUTES = int(os.environ.get("LOGIN_WINDOW_MINUTES", "15"))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))
    # …and this many failures from one client across all addresses lock that client.
    LOGIN_CLIENT_MAX_FAILURES = int(os.environ.get("LOGIN_CLIENT_MAX_FAILURES", "20"))
    STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    # The partnership's fee on what providers are paid, in basis points (500 = 5%).
    PARTNERSHIP_FEE_BP = int(os.environ.get("PARTNERSHIP_FEE_BP", "500"))
    DEMO_DATA_DIR = os.environ.get(
        "POOLED_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data")
    )
