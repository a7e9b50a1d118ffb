"""Reading the real GIAS export, and refusing wrong files with a clear message."""

import csv
import io
from pathlib import Path

import pytest

from app import gias
from app.config import Config

SAMPLE = Path(Config.DEMO_DATA_DIR) / "schools" / "gias_sample_99.csv"


@pytest.fixture(scope="module")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def rewrite(data: bytes, change) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("latin-1"))))
    change(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("latin-1")


def test_the_real_sample_imports_open_schools_and_flags_missing_pupil_counts(sample_bytes):
    result = gias.parse(sample_bytes)
    assert result.rows_read == 99
    assert result.skipped_closed == 9
    assert len(result.schools) == 90
    assert len(result.flagged) == 48
    aldgate = next(s for s in result.schools if s.urn == 100000)
    assert (aldgate.name, aldgate.phase, aldgate.la_code, aldgate.pupils) == (
        "The Aldgate School",
        "Primary",
        "201",
        276,
    )
    assert aldgate.fsm_percent == pytest.approx(10.2)


def test_columns_are_found_by_name_not_position(sample_bytes):
    def reverse_columns(rows):
        for i, row in enumerate(rows):
            rows[i] = list(reversed(row))

    assert (
        gias.parse(rewrite(sample_bytes, reverse_columns)).schools
        == gias.parse(sample_bytes).schools
    )


def test_a_local_authority_filter_skips_other_areas(sample_bytes):
    result = gias.parse(sample_bytes, la_code="202")
    assert {s.la_code for s in result.schools} == {"202"}
    assert result.skipped_other_la > 0


def test_utf8_files_with_a_byte_order_mark_are_read_too(sample_bytes):
    text = sample_bytes.decode("latin-1")
    assert (
        gias.parse(b"\xef\xbb\xbf" + text.encode("utf-8")).schools
        == gias.parse(sample_bytes).schools
    )


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (lambda d: b"", "empty"),
        (lambda d: b"PK\x03\x04" + d[:100], "Excel workbook"),
        (lambda d: d.decode("latin-1").encode("utf-16"), "UTF-16"),
        (lambda d: b"just some words\nno commas", "not a CSV"),
        (
            lambda d: d.replace(b"NumberOfPupils", b"Pupils", 1),
            "missing these GIAS columns: NumberOfPupils",
        ),
        (lambda d: d + b"\r\n" + d.split(b"\r\n", 2)[1], "URN 100000 appears more than once"),
        (lambda d: d.split(b"\r\n", 1)[0] + b"\r\n", "no schools"),
    ],
    ids=["empty", "xlsx", "utf16", "not-csv", "missing-column", "duplicate-urn", "header-only"],
)
def test_wrong_files_are_refused_naming_the_problem(sample_bytes, make_bad, message):
    with pytest.raises(gias.GiasFileError, match=message):
        gias.parse(make_bad(sample_bytes))


def test_bad_values_are_named_with_their_line(sample_bytes):
    def break_row(rows):
        header = rows[0]
        rows[3][header.index("NumberOfPupils")] = "lots"
        rows[5][header.index("URN")] = "ABC"

    with pytest.raises(gias.GiasFileError) as error:
        gias.parse(rewrite(sample_bytes, break_row))
    assert "line 4: NumberOfPupils “lots” is not a whole number" in str(error.value)
    assert "line 6: URN “ABC” is not a number" in str(error.value)


def with_trusts(data: bytes, trusts: dict[str, tuple[str, str]]) -> bytes:
    """The sample with the given schools (by URN) in trusts: URN -> (code, name)."""

    def put(rows):
        code, name = rows[0].index("Trusts (code)"), rows[0].index("Trusts (name)")
        for row in rows[1:]:
            if row and row[0] in trusts:
                row[code], row[name] = trusts[row[0]]

    return rewrite(data, put)


def test_a_schools_trust_is_read_from_the_trust_columns(sample_bytes):
    data = with_trusts(sample_bytes, {"100000": ("16780", "Thames Learning Trust")})
    result = gias.parse(data)
    assert result.has_trusts
    aldgate = next(s for s in result.schools if s.urn == 100000)
    assert (aldgate.trust_code, aldgate.trust_name) == ("16780", "Thames Learning Trust")
    others = [s for s in result.schools if s.urn != 100000]
    assert {s.trust_code for s in others} == {""}


def test_a_file_without_the_trust_columns_still_imports_without_trusts(sample_bytes):
    def drop_trusts(rows):
        keep = [i for i, h in enumerate(rows[0]) if h not in ("Trusts (code)", "Trusts (name)")]
        for n, row in enumerate(rows):
            rows[n] = [row[i] for i in keep if i < len(row)]

    result = gias.parse(rewrite(sample_bytes, drop_trusts))
    assert not result.has_trusts
    assert len(result.schools) == 90


def test_a_trust_code_without_a_trust_name_is_named_with_its_line(sample_bytes):
    data = with_trusts(sample_bytes, {"100000": ("16780", "")})
    with pytest.raises(gias.GiasFileError, match=r"line 2: URN 100000 has a Trusts \(code\)"):
        gias.parse(data)
