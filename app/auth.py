"""Signing in and out, forgotten passwords and invitations."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app import accounts
from app.account_links import LinkPurpose
from app.errors import DomainError
from app.extensions import db
from app.forms import (
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    SetPasswordForm,
    field_errors,
    submit,
)
from app.models import Role
from app.security import SignInFailed, SignInLocked, authenticate, roles_required

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


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """Ask for a password reset link; the answer is the same whether the address exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data or "")
        return render_template("app/auth/reset_requested.html", email=form.email.data)
    status = 400 if form.errors else 200
    return render_template("app/auth/forgot_password.html", form=form), status


def _set_password_page(token: str, purpose: LinkPurpose, template: str):
    try:
        user = accounts.user_for_link(token, purpose)
    except DomainError as exc:
        return render_template("app/auth/link_refused.html", message=exc.message), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password_from_link(token, purpose, form.password.data or "")
        except DomainError as exc:
            field_errors(form, exc.field, exc.message)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template(template, form=form, user=user), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a reset link."""
    return _set_password_page(token, LinkPurpose.PASSWORD_RESET, "app/auth/reset_password.html")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Set your password from an invitation link."""
    return _set_password_page(token, LinkPurpose.INVITATION, "app/auth/accept_invitation.html")


# Roles the head may invite at their own school (business managers, heads, second approvers
# such as the chair of governors); a provider user, at their provider.
STAFF_ROLES = {
    Role.HEAD: accounts.SCHOOL_STAFF_ROLES,
    Role.PROVIDER: (Role.PROVIDER,),
}


@bp.route("/account/invite", methods=["GET", "POST"])
@roles_required(Role.HEAD, Role.PROVIDER)
def invite_colleague():
    """Invite a colleague to your own school (the head) or provider; they set their own
    password."""
    form = InviteForm()
    roles = STAFF_ROLES[current_user.role]
    form.role.choices = [(r.value, r.label) for r in roles]
    form.school_id.choices = [(current_user.school_id or 0, current_user.organisation_name)]
    form.provider_id.choices = [(current_user.provider_id or 0, current_user.organisation_name)]
    form.trust_id.choices = [(0, "")]
    if request.method == "POST":  # the organisation is always the inviter's own
        form.school_id.data = current_user.school_id or 0
        form.provider_id.data = current_user.provider_id or 0
        form.trust_id.data = 0
    outcome = submit(
        form,
        lambda: accounts.invite_user(
            name=form.name.data or "",
            email=form.email.data or "",
            role=Role(form.role.data),
            school_id=current_user.school_id,
            provider_id=current_user.provider_id,
            actor=current_user,
        ),
    )
    if outcome.done:
        user, _link = outcome.value
        flash(f"Invitation sent to {user.email}. The link works for 7 days.", "success")
        return redirect(url_for("auth.invite_colleague"))
    return render_template("app/auth/invite_colleague.html", form=form), outcome.status
