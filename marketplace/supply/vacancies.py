"""The partnership's vacancies board: schools post vacancies; the public page and its feeds
show those whose closing date has not passed (filtered when read, so they come down by
themselves), filterable by role, phase, subject and area."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import School, User
from app.use_case import use_case
from marketplace.supply import access, rules
from marketplace.supply.errors import InvalidSupply, SupplyNotFound
from marketplace.supply.models import ContractType, Vacancy

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
) -> Vacancy:
    """A school (or trust) posts a vacancy on the public board."""
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
    school = db.session.get(School, school_id)
    if school is None:
        raise InvalidSupply("There is no such school")
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
    db.session.add(vacancy)
    db.session.flush()
    access.record(actor, "vacancy", vacancy.id, "posted", school_id)
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
