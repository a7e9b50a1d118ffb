"""`flask schools import-gias` and the admin upload: upsert by URN, or write nothing."""

import html
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import Config
from app.extensions import db
from app.jobs import JobRun, JobStatus
from app.models import AuditEvent, GiasImport, GiasImportStatus, School
from tests.app.test_gias import rewrite

DATA = Path(Config.DEMO_DATA_DIR) / "schools"
SAMPLE = DATA / "gias_sample_99.csv"


def school_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(School))


def test_the_command_prints_counts_and_a_second_run_changes_nothing(runner):
    first = runner.invoke(args=["schools", "import-gias", str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "created: 90" in first.output
    assert "skipped (closed): 9" in first.output
    assert "flagged (no pupil count): 48" in first.output
    assert school_count() == 90
    flagged = db.session.scalar(
        sa.select(sa.func.count()).select_from(School).where(School.needs_pupil_count.is_(True))
    )
    assert flagged == 48

    second = runner.invoke(args=["schools", "import-gias", str(SAMPLE)])
    assert "created: 0" in second.output and "unchanged: 90" in second.output
    assert school_count() == 90


def test_an_existing_school_is_updated_by_urn(runner, tmp_path):
    runner.invoke(args=["schools", "import-gias", str(SAMPLE)])
    changed = SAMPLE.read_bytes().replace(b"The Aldgate School", b"The New Aldgate School", 1)
    path = tmp_path / "changed.csv"
    path.write_bytes(changed)
    result = runner.invoke(args=["schools", "import-gias", str(path)])
    assert "updated: 1" in result.output
    name = db.session.scalar(sa.select(School.name).where(School.urn == 100000))
    assert name == "The New Aldgate School"


def test_the_la_option_imports_one_local_authority(runner):
    result = runner.invoke(args=["schools", "import-gias", str(SAMPLE), "--la", "202"])
    assert result.exit_code == 0
    assert "skipped (other local authorities): 52" in result.output
    assert set(db.session.scalars(sa.select(School.la_code))) == {"202"}


def test_a_bad_file_gets_a_clear_error_and_writes_nothing(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    data = SAMPLE.read_bytes()
    bad.write_bytes(data + b"\r\n" + data.split(b"\r\n", 2)[1])  # a duplicate URN at the end
    result = runner.invoke(args=["schools", "import-gias", str(bad)])
    assert result.exit_code != 0
    assert "URN 100000 appears more than once" in result.output
    assert school_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_a_missing_file_is_named(runner, tmp_path):
    result = runner.invoke(args=["schools", "import-gias", str(tmp_path / "nope.csv")])
    assert result.exit_code != 0
    assert "Cannot read" in result.output


def upload(client, data: bytes, la_code: str = "", filename: str = "gias.csv"):
    return client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(data), filename), "la_code": la_code},
        content_type="multipart/form-data",
    )


def fingerprint(page: str) -> str:
    found = re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', page) or re.search(
        r'id="sha256" name="sha256" type="hidden" value="([0-9a-f]{64})"', page
    )
    assert found, "the preview has no fingerprint to confirm"
    return found.group(1)


def upload_and_confirm(client, data: bytes, la_code: str = ""):
    """Upload, read the preview, confirm it: the confirmation's response."""
    response = upload(client, data, la_code)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    preview = client.get(response.location).get_data(as_text=True)
    return client.post(response.location, data={"sha256": fingerprint(preview)})


def test_an_upload_is_previewed_and_writes_nothing_until_confirmed(client, auth, world):
    auth.as_user(world.admin)
    before = school_count()
    response = upload(client, SAMPLE.read_bytes())
    assert response.status_code == 302
    assert "/admin/schools/import/preview/" in response.location
    page = html.unescape(client.get(response.location).get_data(as_text=True))
    assert school_count() == before  # nothing written by the upload nor the preview
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
    assert "To create: 90" in page and "Skipped: 9" in page
    assert "Import 90 schools" in page
    # Every skipped school is listed with its reason.
    assert page.count('<td class="govuk-table__cell">Closed</td>') == 9

    confirmed = client.post(response.location, data={"sha256": fingerprint(page)})
    assert confirmed.status_code == 302
    assert school_count() == before + 90
    assert "90 created" in client.get(confirmed.location).get_data(as_text=True)
    # The kept upload is gone: the same preview cannot be imported twice.
    assert client.get(response.location).status_code == 404
    assert client.post(response.location, data={"sha256": "0" * 64}).status_code == 404


def test_the_preview_names_what_an_update_changes_and_who_is_skipped_by_area(client, auth, world):
    auth.as_user(world.admin)
    upload_and_confirm(client, SAMPLE.read_bytes())
    changed = SAMPLE.read_bytes().replace(
        b"Thomas Coram Centre", b"Thomas Coram Centre for Children", 1
    )
    response = upload(client, changed, la_code="202")
    page = html.unescape(client.get(response.location).get_data(as_text=True))
    assert "local authority 202 only" in page
    assert "To create: 0" in page and "To update: 1" in page
    assert '<td class="govuk-table__cell">name</td>' in page
    assert "In another local authority (668)" in page


def test_a_preview_imports_exactly_the_previewed_file(client, auth, world):
    auth.as_user(world.admin)
    before = school_count()
    response = upload(client, SAMPLE.read_bytes())
    refused = client.post(response.location, data={"sha256": "f" * 64})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "The file is not the one previewed" in page and "<title>Error: " in page
    assert school_count() == before
    missing = client.post(response.location, data={})
    assert missing.status_code == 400 and "There is a problem" in missing.get_data(as_text=True)
    assert school_count() == before


def test_an_unknown_or_expired_preview_is_not_found(app, client, auth, world, monkeypatch):
    auth.as_user(world.admin)
    assert client.get("/admin/schools/import/preview/not-a-token").status_code == 404
    assert client.get("/admin/schools/import/preview/" + "a" * 32).status_code == 404
    response = upload(client, SAMPLE.read_bytes())
    monkeypatch.setitem(app.config, "GIAS_PREVIEW_MINUTES", 0)
    assert client.get(response.location).status_code == 404


def test_the_local_authority_filter_starts_as_the_partnerships_own(
    app, client, auth, world, monkeypatch
):
    auth.as_user(world.admin)
    monkeypatch.setitem(app.config, "PARTNERSHIP_LA", "")
    page = client.get("/admin/schools/import").get_data(as_text=True)
    # The world's schools are all in Ealing (307).
    assert 'name="la_code" type="text" value="307"' in page
    monkeypatch.setitem(app.config, "PARTNERSHIP_LA", "202")
    page = client.get("/admin/schools/import").get_data(as_text=True)
    assert 'name="la_code" type="text" value="202"' in page


def test_a_bad_upload_shows_the_problem_and_writes_nothing(client, auth, world):
    auth.as_user(world.admin)
    before = school_count()
    response = client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(b"URN,Name\n1,x\n"), "schools.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "missing these GIAS columns" in page
    assert "There is a problem" in page
    assert school_count() == before


def test_only_csv_files_may_be_uploaded(client, auth, world):
    auth.as_user(world.admin)
    response = client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(b"whatever"), "schools.xlsx")},
        content_type="multipart/form-data",
    )
    assert "The file must be a CSV file" in response.get_data(as_text=True)


def big_file(copies: int) -> bytes:
    """The sample `copies` times over, each copy with URNs of its own."""
    lines = SAMPLE.read_bytes().split(b"\r\n")
    header, rows = lines[0], [r for r in lines[1:] if r]
    big = [header]
    for copy in range(copies):
        for row in rows:
            urn, rest = row.split(b",", 1)
            big.append(str(int(urn) + 1_000_000 * (copy + 1)).encode() + b"," + rest)
    return b"\r\n".join(big)


def test_a_large_file_shows_progress(runner, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(big_file(13))  # 13 × 99 rows
    result = runner.invoke(args=["schools", "import-gias", str(path)])
    assert result.exit_code == 0, result.output
    assert "Importing schools" in result.output
    assert "created: 1170" in result.output


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("URN", "100000000000000000000", "URN “10000000000000000000” is not a number"),
        ("URN", "²", "URN “²” is not a number"),
        ("URN", "-1", "URN “-1” is not a number"),
        ("NumberOfPupils", "100000000000000000000", "is not a whole number"),
        ("NumberOfPupils", "²", "NumberOfPupils “²” is not a whole number"),
    ],
)
def test_an_impossible_urn_or_pupil_count_is_named_and_writes_nothing(
    client, auth, world, column, value, message
):
    def change(rows):
        rows[3][rows[0].index(column)] = value

    auth.as_user(world.admin)
    before = school_count()
    response = client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(rewrite(SAMPLE.read_bytes(), change)), "schools.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    page = html.unescape(response.get_data(as_text=True))
    assert "There is a problem" in page and f"line 4: {column}" in page and message in page
    assert school_count() == before


def test_a_large_upload_is_imported_by_a_job_and_its_page_shows_how_it_went(
    app, client, auth, world
):
    # Jobs run inline here as the upload commits (JOBS_IMMEDIATE); tests/app/jobs run them on
    # a real consumer.
    auth.as_user(world.admin)
    before = school_count()
    response = upload_and_confirm(client, big_file(4))
    assert response.status_code == 302
    record = db.session.scalar(sa.select(GiasImport))
    assert response.location.endswith(f"/admin/schools/import/{record.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "The file has 360 schools: they are being imported." in page
    assert "Import finished: 360 created, 0 updated" in page
    assert 'http-equiv="refresh"' not in page
    assert school_count() == before + 360
    assert (record.status, record.rows_done, record.rows_total) == (
        GiasImportStatus.FINISHED,
        360,
        360,
    )
    job = db.session.scalar(sa.select(JobRun))
    assert (job.task_name, job.status, job.requested_by_id) == (
        "app.schools.import_gias_file",
        JobStatus.SUCCEEDED,
        world.admin.id,
    )


def test_a_queued_import_shows_its_progress_and_refreshes_itself(client, auth, world):
    auth.as_user(world.admin)
    record = GiasImport(filename="big.csv", data=b"", rows_total=1200, rows_done=500)
    db.session.add(record)
    db.session.commit()

    page = client.get(f"/admin/schools/import/{record.id}").get_data(as_text=True)

    assert "500 of 1200 schools imported" in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert client.get("/admin/schools/import/999999").status_code == 404


def test_a_bad_large_upload_is_refused_at_once_and_queues_nothing(client, auth, world):
    auth.as_user(world.admin)
    bad = big_file(4).replace(b"Closed", b"Closed", 1) + b"\r\nnot-a-urn,x"
    response = client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(bad), "big.csv"), "la_code": ""},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "There is a problem" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GiasImport)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_the_import_creates_trusts_by_code_and_puts_their_schools_in_them(runner, tmp_path):
    from app.models import Trust
    from tests.app.test_gias import with_trusts

    trusts = {
        "100000": ("16780", "Thames Learning Trust"),
        "100001": ("16780", "Thames Learning Trust"),
        "100003": ("20011", "Riverside Academies"),
    }
    path = tmp_path / "trusts.csv"
    path.write_bytes(with_trusts(SAMPLE.read_bytes(), trusts))
    result = runner.invoke(args=["schools", "import-gias", str(path)])
    assert result.exit_code == 0, result.output
    assert "trusts created: 2" in result.output
    members = {
        urn: code
        for urn, code in db.session.execute(
            sa.select(School.urn, Trust.code).join(Trust, School.trust_id == Trust.id)
        )
    }
    assert members == {100000: "16780", 100001: "16780", 100003: "20011"}

    # A second file matches the trusts by code: a renamed trust keeps its schools, a school
    # that left its trust leaves it, and no trust is created twice.
    renamed = {
        "100000": ("16780", "Thames and Lea Learning Trust"),
        "100003": ("20011", "Riverside Academies"),
    }
    path.write_bytes(with_trusts(SAMPLE.read_bytes(), renamed))
    again = runner.invoke(args=["schools", "import-gias", str(path)])
    assert "trusts created: 0" in again.output
    assert "updated: 1" in again.output  # 100001 left the trust
    names = dict(db.session.execute(sa.select(Trust.code, Trust.name)).all())
    assert names == {"16780": "Thames and Lea Learning Trust", "20011": "Riverside Academies"}
    left = db.session.scalar(sa.select(School.trust_id).where(School.urn == 100001))
    assert left is None
