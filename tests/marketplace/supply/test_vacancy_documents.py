"""Vacancy documents: a job description and application pack uploaded with a vacancy, public
while it is open, refused by name when not a PDF/Word/OpenDocument file or too big; and a trust's
finance lead posting for any of the trust's schools, never another's."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.time import london_today
from marketplace.supply import rules, vacancies
from marketplace.supply.errors import InvalidSupply
from marketplace.supply.models import ContractType, Vacancy, VacancyDocument
from marketplace.supply.rules import SupplyRole

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
DOCX = b"PK\x03\x04" + b"\x00" * 40


def _post(school, actor=None, files=(), **values):
    today = london_today()
    return vacancies.post(
        school_id=school.id,
        title=values.pop("title", "Year 4 teacher"),
        role=SupplyRole.TEACHER,
        contract_type=ContractType.PERMANENT,
        salary_min_pence=3_200_000,
        salary_max_pence=4_000_000,
        closing_on=values.pop("closing_on", today + timedelta(days=10)),
        description="Join our team.",
        today=today,
        actor=actor,
        files=files,
        **values,
    )


def _form(**values):
    data = {
        "title": "Year 4 teacher",
        "role": "teacher",
        "contract_type": "permanent",
        "salary_min": "32000",
        "salary_max": "40000",
        "closing_on": (london_today() + timedelta(days=10)).isoformat(),
        "description": "Join our team.",
    }
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("pack.pdf", PDF, None),
        ("JD.DOCX", DOCX, None),
        ("pack.exe", b"MZ", "is not a file type we accept"),
        ("pack.pdf", b"", "is empty"),
        ("pack.pdf", b"<html>", "its contents do not match its name"),
        ("pack.pdf", b"%PDF-" + b"0" * rules.VACANCY_FILE_BYTES, "the limit is 5 MB"),
    ],
)
def test_a_vacancy_file_must_be_a_real_pdf_word_or_opendocument_file(name, content, problem):
    found = rules.vacancy_file_problem(name, content)
    assert (found is None) if problem is None else (problem in found)


def test_files_are_kept_with_the_vacancy_and_a_bad_one_refuses_everything(world):
    vacancy = _post(
        world.school_a,
        files=[vacancies.Upload("Job description.pdf", PDF), vacancies.Upload("a.docx", DOCX)],
    )
    assert [f.filename for f in vacancy.files] == ["Job description.pdf", "a.docx"]
    assert vacancy.files[0].size_bytes == len(PDF) and len(vacancy.files[0].sha256) == 64
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Vacancy))
    with pytest.raises(InvalidSupply) as refused:
        _post(
            world.school_a,
            title="Second",
            files=[vacancies.Upload("ok.pdf", PDF), vacancies.Upload("virus.exe", b"MZ")],
        )
    assert "virus.exe" in refused.value.message and refused.value.field == "files"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vacancy)) == before
    with pytest.raises(InvalidSupply, match="up to 5 files"):
        _post(world.school_a, files=[vacancies.Upload(f"{n}.pdf", PDF) for n in range(6)])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VacancyDocument)) == 2


def test_anyone_downloads_an_open_vacancys_file_until_it_closes(client, world):
    vacancy = _post(world.school_a, files=[vacancies.Upload("pack.pdf", PDF)])
    file_id = vacancy.files[0].id
    page = client.get(f"/vacancies/{vacancy.id}").get_data(as_text=True)
    assert f"/vacancies/{vacancy.id}/files/{file_id}" in page and "pack.pdf" in page
    response = client.get(f"/vacancies/{vacancy.id}/files/{file_id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    other = _post(world.school_b, title="Other", files=[vacancies.Upload("b.pdf", PDF)])
    assert client.get(f"/vacancies/{vacancy.id}/files/{other.files[0].id}").status_code == 404
    vacancy.closing_on = london_today() - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/vacancies/{vacancy.id}/files/{file_id}").status_code == 404


def test_a_school_uploads_its_pack_on_the_page(client, auth, world):
    auth.as_user(world.sbm_a)
    response = client.post(
        "/supply/vacancies/new",
        data=_form(files=[(io.BytesIO(PDF), "pack.pdf")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    vacancy = db.session.scalars(sa.select(Vacancy).order_by(Vacancy.id.desc())).first()
    assert vacancy.school_id == world.school_a.id and [f.filename for f in vacancy.files] == [
        "pack.pdf"
    ]
    refused = client.post(
        "/supply/vacancies/new",
        data=_form(files=[(io.BytesIO(b"MZ"), "setup.exe")]),
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "“setup.exe” is not a file type we accept" in refused.get_data(as_text=True)


def test_a_trust_posts_for_its_own_schools_only(client, auth, world):
    assert world.school_a.trust_id == world.trust.id and world.school_b.trust_id is None
    auth.as_user(world.trust_user)
    page = client.get("/supply/vacancies/new").get_data(as_text=True)
    assert world.school_a.name in page and world.school_b.name not in page
    posted = client.post("/supply/vacancies/new", data=_form(school_id=str(world.school_a.id)))
    assert posted.status_code == 302
    other = client.post("/supply/vacancies/new", data=_form(school_id=str(world.school_b.id)))
    assert other.status_code == 400
    missing = client.post("/supply/vacancies/new", data=_form())
    assert missing.status_code == 400
    assert "Choose the school the vacancy is at" in missing.get_data(as_text=True)
    with pytest.raises(InvalidSupply, match="only for your own schools"):
        _post(world.school_b, actor=world.trust_user)
    mine = db.session.scalars(sa.select(Vacancy).where(Vacancy.school_id == world.school_a.id))
    assert [v.title for v in mine] == ["Year 4 teacher"]
