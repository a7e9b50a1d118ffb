"""Reading the DfE "Get Information About Schools" establishment export.

Pure: standard library only. Columns are matched by header name, never by position.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

# Our field -> the GIAS column header.
COLUMNS = {
    "urn": "URN",
    "name": "EstablishmentName",
    "status": "EstablishmentStatus (name)",
    "phase": "PhaseOfEducation (name)",
    "type_name": "TypeOfEstablishment (name)",
    "la_code": "LA (code)",
    "la_name": "LA (name)",
    "pupils": "NumberOfPupils",
    "fsm_percent": "PercentageFSM",
    "postcode": "Postcode",
    "town": "Town",
}
# Read when the file has them (the full export does): the multi-academy trust a school is in.
TRUST_COLUMNS = {"trust_code": "Trusts (code)", "trust_name": "Trusts (name)"}
CLOSED_STATUSES = frozenset({"Closed"})
# URNs and pupil counts are stored in 32-bit integer columns.
WHOLE_MAX = 2_147_483_647
MAX_PROBLEMS_SHOWN = 10


class GiasFileError(ValueError):
    """The file cannot be imported; the message names the problem."""


@dataclass(frozen=True)
class GiasSchool:
    urn: int
    name: str
    status: str
    phase: str
    type_name: str
    la_code: str
    la_name: str
    pupils: int | None
    fsm_percent: float | None
    postcode: str
    town: str
    # The school's trust by GIAS group code and name; "" when it is in none.
    trust_code: str = ""
    trust_name: str = ""


@dataclass(frozen=True)
class SkippedRow:
    """A school in the file that is not imported, and why."""

    urn: int
    name: str
    la_name: str
    reason: str


@dataclass
class GiasFile:
    """What a file holds: the schools to upsert and what was left out."""

    schools: list[GiasSchool] = field(default_factory=list)
    skipped_closed: int = 0
    skipped_other_la: int = 0
    rows_read: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    # Whether the file has the trust columns (so a school with none has left its trust).
    has_trusts: bool = False

    @property
    def flagged(self) -> list[GiasSchool]:
        """Schools with no pupil count: imported, but their subscription needs one."""
        return [s for s in self.schools if s.pupils is None]


def decode(data: bytes) -> str:
    """GIAS exports are Windows-1252 (latin-1); UTF-8 (with or without BOM) is accepted too."""
    if not data.strip():
        raise GiasFileError("The file is empty.")
    if data[:4] == b"PK\x03\x04":
        raise GiasFileError(
            "This looks like an Excel workbook or zip file, not a CSV. "
            "Download the establishment export as CSV from GIAS."
        )
    if data[:5] == b"%PDF-":
        raise GiasFileError("This is a PDF, not a CSV file.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4096]:
        raise GiasFileError(
            "The file is not in a text encoding we can read (it looks like UTF-16 or binary). "
            "Save it as CSV in Windows-1252 (latin-1) or UTF-8."
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _whole(text: str) -> int | None:
    """A whole number written in ASCII digits that fits the database, else None ("²", 10^20)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > WHOLE_MAX:
        return None
    return int(text)


def _skipped(urn: int, value: dict[str, str], reason: str) -> SkippedRow:
    return SkippedRow(urn=urn, name=value["name"][:200], la_name=value["la_name"], reason=reason)


def parse(data: bytes, *, la_code: str | None = None) -> GiasFile:
    """Check the whole file and return its schools; raises GiasFileError naming every problem."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise GiasFileError("The file is not a CSV file with a header row.") from exc
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise GiasFileError(
            "The file is not a CSV file with a header row "
            "(expected comma-separated columns such as URN and EstablishmentName)."
        )
    missing = [col for col in COLUMNS.values() if col not in header]
    if missing:
        raise GiasFileError(
            "The file is missing these GIAS columns: " + ", ".join(missing) + ". "
            "Use the full establishment export from Get Information About Schools."
        )
    index = {name: header.index(col) for name, col in COLUMNS.items()}
    has_trusts = all(col in header for col in TRUST_COLUMNS.values())
    if has_trusts:
        index.update({name: header.index(col) for name, col in TRUST_COLUMNS.items()})
    wanted_la = la_code.strip() if la_code else None

    result = GiasFile(has_trusts=has_trusts)
    problems: list[str] = []
    first_line_of: dict[int, int] = {}
    duplicates: dict[int, list[int]] = {}
    try:
        for line_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            result.rows_read += 1
            if len(row) < len(header):
                problems.append(
                    f"line {line_number}: has {len(row)} columns, the header has {len(header)}"
                )
                continue
            value = {name: row[i].strip() for name, i in index.items()}
            urn_text = value["urn"]
            urn = _whole(urn_text)
            if urn is None:
                problems.append(f"line {line_number}: URN “{urn_text[:20]}” is not a number")
                continue
            if urn in first_line_of:
                duplicates.setdefault(urn, [first_line_of[urn]]).append(line_number)
                continue
            first_line_of[urn] = line_number
            if value["status"] in CLOSED_STATUSES:
                result.skipped_closed += 1
                result.skipped.append(_skipped(urn, value, "Closed"))
                continue
            if wanted_la is not None and value["la_code"] != wanted_la:
                result.skipped_other_la += 1
                result.skipped.append(
                    _skipped(urn, value, f"In another local authority ({value['la_code']})")
                )
                continue
            if not value["name"]:
                problems.append(f"line {line_number}: URN {urn} has no EstablishmentName")
                continue
            if value.get("trust_code") and not value.get("trust_name"):
                problems.append(
                    f"line {line_number}: URN {urn} has a Trusts (code) but no Trusts (name)"
                )
                continue
            pupils: int | None = None
            if value["pupils"]:
                pupils = _whole(value["pupils"])
                if pupils is None:
                    problems.append(
                        f"line {line_number}: NumberOfPupils “{value['pupils'][:20]}”"
                        " is not a whole number"
                    )
                    continue
            fsm: float | None = None
            if value["fsm_percent"]:
                try:
                    fsm = float(value["fsm_percent"])
                except ValueError:
                    problems.append(
                        f"line {line_number}: PercentageFSM “{value['fsm_percent']}”"
                        " is not a number"
                    )
                    continue
                if not 0 <= fsm <= 100:
                    problems.append(
                        f"line {line_number}: PercentageFSM {fsm} is not between 0 and 100"
                    )
                    continue
            result.schools.append(
                GiasSchool(
                    urn=urn,
                    name=value["name"][:200],
                    status=value["status"],
                    phase=value["phase"],
                    type_name=value["type_name"],
                    la_code=value["la_code"],
                    la_name=value["la_name"],
                    pupils=pupils,
                    fsm_percent=fsm,
                    postcode=value["postcode"][:12],
                    town=value["town"][:100],
                    trust_code=value.get("trust_code", "")[:20],
                    trust_name=value.get("trust_name", "")[:200],
                )
            )
    except csv.Error as exc:
        raise GiasFileError(f"The file is not valid CSV: {exc}") from exc

    for urn, lines in sorted(duplicates.items()):
        problems.append(f"URN {urn} appears more than once (lines {', '.join(map(str, lines))})")
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise GiasFileError(
            "Nothing was imported. Fix these problems and try again: "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
            + "."
        )
    if result.rows_read == 0:
        raise GiasFileError("The file has a header row but no schools.")
    return result
