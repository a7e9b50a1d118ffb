"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.extensions import db
from app.forms import LoginForm
from app.security import SignInFailed, SignInLocked, authenticate

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("home.home"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data or "", form.password.data or "", request.remote_addr or ""
            )
        except SignInLocked as exc:
            error, status = exc.message, 429
        except SignInFailed as exc:
            error, status = exc.message, 200
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("home.home"))
    return render_template("app/auth/login.html", form=form, error=error), status


@bp.route("/sign-out", methods=["POST"])
@login_required
def logout():
    """Sign out (POST only, with CSRF): every session cookie of this user stops working."""
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
