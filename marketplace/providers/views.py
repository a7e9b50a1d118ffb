"""Provider pages: the public "Become a provider" application, the partnership office's
applications and compliance lists, and a provider's own compliance documents."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.accounts import provider_for_user
from app.forms import ActionForm, field_errors, submit
from app.models import Role
from app.security import roles_required
from app.time import london_today
from marketplace.blueprint import bp
from marketplace.catalogue import editing
from marketplace.providers import applications, compliance
from marketplace.providers.forms import (
    KIND_TEXT,
    ApplicationForm,
    ComplianceDocumentForm,
    RejectionForm,
    document_kind,
)
from marketplace.providers.models import APPLICATION_STATUS_TEXT, ComplianceDocument
from marketplace.providers.rules import STANDING_TEXT, DocumentKind

SELLERS = (Role.PROVIDER, Role.SBM)  # an SBM sells when their school is a hub


def _category_labels(values: list[str]) -> list[str]:
    names = {c.slug: c.name for c in editing.categories()}
    return [names[v] for v in values if v in names]


# The public application ------------------------------------------------------------------------


@bp.route("/providers/apply", methods=["GET", "POST"])
def provider_apply():
    """Become a provider: an organisation applies to sell to the partnership's schools."""
    form = ApplicationForm()
    done = submit(form, lambda: applications.apply(form.to_input()))
    if done.done:
        return redirect(url_for("marketplace.provider_apply_sent"))
    return render_template("marketplace/providers/apply.html", form=form), done.status


@bp.route("/providers/apply/sent")
def provider_apply_sent():
    """The application has been received."""
    return render_template("marketplace/providers/apply_sent.html")


# The partnership office's applications ---------------------------------------------------------


@bp.route("/admin/provider-applications")
@roles_required(Role.ADMIN)
def provider_applications():
    """Applications to become a provider, waiting ones first."""
    return render_template(
        "marketplace/providers/applications.html",
        applications=applications.applications(),
        status_text=APPLICATION_STATUS_TEXT,
        kind_text=KIND_TEXT,
    )


def _render_application(application_id: int, reject_form: RejectionForm, status: int) -> Any:
    application = applications.get_application(application_id)
    return (
        render_template(
            "marketplace/providers/application_detail.html",
            application=application,
            categories=_category_labels(application.categories),
            status_text=APPLICATION_STATUS_TEXT,
            kind_text=KIND_TEXT,
            action_form=ActionForm(),
            reject_form=reject_form,
        ),
        status,
    )


@bp.route("/admin/provider-applications/<int:application_id>")
@roles_required(Role.ADMIN)
def provider_application_detail(application_id: int):
    """One application: the organisation, its registration, contact and services; decide it."""
    return _render_application(application_id, RejectionForm(formdata=None), 200)


@bp.route("/admin/provider-applications/<int:application_id>/approve", methods=["POST"])
@roles_required(Role.ADMIN)
def provider_application_approve(application_id: int):
    """Approve: create the provider organisation and invite the applicant."""
    form = ActionForm()
    done = submit(form, lambda: applications.approve(application_id, current_user))
    if done.done:
        application, _ = done.value
        flash(
            f"{application.organisation_name} is now a provider. {application.contact_email} "
            "has been emailed an invitation to sign in.",
            "success",
        )
        return redirect(url_for("marketplace.provider_applications"))
    reject_form = RejectionForm(formdata=None)
    for message in form.form_errors or ["Your form expired or was sent twice. Try again."]:
        field_errors(reject_form, None, message)
    return _render_application(application_id, reject_form, done.status)


@bp.route("/admin/provider-applications/<int:application_id>/reject", methods=["POST"])
@roles_required(Role.ADMIN)
def provider_application_reject(application_id: int):
    """Reject with a reason, which the applicant is emailed."""
    form = RejectionForm()
    done = submit(
        form, lambda: applications.reject(application_id, form.reason.data or "", current_user)
    )
    if done.done:
        flash(
            f"Application from {done.value.organisation_name} rejected; the applicant has been "
            "emailed the reason.",
            "success",
        )
        return redirect(url_for("marketplace.provider_applications"))
    return _render_application(application_id, form, done.status)


# Compliance ----------------------------------------------------------------------------------


@bp.route("/admin/compliance")
@roles_required(Role.ADMIN)
def compliance_list():
    """Every provider's compliance documents: what is missing, expiring or expired."""
    return render_template(
        "marketplace/providers/compliance_list.html",
        providers=compliance.overview(london_today()),
        standing_text=STANDING_TEXT,
        kinds=list(DocumentKind),
    )


def _download(document: ComplianceDocument) -> Any:
    response = send_file(
        io.BytesIO(document.content),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _kind(value: str) -> DocumentKind:
    kind = document_kind(value)
    if kind is None:
        abort(404)
    return kind


@bp.route("/admin/compliance/<int:provider_id>/<kind>")
@roles_required(Role.ADMIN)
def compliance_document_admin(provider_id: int, kind: str):
    """Download a provider's compliance document."""
    return _download(compliance.get_document_for_provider(provider_id, _kind(kind)))


def _provider() -> Any:
    provider = provider_for_user(current_user)
    if provider is None:
        abort(403)
    return provider


@bp.route("/provider/compliance")
@roles_required(*SELLERS)
def provider_compliance():
    """The provider's compliance documents, what each needs, and when each expires."""
    provider = _provider()
    today = london_today()
    return render_template(
        "marketplace/providers/provider_compliance.html",
        provider=provider,
        rows=compliance.standings(provider.id, today),
        documents=compliance.documents_for_provider(provider.id),
        standing_text=STANDING_TEXT,
        problem=compliance.publish_problem(provider.id, today),
    )


@bp.route("/provider/compliance/<kind>", methods=["GET", "POST"])
@roles_required(*SELLERS)
def provider_compliance_upload(kind: str):
    """Upload or replace one compliance document."""
    provider = _provider()
    document_type = _kind(kind)
    form = ComplianceDocumentForm()

    def save() -> ComplianceDocument:
        upload = form.file.data
        return compliance.upload_document(
            provider.id,
            compliance.DocumentUpload(
                kind=document_type,
                issued_on=form.issued_on.data,
                expires_on=form.expires_on.data,
                last_checked_on=form.last_checked_on.data,
                declaration=form.declaration.data or "",
                filename=upload.filename or "",
                content=upload.read(compliance.rules.MAX_FILE_BYTES + 1),
            ),
            current_user,
        )

    done = submit(form, save)
    if done.done:
        flash(f"{document_type.label} uploaded.", "success")
        return redirect(url_for("marketplace.provider_compliance"))
    current = compliance.documents_for_provider(provider.id).get(document_type)
    return (
        render_template(
            "marketplace/providers/compliance_upload.html",
            form=form,
            kind=document_type,
            current=current,
            is_dbs=document_type is DocumentKind.DBS,
        ),
        done.status if request.method == "POST" else 200,
    )


@bp.route("/provider/compliance/<kind>/file")
@roles_required(*SELLERS)
def provider_compliance_file(kind: str):
    """Download one of the provider's own compliance documents."""
    provider = _provider()
    return _download(compliance.get_document_for_provider(provider.id, _kind(kind)))
