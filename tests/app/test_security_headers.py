"""Security headers on every response: CSP, framing, sniffing, referrer, and HSTS over HTTPS."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.conftest import make_app

PAGES = ["/sign-in", "/home", "/no-such-page", "/static/dist/manifest.json"]


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in policy.split("; ") if " " in part
    }


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    directives = csp_directives(response)
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP, cookies not Secure


def test_a_signed_in_page_and_a_refused_post_carry_them_too(client, auth, world):
    auth.as_user(world.sbm_a)
    for response in (client.get("/orders"), client.post("/orders/999999/submit")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_no_template_has_inline_script_or_style():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline = []
    for template in root.rglob("*.html"):
        if template.is_relative_to(root / "app" / "mail"):
            continue  # emails carry inline styles for mail clients (shown under their own CSP)
        text = template.read_text()
        for match in re.finditer(
            r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=\"|<style\b|\son[a-z]+=\"", text
        ):
            inline.append(f"{template.relative_to(root)}: {match.group(0).strip()}")
    assert inline == []


def test_hsts_is_sent_over_https_when_cookies_are_secure(app, tmp_path):
    secure_app = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path,
        SESSION_COOKIE_SECURE=True,
        WTF_CSRF_ENABLED=True,  # the form's CSRF token goes into the session cookie
    )
    response = secure_app.test_client().get("/sign-in", base_url="https://pooled.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers.get("Set-Cookie", "")
    assert "; Secure" in cookie  # the session cookie (it carries the CSRF token)


def test_behind_trusted_proxies_the_forwarded_address_and_scheme_are_used(app, tmp_path):
    from werkzeug.middleware.proxy_fix import ProxyFix

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    proxied = make_app(url, tmp_path, SESSION_COOKIE_SECURE=True, TRUSTED_PROXIES=1)
    assert isinstance(proxied.wsgi_app, ProxyFix)
    assert not isinstance(make_app(url, tmp_path).wsgi_app, ProxyFix)
    response = proxied.test_client().get(
        "/sign-in", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    )
    assert "Strict-Transport-Security" in response.headers


def test_an_emails_html_is_shown_under_its_own_policy_in_a_sandbox(client, auth, world):
    from app.notifications.models import OutboxMessage

    auth.as_user(world.admin)
    message = OutboxMessage(
        recipient=world.sbm_a.email,
        subject="Styled",
        text_body="Hello",
        html_body='<p style="color: red">Hello</p>',
        kind="test",
        key=f"test-{world.sbm_a.id}",
    )
    db.session.add(message)
    db.session.commit()
    response = client.get(f"/admin/outbox/{message.id}/html")
    assert response.status_code == 200
    directives = csp_directives(response)
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["default-src"] == "'none'"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "script-src" not in directives
    assert csp_directives(client.get("/home"))["style-src"] == "'self'"  # only that response
