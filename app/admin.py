"""The partnership office: users, schools (GIAS import), membership terms and the job queue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import accounts, gias_preview, partnership, providers
from app import schools as school_service
from app.admin_forms import PartnershipSettingsForm, ProviderForm, ProviderInviteForm
from app.errors import DomainError, refusal_status
from app.extensions import db, paginate
from app.forms import (
    ActionForm,
    GiasConfirmForm,
    GiasUploadForm,
    GrantForm,
    InviteForm,
    MembershipForm,
    MembershipTermForm,
    filled,
    submit,
)
from app.grants import record_grant
from app.jobs import services as job_service
from app.models import (
    GiasImport,
    Grant,
    Membership,
    MembershipTerm,
    PartnershipSettings,
    Provider,
    ProviderKind,
    Role,
    School,
    Trust,
    User,
)
from app.security import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    """Everyone who can sign in."""
    page = paginate(sa.select(User).order_by(User.role, User.email), per_page=50)
    return render_template("app/admin/users.html", page=page)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    """Invite someone from a school, a provider or the partnership: they set their password."""
    form = InviteForm()
    form.school_id.choices = [(0, "Not a school user")] + [
        (s.id, s.name) for s in db.session.scalars(sa.select(School).order_by(School.name))
    ]
    form.provider_id.choices = [(0, "Not a provider user")] + [
        (p.id, p.name) for p in db.session.scalars(sa.select(Provider).order_by(Provider.name))
    ]
    form.trust_id.choices = [(0, "Not a trust user")] + [
        (t.id, t.name) for t in db.session.scalars(sa.select(Trust).order_by(Trust.name))
    ]
    outcome = submit(
        form,
        lambda: accounts.invite_user(
            name=form.name.data or "",
            email=form.email.data or "",
            role=Role(form.role.data),
            school_id=form.school_id.data or None,
            provider_id=form.provider_id.data or None,
            trust_id=form.trust_id.data or None,
            actor=current_user,
        ),
    )
    if outcome.done:
        user, _link = outcome.value
        flash(f"Invitation sent to {user.email}. The link works for 7 days.", "success")
        return redirect(url_for("admin.users"))
    return render_template("app/admin/user_new.html", form=form), outcome.status


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def user_set_active(user_id: int):
    """Deactivate or reactivate an account."""
    active = request.form.get("active") == "1"
    try:
        user = accounts.set_active(user_id, active, current_user)
    except DomainError as exc:
        refusal_status(exc)
        flash(exc.message, "error")
    else:
        flash(f"{user.email} {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/schools")
@roles_required(Role.ADMIN, Role.COMMITTEE)
def schools():
    """Schools in the partnership's area, searchable."""
    query = request.args.get("q", "").strip()
    members_only = request.args.get("members") == "1"
    stmt = sa.select(School).order_by(School.name)
    if query:
        like = f"%{query.lower()}%"
        conditions: list[sa.ColumnElement[bool]] = [
            sa.func.lower(School.name).like(like),
            sa.func.lower(School.postcode).like(like),
        ]
        if query.isascii() and query.isdigit() and len(query) <= 9:  # a URN (6 digits)
            conditions.append(School.urn == int(query))
        stmt = stmt.where(sa.or_(*conditions))
    if members_only:
        stmt = stmt.where(School.is_member.is_(True))
    page = paginate(stmt, per_page=50)
    return render_template(
        "app/admin/schools.html",
        page=page,
        q=query,
        members_only=members_only,
        upload=GiasUploadForm(),
    )


@bp.route("/schools/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def schools_import():
    """Upload a GIAS establishment export; it is previewed before anything is imported."""
    form = GiasUploadForm()
    if not form.is_submitted():
        form.la_code.data = gias_preview.partnership_la_code(current_app.config["PARTNERSHIP_LA"])
    if form.validate_on_submit():
        try:
            token = gias_preview.hold_gias_upload(
                form.file.data.read(),
                filename=form.file.data.filename or "",
                la_code=form.la_code.data or None,
                **_held_uploads(),
            )
        except DomainError as exc:
            form.file.errors = [*form.file.errors, exc.message]
        else:
            return redirect(url_for("admin.schools_import_preview", token=token))
    return render_template("app/admin/schools_import.html", form=form)


def _held_uploads() -> dict[str, Any]:
    """Where uploaded GIAS files wait for confirmation, and for how long."""
    return {
        "folder": Path(current_app.instance_path) / "gias-uploads",
        "lifetime": timedelta(minutes=current_app.config["GIAS_PREVIEW_MINUTES"]),
    }


@bp.route("/schools/import/preview/<token>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def schools_import_preview(token: str):
    """What an uploaded GIAS file would create, update and skip; importing it on confirmation."""
    preview = gias_preview.preview_gias_upload(token, **_held_uploads())
    form = GiasConfirmForm()
    if not form.is_submitted():
        form.sha256.data = preview.sha256
        return render_template("app/admin/schools_import_preview.html", preview=preview, form=form)
    status = 400
    if form.validate():
        try:
            result = gias_preview.confirm_gias_import(
                token,
                form.sha256.data or "",
                actor=current_user,
                queue_above=current_app.config["GIAS_QUEUE_ABOVE"],
                **_held_uploads(),
            )
        except DomainError as exc:
            status = refusal_status(exc)
            form.form_errors.append(exc.message)
        else:
            if isinstance(result, GiasImport):
                flash(
                    f"The file has {result.rows_total} schools: they are being imported.",
                    "success",
                )
                return redirect(url_for("admin.schools_import_progress", import_id=result.id))
            flash("Import finished: " + result.summary() + ".", "success")
            return redirect(url_for("admin.schools"))
    # The fingerprint is a hidden field: its problem is the form's.
    form.form_errors.extend(form.sha256.errors)
    form.sha256.errors = []
    form.sha256.data = preview.sha256
    return render_template(
        "app/admin/schools_import_preview.html", preview=preview, form=form
    ), status


@bp.route("/schools/import/<int:import_id>")
@roles_required(Role.ADMIN)
def schools_import_progress(import_id: int):
    """A large GIAS import's progress; the page refreshes itself until the job is done."""
    record = school_service.get_gias_import(import_id)
    return render_template(
        "app/admin/schools_import_progress.html", record=record, refresh_seconds=3
    )


@bp.route("/schools/<int:school_id>/membership/<int:term_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def membership_edit(school_id: int, term_id: int):
    """Set a school's pupil count and cap for one year's subscription."""
    school = db.get_or_404(School, school_id)
    term = db.get_or_404(MembershipTerm, term_id)
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.school_id == school.id, Membership.term_id == term.id
        )
    )
    form = MembershipForm(
        obj=None,
        data={
            "pupils_counted": membership.pupils_counted if membership else school.pupils,
            "cap": membership.cap_pence if membership else None,
            "is_member": school.is_member,
        },
    )
    if form.validate_on_submit():
        school_service.save_membership(
            school,
            term,
            pupils_counted=filled(form.pupils_counted.data),
            cap_pence=form.cap.data,
            is_member=form.is_member.data,
            actor=current_user,
        )
        flash(f"Membership for {school.name} saved.", "success")
        return redirect(url_for("home.school_detail", school_id=school.id))
    return render_template("app/admin/membership_edit.html", form=form, school=school, term=term)


@bp.route("/membership")
@roles_required(Role.ADMIN)
def membership_terms():
    """Subscription terms by academic year."""
    terms = list(
        db.session.scalars(sa.select(MembershipTerm).order_by(MembershipTerm.start_year.desc()))
    )
    counts = dict(
        db.session.execute(
            sa.select(Membership.term_id, sa.func.count()).group_by(Membership.term_id)
        ).all()
    )
    defaults = partnership.current_settings()
    form = MembershipTermForm(
        data=(
            {
                "rate": defaults.default_rate_per_pupil_pence or None,
                "cap": defaults.default_cap_pence,
                "council_match_percent": defaults.default_council_match_bp // 100,
            }
            if defaults is not None
            else None
        )
    )
    return render_template("app/admin/membership_terms.html", terms=terms, counts=counts, form=form)


@bp.route("/membership/save", methods=["POST"])
@roles_required(Role.ADMIN)
def membership_term_save():
    """Create or change one academic year's subscription terms."""
    form = MembershipTermForm()
    if form.validate_on_submit():
        try:
            school_service.save_membership_term(
                start_year=filled(form.start_year.data),
                rate_per_pupil_pence=form.rate.data,
                default_cap_pence=form.cap.data,
                council_match_bp=filled(form.council_match_percent.data) * 100,
                actor=current_user,
            )
        except DomainError as exc:
            form.rate.errors = [*form.rate.errors, exc.message]
        else:
            flash("Membership terms saved.", "success")
            return redirect(url_for("admin.membership_terms"))
    terms = list(
        db.session.scalars(sa.select(MembershipTerm).order_by(MembershipTerm.start_year.desc()))
    )
    return render_template(
        "app/admin/membership_terms.html", terms=terms, counts={}, form=form
    ), 400


@bp.route("/membership/<int:term_id>/enrol", methods=["POST"])
@roles_required(Role.ADMIN)
def membership_enrol(term_id: int):
    """Enrol every member school for the year at its current pupil count."""
    term = db.get_or_404(MembershipTerm, term_id)
    enrolled, missing = school_service.enrol_members(term, current_user)
    flash(f"{enrolled} schools enrolled for {term.label}.", "success")
    if missing:
        names = ", ".join(s.name for s in missing[:5])
        flash(
            f"{len(missing)} member schools have no pupil count and were left out: {names}"
            + ("…" if len(missing) > 5 else ""),
            "error",
        )
    return redirect(url_for("admin.membership_terms"))


@bp.route("/grants", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def grants():
    """Grants and commissions the partnership received: income beside subscriptions."""
    form = GrantForm()
    outcome = submit(
        form,
        lambda: record_grant(
            current_user,
            source=form.source.data or "",
            description=form.description.data or "",
            amount_pence=filled(form.amount.data),
            received_on=filled(form.received_on.data),
        ),
    )
    if outcome.done:
        flash(f"Grant from {outcome.value.source} recorded.", "success")
        return redirect(url_for("admin.grants"))
    rows = db.session.scalars(
        sa.select(Grant).order_by(Grant.received_on.desc(), Grant.id.desc())
    ).all()
    return render_template("app/admin/grants.html", form=form, grants=rows), outcome.status


@bp.route("/jobs")
@roles_required(Role.ADMIN)
def jobs():
    """Background jobs: the ones that failed, with their error, and the latest ones."""
    return render_template(
        "app/admin/jobs.html",
        failed=job_service.failed_jobs(50),
        recent=job_service.recent_jobs(50),
        form=ActionForm(),
    )


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN)
def job_retry(job_id: int):
    """Queue a failed job again."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired. Try again.", "error")
        return redirect(url_for("admin.jobs"), code=303)
    try:
        run = job_service.retry_job(job_id, current_user)
    except DomainError as exc:
        refusal_status(exc)
        flash(exc.message, "error")
    else:
        flash(f"Job {run.id} queued again.", "success")
    return redirect(url_for("admin.jobs"), code=303)


@bp.route("/partnership", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def partnership_settings():
    """The partnership's own details: name, VAT number, invoice address, bank details, its fee
    on traded services and the defaults for a new academic year."""
    row = partnership.current_settings()
    form = PartnershipSettingsForm(data=_settings_form_data(row))
    outcome = submit(
        form,
        lambda: partnership.save_settings(
            partnership.SettingsInput(
                name=form.name.data or "",
                vat_number=form.vat_number.data or "",
                address=form.address.data or "",
                fee_bp=filled(form.fee_percent.data),
                default_rate_per_pupil_pence=filled(form.default_rate.data),
                default_cap_pence=form.default_cap.data,
                default_council_match_bp=filled(form.default_council_match.data),
                bank_account_name=form.account_name.data or "",
                bank_sort_code=form.sort_code.data or "",
                bank_account_number=form.account_number.data or "",
                provider_payment_days=filled(form.provider_payment_days.data),
            ),
            current_user,
        ),
    )
    if outcome.done:
        flash("Partnership settings saved.", "success")
        return redirect(url_for("admin.partnership_settings"), code=303)
    return render_template("app/admin/partnership.html", form=form), outcome.status


def _settings_form_data(row: PartnershipSettings | None) -> dict[str, object]:
    """The form as the settings stand (the config's details before there are any)."""
    if row is None:
        found = partnership.details()
        return {
            "name": found.name,
            "vat_number": found.vat_number,
            "address": "\n".join(found.address_lines),
            "fee_percent": found.fee_bp,
            "provider_payment_days": found.provider_payment_days,
            "default_rate": 0,
            "default_council_match": 10_000,
        }
    return {
        "name": row.name,
        "vat_number": row.vat_number,
        "address": row.address,
        "fee_percent": row.fee_bp,
        "provider_payment_days": row.provider_payment_days,
        "default_rate": row.default_rate_per_pupil_pence,
        "default_cap": row.default_cap_pence,
        "default_council_match": row.default_council_match_bp,
        "account_name": row.bank_account_name,
        "sort_code": row.bank_sort_code,
        "account_number": row.bank_account_number,
    }


@bp.route("/providers")
@roles_required(Role.ADMIN)
def providers_list():
    """Every provider organisation: companies, council services, charities, selling schools."""
    return render_template(
        "app/admin/providers.html",
        providers=providers.all_providers(),
        kind_labels=providers.KIND_LABELS,
    )


@bp.route("/providers/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def provider_new():
    """Add a provider organisation."""
    form = ProviderForm()
    form.kind.choices = [(kind.value, label) for kind, label in providers.KIND_LABELS.items()]
    form.school_id.choices = [(0, "Not a school")] + [
        (s.id, f"{s.name} (URN {s.urn})")
        for s in db.session.scalars(sa.select(School).order_by(School.name))
    ]
    outcome = submit(
        form,
        lambda: providers.create_provider(
            name=form.name.data or "",
            kind=ProviderKind(form.kind.data),
            school_id=form.school_id.data or None,
            contact_email=form.contact_email.data or "",
            description=form.description.data or "",
            actor=current_user,
        ),
    )
    if outcome.done:
        flash(f"{outcome.value.name} added. Invite its people below.", "success")
        return redirect(url_for("admin.provider_detail", provider_id=outcome.value.id), code=303)
    return render_template("app/admin/provider_new.html", form=form), outcome.status


@bp.route("/providers/<int:provider_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def provider_detail(provider_id: int):
    """A provider organisation, its people, and a form to invite one more."""
    provider = providers.get_provider(provider_id)
    form = ProviderInviteForm()
    outcome = submit(
        form,
        lambda: accounts.invite_user(
            name=form.name.data or "",
            email=form.email.data or "",
            role=Role.PROVIDER,
            provider_id=provider.id,
            actor=current_user,
        ),
    )
    if outcome.done:
        user, _link = outcome.value
        flash(f"Invitation sent to {user.email}. The link works for 7 days.", "success")
        return redirect(url_for("admin.provider_detail", provider_id=provider.id), code=303)
    return render_template(
        "app/admin/provider_detail.html",
        provider=provider,
        people=providers.provider_users(provider.id),
        form=form,
        kind_labels=providers.KIND_LABELS,
    ), outcome.status
