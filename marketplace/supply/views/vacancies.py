"""The partnership's vacancies board: public pages (no sign-in), its Atom and JSON feeds, and
posting a vacancy (schools)."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.forms import filled, submit
from app.models import Role
from app.security import roles_required
from app.time import london_today, utcnow
from marketplace.blueprint import bp
from marketplace.supply import feeds, vacancies
from marketplace.supply.forms import VacancyForm
from marketplace.supply.models import ContractType
from marketplace.supply.rules import SupplyRole


def _filters() -> vacancies.Filters:
    role = request.args.get("role", "")
    return vacancies.Filters(
        role=role if role in {r.value for r in SupplyRole} else "",
        phase=request.args.get("phase", "")[:60],
        subject=request.args.get("subject", "")[:100],
        area=request.args.get("area", "")[:60],
    )


@bp.route("/vacancies", endpoint="vacancies")
def vacancies_board():
    """Every open vacancy in the partnership's schools, filtered by role, phase, subject, area."""
    filters = _filters()
    return render_template(
        "marketplace/supply/vacancies.html",
        vacancies=vacancies.open_vacancies(london_today(), filters),
        filters=filters,
        choices=vacancies.filter_choices(),
        roles=list(SupplyRole),
    )


@bp.route("/vacancies/<int:vacancy_id>", endpoint="vacancy")
def vacancy_page(vacancy_id: int):
    """One open vacancy (gone after its closing date)."""
    vacancy = vacancies.get_open_vacancy(vacancy_id, london_today())
    return render_template("marketplace/supply/vacancy.html", vacancy=vacancy)


@bp.route("/vacancies.json", endpoint="vacancies_json")
def vacancies_json():
    """The open vacancies as schema.org JobPostings (JSON-LD)."""
    found = vacancies.open_vacancies(london_today(), _filters())
    body = feeds.json_feed(
        found, lambda i: url_for("marketplace.vacancy", vacancy_id=i, _external=True)
    )
    response = jsonify(body)
    response.mimetype = "application/ld+json"
    return response


@bp.route("/vacancies.atom", endpoint="vacancies_atom")
def vacancies_atom():
    """The open vacancies as an Atom feed."""
    found = vacancies.open_vacancies(london_today(), _filters())
    xml = render_template(
        "marketplace/supply/vacancies.atom.xml", vacancies=found, updated=utcnow()
    )
    return Response(xml, mimetype="application/atom+xml")


def _uploads(form: VacancyForm) -> list[vacancies.Upload]:
    return [
        vacancies.Upload(upload.filename or "", upload.read())
        for upload in (form.files.data or [])
        if getattr(upload, "filename", None)
    ]


@bp.route("/supply/vacancies/new", methods=["GET", "POST"], endpoint="vacancy_new")
@roles_required(Role.SBM, Role.TRUST)
def vacancy_new():
    """A school, or its trust's finance lead for any of the trust's schools, posts a vacancy
    on the public board."""
    form = VacancyForm()
    schools = vacancies.schools_that_may_post(current_user)
    form.school_id.choices = [(s.id, s.name) for s in schools]
    chosen = form.school_id.data if current_user.role is Role.TRUST else current_user.school_id
    done = submit(
        form,
        lambda: vacancies.post(
            school_id=chosen or 0,
            title=form.title.data or "",
            role=SupplyRole(form.role.data),
            contract_type=ContractType(form.contract_type.data),
            salary_min_pence=filled(form.salary_min.data),
            salary_max_pence=filled(form.salary_max.data),
            closing_on=filled(form.closing_on.data),
            description=form.description.data or "",
            today=london_today(),
            actor=current_user,
            phase=form.phase.data or "",
            subject=form.subject.data or "",
            documents=form.documents.data or "",
            files=_uploads(form),
        ),
    )
    if done.done:
        flash("Your vacancy is on the partnership's board.", "success")
        return redirect(url_for("marketplace.vacancy", vacancy_id=done.value.id))
    return render_template(
        "marketplace/supply/vacancy_new.html", form=form, for_trust=current_user.role is Role.TRUST
    ), done.status


@bp.route("/vacancies/<int:vacancy_id>/files/<int:file_id>", endpoint="vacancy_file")
def vacancy_file(vacancy_id: int, file_id: int) -> Any:
    """A file of an open vacancy, for anyone (the board is public); gone once it closes."""
    document = vacancies.get_open_vacancy_file(vacancy_id, file_id, london_today())
    response = send_file(
        io.BytesIO(document.content),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
