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
    # The partnership's own local authority code (e.g. "307" for Ealing): the GIAS import's
    # filter starts with it. Empty: the code most of the member schools (else all schools) have.
    PARTNERSHIP_LA = os.environ.get("PARTNERSHIP_LA", "")
    # How long an uploaded GIAS file waits for the admin to confirm its preview.
    GIAS_PREVIEW_MINUTES = int(os.environ.get("GIAS_PREVIEW_MINUTES", "60"))
    # The partnership pays providers this many days after the end of the month of delivery
    # (marketplace.payouts.rules): an item unpaid after that is overdue. Until the partnership's
    # settings exist (then they hold it).
    PROVIDER_PAYMENT_DAYS = int(os.environ.get("PROVIDER_PAYMENT_DAYS", "30"))
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
    # Working days (London) a school has to confirm receipt of a delivery or dispute it.
    DELIVERY_DISPUTE_WORKING_DAYS = int(os.environ.get("DELIVERY_DISPUTE_WORKING_DAYS", "5"))
    # The partnership's fee on what providers are paid, in basis points (500 = 5%).
    PARTNERSHIP_FEE_BP = int(os.environ.get("PARTNERSHIP_FEE_BP", "500"))
    # Email. Without MAIL_SERVER every email is written as an .eml file under instance/mail/
    # (admins read them on the Outbox page).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "").strip()
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _flag("MAIL_USE_TLS", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Pooled <no-reply@pooled.test>")
    # A send claimed longer ago than this (its worker died mid-send) may be taken over.
    MAIL_CLAIM_SECONDS = float(os.environ.get("MAIL_CLAIM_SECONDS", "120"))
    # Where .eml files go without MAIL_SERVER (default: instance/mail/).
    MAIL_FOLDER = os.environ.get("MAIL_FOLDER", "")
    # Links in emails start with this (no trailing slash).
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    # Password-reset requests per address per hour before further requests send nothing.
    PASSWORD_RESET_MAX_PER_HOUR = int(os.environ.get("PASSWORD_RESET_MAX_PER_HOUR", "3"))
    DEMO_DATA_DIR = os.environ.get(
        "POOLED_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data")
    )
    # Background jobs (huey). REDIS_URL set: the queue lives in Redis and consumers may run on
    # many hosts; else in a SQLite file (JOBS_SQLITE_PATH, default instance/jobs.sqlite3).
    REDIS_URL = os.environ.get("REDIS_URL", "").strip()
    # Pages a person has just seen are served again from the cache until the next write
    # (app.cache.cached_page); PAGE_CACHE=0 renders every view (bench.web --no-page-cache).
    PAGE_CACHE = _flag("PAGE_CACHE", True)
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "60"))
    JOBS_SQLITE_PATH = os.environ.get("JOBS_SQLITE_PATH", "").strip()
    JOBS_QUEUE_NAME = os.environ.get("JOBS_QUEUE_NAME", "pooled").strip() or "pooled"
    # Run every job inline when its session commits, with no consumer (tests, debugging).
    JOBS_IMMEDIATE = _flag("JOBS_IMMEDIATE", False)
    # More modules that define tasks, comma-separated (the job tests' own tasks).
    JOBS_EXTRA_MODULES = tuple(
        m.strip() for m in os.environ.get("JOBS_EXTRA_MODULES", "").split(",") if m.strip()
    )
    JOBS_WORKERS = int(os.environ.get("JOBS_WORKERS", "2"))
    # A running job holds a lease the consumer renews every JOBS_HEARTBEAT_SECONDS; when a
    # consumer dies, its jobs are sent again once their lease has lapsed.
    JOBS_LEASE_SECONDS = float(os.environ.get("JOBS_LEASE_SECONDS", "120"))
    JOBS_HEARTBEAT_SECONDS = float(os.environ.get("JOBS_HEARTBEAT_SECONDS", "30"))
    # A job still queued this long after it was sent is sent again (its message was lost).
    JOBS_RESEND_AFTER_SECONDS = float(os.environ.get("JOBS_RESEND_AFTER_SECONDS", "600"))
    # A GIAS file with more schools than this is imported by a job (the page shows progress).
    GIAS_QUEUE_ABOVE = int(os.environ.get("GIAS_QUEUE_ABOVE", "300"))
