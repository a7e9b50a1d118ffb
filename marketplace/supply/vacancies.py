"""The partnership's vacancies board: schools post vacancies; the public page and its feeds
show those whose closing date has not passed (filtered when read, so they come down by
themselves), filterable by role, phase, subject and area."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, School, User
from app.uploads import clean_filename
from app.use_case import use_case
from marketplace.supply import access, rules
from marketplace.supply.errors import InvalidSupply, SupplyNotFound
from marketplace.supply.models import ContractType, Vacancy, VacancyDocument

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
DOCUMENTS_MAX = 2_000


def _documents(text: str) -> str:
    links = [line.strip() for line in text.splitlines() if line.strip()]
    for link in links:
        if not link.startswith(("https://", "http://")):
            raise InvalidSupply("Each document is a link starting https://", field="documents")
    joined = "\n".join(links)
    if len(joined) > DOCUMENTS_MAX:
        raise InvalidSupply("Too many document links", field="documents")
    return joined


@dataclass(frozen=True)
class Upload:
    """A file as posted: its name as typed and its bytes."""

    filename: str
    content: bytes


def _files(uploads: Sequence[Upload]) -> list[VacancyDocument]:
    """Every file checked before any is kept; each problem named, in one message."""
    uploads = [u for u in uploads if u.filename or u.content]
    if len(uploads) > rules.VACANCY_FILES_MAX:
        raise InvalidSupply(
            f"Attach up to {rules.VACANCY_FILES_MAX} files; you chose {len(uploads)}",
            field="files",
        )
    problems: list[str] = []
    documents: list[VacancyDocument] = []
    for upload in uploads:
        name = clean_filename(upload.filename)
        problem = rules.vacancy_file_problem(name or "document", upload.content)
        if problem:
            problems.append(problem)
            continue
        extension = name.rsplit(".", 1)[-1].lower()
        documents.append(
            VacancyDocument(
                filename=name,
                content_type=rules.VACANCY_FILE_TYPES[extension][0],
                size_bytes=len(upload.content),
                sha256=hashlib.sha256(upload.content).hexdigest(),
                content=upload.content,
            )
        )
    if problems:
        raise InvalidSupply("; ".join(problems), field="files")
    return documents


def schools_that_may_post(user: User) -> list[School]:
    """A school user posts for its own school; a trust's finance lead for any of its schools."""
    if user.role is Role.TRUST and user.trust_id is not None:
        return list(
            db.session.scalars(
                sa.select(School).where(School.trust_id == user.trust_id).order_by(School.name)
            )
        )
    if user.school_id is not None:
        school = db.session.get(School, user.school_id)
        return [school] if school is not None else []
    return []


@use_case
def post(
    *,
    school_id: int,
    title: str,
    role: rules.SupplyRole,
    contract_type: ContractType,
    salary_min_pence: int,
    salary_max_pence: int,
    closing_on: date,
    description: str,
    today: date,
    actor: User | None,
    phase: str = "",
    subject: str = "",
    documents: str = "",
    files: Sequence[Upload] = (),
) -> Vacancy:
    """A school (or its trust) posts a vacancy on the public board, with links and files.

    With an `actor`, the school must be one they may post for (their own, or one of their
    trust's); nothing is written when anything is refused."""
    if not title.strip() or len(title.strip()) > TITLE_MAX:
        raise InvalidSupply(f"Enter a title of up to {TITLE_MAX} characters", field="title")
    if not description.strip() or len(description) > DESCRIPTION_MAX:
        raise InvalidSupply("Describe the job (up to 10,000 characters)", field="description")
    if salary_min_pence <= 0:
        raise InvalidSupply("Enter the lowest salary", field="salary_min")
    if salary_max_pence < salary_min_pence:
        raise InvalidSupply("The highest salary cannot be below the lowest", field="salary_max")
    if closing_on < today:
        raise InvalidSupply("The closing date cannot be in the past", field="closing_on")
    school = db.session.get(School, school_id) if school_id else None
    if school is None:
        raise InvalidSupply("Choose the school the vacancy is at", field="school_id")
    if actor is not None and school.id not in {s.id for s in schools_that_may_post(actor)}:
        raise InvalidSupply("You can post vacancies only for your own schools", field="school_id")
    kept = _files(files)
    vacancy = Vacancy(
        school_id=school_id,
        title=title.strip(),
        role=role,
        contract_type=contract_type,
        phase=(phase.strip() or school.phase)[:60],
        subject=subject.strip()[:100],
        salary_min_pence=salary_min_pence,
        salary_max_pence=salary_max_pence,
        closing_on=closing_on,
        description=description.strip(),
        documents=_documents(documents),
        created_by_id=actor.id if actor else None,
    )
    vacancy.files.extend(kept)
    db.session.add(vacancy)
    db.session.flush()
    access.record(actor, "vacancy", vacancy.id, "posted", school_id, files=len(kept))
    db.session.commit()
    return vacancy


@dataclass(frozen=True)
class Filters:
    role: str = ""
    phase: str = ""
    subject: str = ""
    area: str = ""


def open_vacancies(today: date, filters: Filters = Filters()) -> list[Vacancy]:
    """Vacancies still open on `today` (closing today or later), soonest closing first."""
    stmt = (
        sa.select(Vacancy)
        .join(School, School.id == Vacancy.school_id)
        .where(Vacancy.closing_on >= today)
    )
    if filters.role:
        stmt = stmt.where(Vacancy.role == filters.role)
    if filters.phase:
        stmt = stmt.where(Vacancy.phase == filters.phase)
    if filters.subject:
        stmt = stmt.where(sa.func.lower(Vacancy.subject) == filters.subject.strip().lower())
    if filters.area:
        stmt = stmt.where(School.area == filters.area)
    return list(db.session.scalars(stmt.order_by(Vacancy.closing_on, Vacancy.id)))


def get_open_vacancy(vacancy_id: int, today: date) -> Vacancy:
    """One vacancy, while it is open (404 once closed)."""
    vacancy = db.session.scalar(
        sa.select(Vacancy).where(Vacancy.id == vacancy_id, Vacancy.closing_on >= today)
    )
    if vacancy is None:
        raise SupplyNotFound("There is no such vacancy, or it has closed.")
    return vacancy


def get_open_vacancy_file(vacancy_id: int, file_id: int, today: date) -> VacancyDocument:
    """A file of an open vacancy (404 once the vacancy has closed, or for another's file)."""
    vacancy = get_open_vacancy(vacancy_id, today)
    document = db.session.scalar(
        sa.select(VacancyDocument).where(
            VacancyDocument.id == file_id, VacancyDocument.vacancy_id == vacancy.id
        )
    )
    if document is None:
        raise SupplyNotFound("There is no such file.")
    return document


def school_vacancies(school_id: int) -> list[Vacancy]:
    return list(
        db.session.scalars(
            sa.select(Vacancy)
            .where(Vacancy.school_id == school_id)
            .order_by(Vacancy.closing_on.desc())
        )
    )


def filter_choices() -> dict[str, list[str]]:
    """The values each filter offers: those of open-or-closed vacancies' phases and areas."""
    phases = db.session.scalars(sa.select(Vacancy.phase).distinct().order_by(Vacancy.phase))
    areas = db.session.scalars(
        sa.select(School.area)
        .join(Vacancy, Vacancy.school_id == School.id)
        .distinct()
        .order_by(School.area)
    )
    return {"phase": [p for p in phases if p], "area": [a for a in areas if a]}
