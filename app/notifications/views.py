"""Pages: a person's notifications and email settings; the admins' Outbox."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField

from app.extensions import db, paginate
from app.forms import ActionForm
from app.models import Role
from app.notifications import delivery, inbox
from app.notifications.kinds import CHOOSABLE, DELIVERY_TEXT, KINDS, Delivery
from app.notifications.mailer import eml_path
from app.notifications.models import OUTBOX_STATUS_TEXT, OutboxMessage, OutboxStatus
from app.security import EMAIL_PREVIEW_POLICY, roles_required
from app.use_case import writes_on_get

bp = Blueprint("notifications", __name__)


def _preferences_form(current: dict[str, Delivery]) -> FlaskForm:
    class PreferencesForm(FlaskForm):
        pass

    for item in CHOOSABLE:
        field = RadioField(
            item.label,
            choices=[(d.value, DELIVERY_TEXT[d]) for d in Delivery],
            default=current[item.key].value,
        )
        setattr(PreferencesForm, item.key, field)
    return PreferencesForm()


@bp.route("/notifications")
@login_required
def notifications():
    """What has happened that concerns me, newest first."""
    page = paginate(inbox.notifications_for(current_user.id), per_page=30)
    return render_template("app/notifications/notifications.html", page=page, form=ActionForm())


@bp.route("/notifications/<int:notification_id>")
@writes_on_get
@login_required
def notification_open(notification_id: int):
    """Open a notification: it is marked read and you go to what it is about."""
    notification = inbox.open_notification(notification_id, current_user)
    link = notification.link
    if not link.startswith("/") or link.startswith("//"):
        link = url_for("notifications.notifications")
    return redirect(link)


@bp.route("/notifications/read", methods=["POST"])
@login_required
def notifications_read():
    """Mark every notification read."""
    if ActionForm().validate_on_submit():
        inbox.mark_all_read(current_user)
        flash("All notifications marked as read.", "success")
    return redirect(url_for("notifications.notifications"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    """Choose, per kind of message, to be emailed straight away, daily, or not at all."""
    current = inbox.preferences(current_user.id)
    form = _preferences_form(current)
    if form.validate_on_submit():
        choices = {item.key: Delivery(getattr(form, item.key).data) for item in CHOOSABLE}
        inbox.save_preferences(current_user, choices)
        flash("Your email settings are saved.", "success")
        return redirect(url_for("notifications.preferences"))
    required = [k for k in KINDS if k.required and k.key != "digest"]
    status = 400 if form.errors else 200
    return render_template(
        "app/notifications/preferences.html",
        form=form,
        kinds=CHOOSABLE,
        required=required,
    ), status


@bp.route("/admin/outbox")
@roles_required(Role.ADMIN)
def outbox():
    """Every email Pooled has sent or will send, newest first; failed ones first to see."""
    status = request.args.get("status", "")
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status in {s.value for s in OutboxStatus}:
        stmt = stmt.where(OutboxMessage.status == OutboxStatus(status))
    page = paginate(stmt, per_page=50)
    failed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
    )
    return render_template(
        "app/notifications/outbox.html",
        page=page,
        status=status,
        failed=failed,
        status_text=OUTBOX_STATUS_TEXT,
        statuses=list(OutboxStatus),
    )


@bp.route("/admin/outbox/<int:message_id>")
@roles_required(Role.ADMIN)
def outbox_message(message_id: int):
    """One email: its headers, text, HTML, status and last error."""
    message = db.get_or_404(OutboxMessage, message_id)
    path = eml_path(message)
    return render_template(
        "app/notifications/outbox_message.html",
        message=message,
        status_text=OUTBOX_STATUS_TEXT,
        eml=str(path) if path.exists() else None,
        form=ActionForm(),
    )


@bp.route("/admin/outbox/<int:message_id>/html")
@roles_required(Role.ADMIN)
def outbox_message_html(message_id: int) -> Any:
    """The HTML body as the email carries it, under a policy of its own: its inline styles
    apply, nothing can run (a sandbox), nothing is fetched."""
    message = db.get_or_404(OutboxMessage, message_id)
    g.content_security_policy = EMAIL_PREVIEW_POLICY
    return make_response(message.html_body)


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN)
def outbox_retry(message_id: int):
    """Send a failed email again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if delivery.retry(message_id) is None:
        flash("Only a failed email can be sent again.", "error")
    else:
        flash("The email is queued to send again.", "success")
    return redirect(url_for("notifications.outbox_message", message_id=message_id))
