"""The catalogue's services as a CSV file: `flask services export` writes it, `flask services
import` reads it back (creating or updating each service by its short name).

Columns (header row required, any order; names as below):

| column | required | value |
|-------------|----------|-------|
| slug | yes | the service's short name: lower-case words joined by hyphens |
| name | yes | as schools see it |
| kind | yes | core (in the subscription) or traded (bought on top) |
| category | yes | a category's short name (the category must exist) |
| unit | yes | day, hour, session, ECT, pupil, meeting, package, staff head, payslip or visit |
| vat | yes | standard, exempt, zero or outside-scope |
| description | no | free text |
| includes | no | for a core service: what the subscription includes |
| retired | no | yes or no (blank: no) |

A file with any problem is refused as a whole, every problem named with its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from app.extensions import db
from app.models import User
from app.use_case import use_case
from marketplace.catalogue import editing
from marketplace.catalogue.errors import InvalidCatalogueEntry
from marketplace.catalogue.models import ServiceKind, Unit, VatTreatment

E = TypeVar("E", bound=StrEnum)

COLUMNS = ("slug", "name", "kind", "category", "unit", "vat", "description", "includes", "retired")
REQUIRED = COLUMNS[:6]
MAX_ROWS = 5000


class ServicesFileRefused(InvalidCatalogueEntry):
    """The file has problems; `problems` lists each, with its line number."""

    code = "services_file_refused"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The file was not imported:\n" + "\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int


def export_csv() -> str:
    """Every service, retired ones too, by category and name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for service in editing.all_services():
        writer.writerow(
            [
                service.slug,
                service.name,
                service.kind.value,
                service.category.slug,
                service.unit.value,
                service.vat.value,
                service.description,
                service.includes,
                "yes" if service.retired else "no",
            ]
        )
    return out.getvalue()


def _choice(value: str, enum: type[E], column: str) -> E:
    allowed = [member.value for member in enum]
    for member in enum:
        if member.value.lower() == value.strip().lower():
            return member
    raise InvalidCatalogueEntry(f"{column} must be one of {', '.join(allowed)}, not {value!r}")


def _rows(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServicesFileRefused(["The file is not UTF-8 text (save it as CSV UTF-8)."]) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ServicesFileRefused([f"The file is not a readable CSV file: {exc}."]) from exc
    problems = []
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        problems.append(f"Line 1: the header row lacks the column(s) {', '.join(missing)}.")
    unknown = [column for column in header if column and column not in COLUMNS]
    if unknown:
        problems.append(f"Line 1: unknown column(s) {', '.join(unknown)}.")
    if problems:
        raise ServicesFileRefused(problems)
    records = []
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(f"Line {line}: more values than the header row has columns.")
            continue
        records.append((line, {header[i]: cell for i, cell in enumerate(row)}))
    if not records and not problems:
        problems.append("The file has no services under its header row.")
    if len(records) > MAX_ROWS:
        problems.append(f"The file has {len(records):,} services; at most {MAX_ROWS:,} at once.")
    if problems:
        raise ServicesFileRefused(problems)
    return header, records


@use_case
def import_csv(data: bytes, actor: User | None) -> ImportReport:
    """Create or update each service of the file by its slug, all or nothing."""
    _header, records = _rows(data)
    problems: list[str] = []
    seen: dict[str, int] = {}
    checked: list[tuple[editing.ServiceInput, bool | None]] = []
    for line, record in records:
        try:
            slug = editing.check_slug(record.get("slug", ""), 80)
            if slug in seen:
                raise InvalidCatalogueEntry(f"the slug {slug} is also on line {seen[slug]}")
            seen[slug] = line
            retired_text = record.get("retired", "").strip().lower()
            if retired_text not in ("", "yes", "no"):
                raise InvalidCatalogueEntry(
                    f"retired must be yes, no or blank, not {retired_text!r}"
                )
            values = editing.ServiceInput(
                slug=slug,
                name=record.get("name", ""),
                kind=_choice(record.get("kind", ""), ServiceKind, "kind"),
                category_slug=record.get("category", ""),
                unit=_choice(record.get("unit", ""), Unit, "unit"),
                vat=_choice(record.get("vat", ""), VatTreatment, "vat"),
                description=record.get("description", ""),
                includes=record.get("includes", ""),
            )
            editing.service_columns(values, editing.service_by_slug(slug))
        except InvalidCatalogueEntry as exc:
            problems.append(f"Line {line}: {exc.message.rstrip('.')}.")
            continue
        checked.append((values, None if not retired_text else retired_text == "yes"))
    if problems:
        raise ServicesFileRefused(problems)
    created = updated = unchanged = 0
    for values, retired in checked:
        service = editing.service_by_slug(values.slug)
        if service is None:
            service = editing.add_service(values, actor)
            service.active = not retired
            created += 1
            continue
        changed = editing.change_service(service, values, actor)
        if retired is not None and service.retired != retired:
            service.active = not retired
            changed = True
        if changed:
            updated += 1
        else:
            unchanged += 1
    db.session.commit()
    return ImportReport(created=created, updated=updated, unchanged=unchanged)
