"""The partnership's bank payments as a CSV file: read, matched to providers and checked.

Pure: the standard library and app.money only. The caller passes the providers and the
payments already recorded; nothing here reads or writes the database.

Columns (a header row is required; names in any case and any order; other columns, such as a
bank's balance column, are ignored):

- `date` (required): the day the payment left the account, 2026-11-30, 30/11/2026 or
  30-11-2026; not later than today.
- `amount` (required): pounds paid, more than £0: 1250.50 or £1,250.50.
- `reference` (required): the bank reference, unique per provider (compared ignoring case
  and repeated spaces).
- `payee` (required unless provider_id is given): the provider's name as on Pooled; case,
  punctuation and a closing "Ltd", "Limited", "LLP", "PLC" or "CIC" are ignored.
- `provider_id` (optional): the provider's number on Pooled; when given it decides who was
  paid, and payee is kept as written.

Each row is good, **already recorded** (the same provider, reference, date and amount is on
Pooled: importing skips it, so the same file imported twice records nothing twice), or has
problems, each named with its line number: a bad date, a bad amount, no reference, an unknown
payee, a reference used twice in the file, or a reference already recorded for that provider
with another date or amount.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.money import MoneyError, format_pence, parse_pounds
from marketplace.payouts.rules import normalise_payee, normalise_reference

COLUMNS = ("date", "amount", "reference", "payee", "provider_id")
MAX_ROWS = 5000
REFERENCE_MAX = 60
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DAY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")


@dataclass(frozen=True)
class Payee:
    """A provider a bank line can be matched to."""

    id: int
    name: str


@dataclass(frozen=True)
class Recorded:
    """A payment already on Pooled, by provider and reference."""

    paid_on: date
    amount_pence: int


@dataclass
class BankRow:
    line: int
    paid_on: date | None
    amount_pence: int | None
    reference: str
    payee: str
    provider: Payee | None
    problems: list[str] = field(default_factory=list)
    already_recorded: bool = False

    @property
    def good(self) -> bool:
        return not self.problems

    @property
    def to_record(self) -> bool:
        return self.good and not self.already_recorded


@dataclass(frozen=True)
class BankFile:
    """A checked file: its rows, and the problems of the file as a whole (e.g. its header)."""

    rows: list[BankRow]
    file_problems: list[str]

    @property
    def problems(self) -> list[str]:
        """Every problem, the file's first, each row's with its line number."""
        return self.file_problems + [
            f"Line {row.line}: {problem}" for row in self.rows for problem in row.problems
        ]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def to_record(self) -> list[BankRow]:
        return [row for row in self.rows if row.to_record]

    @property
    def already_recorded(self) -> list[BankRow]:
        return [row for row in self.rows if row.good and row.already_recorded]

    @property
    def total_pence(self) -> int:
        return sum(row.amount_pence or 0 for row in self.to_record)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # a bank's Windows export


def parse_day(text: str) -> date:
    """A payment date as a bank writes it; ValueError names what is wrong."""
    raw = text.strip()
    if not raw:
        raise ValueError("no date")
    iso, uk = _ISO_DAY.match(raw), _UK_DAY.match(raw)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if uk:
            return date(int(uk[3]), int(uk[2]), int(uk[1]))
    except ValueError:
        raise ValueError(f"the date “{raw}” is not a real date") from None
    raise ValueError(f"the date “{raw}” is not a date like 2026-11-30 or 30/11/2026")


def _provider_by_id(text: str, by_id: Mapping[int, Payee]) -> Payee:
    raw = text.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) not in by_id:
        raise ValueError(f"no provider has the provider_id “{raw}”")
    return by_id[int(raw)]


def _provider_by_name(text: str, by_name: Mapping[str, list[Payee]]) -> Payee:
    raw = " ".join(text.split())
    if not raw:
        raise ValueError("no payee (the provider's name) and no provider_id")
    found = by_name.get(normalise_payee(raw), [])
    if not found:
        raise ValueError(f"unknown payee “{raw}”: no provider has this name")
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise ValueError(f"the payee “{raw}” could be {names}: add a provider_id column")
    return found[0]


def _check_row(
    line: int,
    record: dict[str, str],
    today: date,
    by_id: Mapping[int, Payee],
    by_name: Mapping[str, list[Payee]],
) -> BankRow:
    row = BankRow(line, None, None, "", " ".join(record.get("payee", "").split()), None)
    try:
        row.paid_on = parse_day(record.get("date", ""))
        if row.paid_on > today:
            row.paid_on = None
            row.problems.append(f"the date {record['date'].strip()} is after today")
    except ValueError as exc:
        row.problems.append(str(exc))
    raw_amount = record.get("amount", "").strip()
    try:
        row.amount_pence = parse_pounds(raw_amount, allow_zero=False)
    except MoneyError as exc:
        shown = f"“{raw_amount}”" if raw_amount else "missing"
        row.problems.append(f"the amount {shown} is not accepted: {str(exc).rstrip('.')}")
    row.reference = normalise_reference(record.get("reference", ""))
    if not row.reference:
        row.problems.append("no bank reference")
    elif len(row.reference) > REFERENCE_MAX:
        row.problems.append(f"the reference is longer than {REFERENCE_MAX} characters")
    try:
        if record.get("provider_id", "").strip():
            row.provider = _provider_by_id(record["provider_id"], by_id)
        else:
            row.provider = _provider_by_name(record.get("payee", ""), by_name)
    except ValueError as exc:
        row.problems.append(str(exc))
    return row


def _records(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ValueError(f"The file is not a readable CSV file: {exc}.") from exc
    problems = []
    missing = [c for c in ("date", "amount", "reference") if c not in header]
    if "payee" not in header and "provider_id" not in header:
        missing.append("payee (or provider_id)")
    if missing:
        problems.append(f"Line 1: the header row lacks the column(s) {', '.join(missing)}.")
    records = []
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(f"Line {line}: more values than the header row has columns.")
            continue
        records.append((line, {header[i]: cell for i, cell in enumerate(cells)}))
    if not records and not problems:
        problems.append("The file has no payments under its header row.")
    if len(records) > MAX_ROWS:
        problems.append(f"The file has {len(records):,} payments; at most {MAX_ROWS:,} at once.")
    if problems:
        raise ValueError("\n".join(problems))
    return header, records


def check(
    data: bytes,
    *,
    providers: Sequence[Payee],
    recorded: Mapping[tuple[int, str], Recorded],
    today: date,
) -> BankFile:
    """Read a bank file and check every row against the providers and the recorded payments."""
    try:
        _header, records = _records(_text(data))
    except ValueError as exc:
        return BankFile([], str(exc).split("\n"))
    by_id = {p.id: p for p in providers}
    by_name: dict[str, list[Payee]] = {}
    for provider in sorted(providers, key=lambda p: p.id):
        by_name.setdefault(normalise_payee(provider.name), []).append(provider)
    rows = [_check_row(line, record, today, by_id, by_name) for line, record in records]
    seen: dict[tuple[int, str], int] = {}
    for row in rows:
        if row.provider is None or not row.reference:
            continue
        key = (row.provider.id, row.reference)
        if key in seen:
            row.problems.append(
                f"the reference {row.reference} for {row.provider.name} is also on line {seen[key]}"
            )
            continue
        seen[key] = row.line
        earlier = recorded.get(key)
        if earlier is None:
            continue
        if (earlier.paid_on, earlier.amount_pence) == (row.paid_on, row.amount_pence):
            row.already_recorded = True
        elif row.paid_on is not None and row.amount_pence is not None:
            row.problems.append(
                f"the reference {row.reference} is already recorded for {row.provider.name}: "
                f"{format_pence(earlier.amount_pence)} paid on {earlier.paid_on.isoformat()}"
            )
    return BankFile(rows, [])
