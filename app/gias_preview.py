"""The GIAS upload's preview: an uploaded file is checked and kept (file and a note of its
filter) in a folder of the instance, named by a random token, until the admin confirms it or it
expires. Nothing is written to the database before the confirmation, which imports exactly the
kept file (its SHA-256, shown on the preview, is checked again) through app.schools."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.errors import NotFound
from app.extensions import db
from app.models import GiasImport, School, User
from app.schools import GIAS_FIELDS, ImportFailed, ImportReport, parse_gias, start_gias_import
from app.time import utcnow

# How the preview names a field that an import would change.
_FIELD_NAMES = {
    "name": "name",
    "status": "status",
    "phase": "phase",
    "type_name": "type",
    "la_code": "local authority code",
    "la_name": "local authority",
    "pupils": "pupil count",
    "fsm_percent": "free school meals %",
    "postcode": "postcode",
    "town": "town",
}


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class PreviewRow:
    urn: int
    name: str
    la_name: str
    detail: str  # what changes (updated), or why it is skipped


@dataclass(frozen=True)
class ImportPreview:
    """What confirming an upload would do, worked out against the schools as they are now."""

    token: str
    filename: str
    la_code: str | None
    sha256: str
    uploaded_at: datetime
    expires_at: datetime
    created: list[PreviewRow]
    updated: list[PreviewRow]
    unchanged: int
    skipped: list[PreviewRow]
    flagged: int


@dataclass(frozen=True)
class _Held:
    data: bytes
    filename: str
    la_code: str | None
    sha256: str
    uploaded_at: datetime


def partnership_la_code(configured: str) -> str | None:
    """The partnership's own local authority code: `configured` (PARTNERSHIP_LA) when set, else
    the code most member schools have, else the code most schools have (None: no schools)."""
    if configured.strip():
        return configured.strip()
    for members_only in (True, False):
        stmt = sa.select(School.la_code).where(School.la_code != "")
        if members_only:
            stmt = stmt.where(School.is_member.is_(True))
        counts = Counter(db.session.scalars(stmt))
        if counts:
            # Most schools; on a tie the lowest code, so the answer does not depend on order.
            return min(counts, key=lambda code: (-counts[code], code))
    return None


def hold_gias_upload(
    data: bytes, *, filename: str, la_code: str | None, folder: Path, lifetime: timedelta
) -> str:
    """Check an uploaded file (a bad one raises ImportFailed) and keep it for the preview;
    returns its token. Writes nothing to the database."""
    parse_gias(data, la_code)
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    _forget_expired(folder, now - lifetime)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.csv").write_bytes(data)
    note = {
        "filename": filename[:200],
        "la_code": la_code,
        "sha256": hashlib.sha256(data).hexdigest(),
        "uploaded_at": now.isoformat(),
    }
    (folder / f"{token}.json").write_text(json.dumps(note), encoding="utf-8")
    return token


def _forget_expired(folder: Path, before: datetime) -> None:
    for path in folder.glob("*.json"):
        try:
            uploaded_at = datetime.fromisoformat(json.loads(path.read_text("utf-8"))["uploaded_at"])
        except (OSError, ValueError, KeyError):
            continue
        if uploaded_at < before:
            _forget(folder, path.stem)


def _forget(folder: Path, token: str) -> None:
    for suffix in (".csv", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def _held(token: str, folder: Path, lifetime: timedelta) -> _Held:
    gone = NotFound("This preview has expired or was already imported. Upload the file again.")
    if not _TOKEN.match(token):
        raise gone
    try:
        note = json.loads((folder / f"{token}.json").read_text("utf-8"))
        data = (folder / f"{token}.csv").read_bytes()
    except (OSError, ValueError) as exc:
        raise gone from exc
    uploaded_at = datetime.fromisoformat(note["uploaded_at"]).astimezone(UTC)
    if uploaded_at < utcnow() - lifetime:
        _forget(folder, token)
        raise gone
    return _Held(data, note["filename"], note["la_code"], note["sha256"], uploaded_at)


def preview_gias_upload(token: str, *, folder: Path, lifetime: timedelta) -> ImportPreview:
    """What importing a kept upload would create, update and skip (reads, never writes)."""
    held = _held(token, folder, lifetime)
    parsed = parse_gias(held.data, held.la_code)
    existing = {school.urn: school for school in db.session.scalars(sa.select(School))}
    created: list[PreviewRow] = []
    updated: list[PreviewRow] = []
    unchanged = 0
    for row in parsed.schools:
        school = existing.get(row.urn)
        if school is None:
            created.append(PreviewRow(row.urn, row.name, row.la_name, ""))
            continue
        changed = [name for name in GIAS_FIELDS if getattr(school, name) != getattr(row, name)]
        if changed:
            detail = ", ".join(_FIELD_NAMES[name] for name in changed)
            updated.append(PreviewRow(row.urn, row.name, row.la_name, detail))
        else:
            unchanged += 1
    skipped = [PreviewRow(r.urn, r.name, r.la_name, r.reason) for r in parsed.skipped]
    return ImportPreview(
        token=token,
        filename=held.filename,
        la_code=held.la_code,
        sha256=held.sha256,
        uploaded_at=held.uploaded_at,
        expires_at=held.uploaded_at + lifetime,
        created=created,
        updated=updated,
        unchanged=unchanged,
        skipped=skipped,
        flagged=len(parsed.flagged),
    )


def confirm_gias_import(
    token: str,
    sha256: str,
    *,
    actor: User,
    folder: Path,
    lifetime: timedelta,
    queue_above: int,
) -> ImportReport | GiasImport:
    """Import exactly the previewed file (its fingerprint must match the preview's), now or as
    a job, and forget the kept copy."""
    held = _held(token, folder, lifetime)
    if hashlib.sha256(held.data).hexdigest() != held.sha256 or sha256 != held.sha256:
        raise ImportFailed(
            "The file is not the one previewed. Nothing was imported: upload it again."
        )
    result = start_gias_import(
        held.data,
        filename=held.filename,
        la_code=held.la_code,
        actor=actor,
        queue_above=queue_above,
    )
    _forget(folder, token)
    return result
