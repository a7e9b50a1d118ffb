"""Use cases for schools: the GIAS import (a large file's as a queued job) and membership."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from app import audit, gias
from app.errors import DomainError, NotFound
from app.extensions import db
from app.jobs import enqueue_after_commit, task
from app.membership import SubscriptionBreakdown, subscription
from app.models import (
    GiasImport,
    GiasImportStatus,
    Membership,
    MembershipTerm,
    School,
    Trust,
    User,
)
from app.time import utcnow


class ImportFailed(DomainError):
    code = "gias_import_failed"


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    skipped_closed: int
    skipped_other_la: int
    flagged: int
    trusts_created: int = 0

    def summary(self) -> str:
        text = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped_closed} closed schools skipped, "
            f"{self.flagged} flagged with no pupil count"
        )
        if self.trusts_created:
            text += f", {self.trusts_created} trusts created"
        if self.skipped_other_la:
            text += f", {self.skipped_other_la} in other local authorities skipped"
        return text


GIAS_FIELDS = (
    "name",
    "status",
    "phase",
    "type_name",
    "la_code",
    "la_name",
    "pupils",
    "fsm_percent",
    "postcode",
    "town",
)


def import_gias(
    data: bytes,
    *,
    la_code: str | None = None,
    actor: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Upsert schools by URN from a GIAS export; a bad file raises and writes nothing."""
    return _import(parse_gias(data, la_code), actor, progress)


def parse_gias(data: bytes, la_code: str | None) -> gias.GiasFile:
    """A GIAS file's schools; a bad file raises ImportFailed naming every problem."""
    try:
        return gias.parse(data, la_code=la_code)
    except gias.GiasFileError as exc:
        raise ImportFailed(str(exc)) from exc


def _import(
    parsed: gias.GiasFile, actor: User | None, progress: Callable[[int, int], None] | None
) -> ImportReport:
    existing = {school.urn: school for school in db.session.scalars(sa.select(School))}
    trusts = {trust.code: trust for trust in db.session.scalars(sa.select(Trust))}
    trusts_created = 0
    created = updated = unchanged = 0
    total = len(parsed.schools)
    for position, row in enumerate(parsed.schools, start=1):
        school = existing.get(row.urn)
        values: dict[str, object] = {name: getattr(row, name) for name in GIAS_FIELDS}
        if parsed.has_trusts:
            trust = trusts.get(row.trust_code) if row.trust_code else None
            if row.trust_code and trust is None:
                trust = Trust(code=row.trust_code, name=row.trust_name)
                db.session.add(trust)
                trusts[row.trust_code] = trust
                trusts_created += 1
            elif trust is not None and trust.name != row.trust_name:
                trust.name = row.trust_name
            values["trust"] = trust
        if school is None:
            school = School(urn=row.urn, needs_pupil_count=row.pupils is None, **values)
            db.session.add(school)
            existing[row.urn] = school
            created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(school, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(school, key, value)
                school.needs_pupil_count = row.pupils is None
                updated += 1
            else:
                unchanged += 1
        if progress is not None and (position % 500 == 0 or position == total):
            progress(position, total)
    report = ImportReport(
        created=created,
        updated=updated,
        unchanged=unchanged,
        skipped_closed=parsed.skipped_closed,
        skipped_other_la=parsed.skipped_other_la,
        flagged=len(parsed.flagged),
        trusts_created=trusts_created,
    )
    audit.record(actor, "gias_import", "-", "imported", after=report.__dict__, scope="schools")
    db.session.commit()
    return report


def start_gias_import(
    data: bytes,
    *,
    filename: str,
    la_code: str | None,
    actor: User,
    queue_above: int,
) -> ImportReport | GiasImport:
    """Import a GIAS file now if it has at most `queue_above` schools; else check it now (a
    bad file is refused at once, writing nothing) and queue the import as a job."""
    parsed = parse_gias(data, la_code)
    if len(parsed.schools) <= queue_above:
        return _import(parsed, actor, None)
    record = GiasImport(
        filename=filename[:200],
        data=data,
        la_code=la_code,
        rows_total=len(parsed.schools),
        requested_by_id=actor.id,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        "gias_import",
        record.id,
        "queued",
        after={"filename": record.filename, "schools": record.rows_total},
        scope="schools",
    )
    enqueue_after_commit(import_gias_file, record.id, requested_by=actor)
    db.session.commit()
    return record


def get_gias_import(import_id: int) -> GiasImport:
    record = db.session.get(GiasImport, import_id)
    if record is None:
        raise NotFound("No such import.")
    return record


@task(retries=2, retry_delay=30)
def import_gias_file(import_id: int) -> None:
    """Import a queued GIAS file, committing every 500 schools with the progress the page shows.
    Schools are upserted by URN, so an import run again after a failure redoes nothing twice."""
    record = db.session.get(GiasImport, import_id)
    if record is None or record.status is GiasImportStatus.FINISHED:
        return
    record.status = GiasImportStatus.RUNNING
    record.error = ""
    db.session.commit()
    actor = db.session.get(User, record.requested_by_id) if record.requested_by_id else None

    def progress(done: int, total: int) -> None:
        record.rows_done, record.rows_total = done, total
        db.session.commit()

    session = db.session()
    session.expire_on_commit = False  # the schools already read stay loaded between batches
    try:
        report = _import(parse_gias(record.data, record.la_code), actor, progress)
    except Exception as exc:
        db.session.rollback()
        record.status = GiasImportStatus.FAILED
        record.error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}"
        record.finished_at = utcnow()
        db.session.commit()
        raise
    finally:
        session.expire_on_commit = True
    record.status = GiasImportStatus.FINISHED
    record.summary = report.summary()
    record.finished_at = utcnow()
    db.session.commit()


def get_school(school_id: int) -> School:
    school = db.session.get(School, school_id)
    if school is None:
        raise NotFound("No such school.")
    return school


def current_term(start_year: int) -> MembershipTerm | None:
    return db.session.scalar(
        sa.select(MembershipTerm).where(MembershipTerm.start_year == start_year)
    )


def subscription_for(membership: Membership) -> SubscriptionBreakdown:
    """The subscription a membership owes, from its term's rate, cap and match."""
    term = membership.term
    cap = membership.cap_pence if membership.cap_pence is not None else term.default_cap_pence
    return subscription(
        membership.pupils_counted, term.rate_per_pupil_pence, cap, term.council_match_bp
    )


def membership_of(school_id: int, start_year: int) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership)
        .join(MembershipTerm)
        .where(Membership.school_id == school_id, MembershipTerm.start_year == start_year)
    )


class MembershipError(DomainError):
    code = "membership_invalid"


def save_membership_term(
    *,
    start_year: int,
    rate_per_pupil_pence: int,
    default_cap_pence: int | None,
    council_match_bp: int,
    actor: User | None,
) -> MembershipTerm:
    """Create or change the subscription terms for an academic year."""
    if rate_per_pupil_pence <= 0:
        raise MembershipError("The rate per pupil must be more than £0.")
    if default_cap_pence is not None and default_cap_pence <= 0:
        raise MembershipError("A cap must be more than £0, or left blank for no cap.")
    if not 0 <= council_match_bp <= 20_000:
        raise MembershipError("The council match must be between 0% and 200%.")
    term = current_term(start_year)
    before = None
    if term is None:
        term = MembershipTerm(start_year=start_year, rate_per_pupil_pence=0)
        db.session.add(term)
    else:
        before = _term_snapshot(term)
    term.rate_per_pupil_pence = rate_per_pupil_pence
    term.default_cap_pence = default_cap_pence
    term.council_match_bp = council_match_bp
    db.session.flush()
    audit.record(
        actor,
        "membership_term",
        term.id,
        "saved",
        before=before,
        after=_term_snapshot(term),
        scope="membership",
    )
    db.session.commit()
    return term


def _term_snapshot(term: MembershipTerm) -> dict[str, int | None]:
    return {
        "start_year": term.start_year,
        "rate_per_pupil_pence": term.rate_per_pupil_pence,
        "default_cap_pence": term.default_cap_pence,
        "council_match_bp": term.council_match_bp,
    }


def enrol_members(term: MembershipTerm, actor: User | None) -> tuple[int, list[School]]:
    """Give every member school a membership for the term, counting its pupils now.

    Returns how many were enrolled and the member schools left out for want of a pupil count.
    """
    enrolled_ids = set(
        db.session.scalars(sa.select(Membership.school_id).where(Membership.term_id == term.id))
    )
    enrolled = 0
    missing: list[School] = []
    for school in db.session.scalars(
        sa.select(School).where(School.is_member.is_(True)).order_by(School.name)
    ):
        if school.id in enrolled_ids:
            continue
        if school.pupils is None:
            missing.append(school)
            continue
        db.session.add(
            Membership(school_id=school.id, term_id=term.id, pupils_counted=school.pupils)
        )
        enrolled += 1
    audit.record(
        actor,
        "membership_term",
        term.id,
        "enrolled",
        after={"enrolled": enrolled, "missing_pupils": len(missing)},
        scope="membership",
    )
    db.session.commit()
    return enrolled, missing


def save_membership(
    school: School,
    term: MembershipTerm,
    *,
    pupils_counted: int,
    cap_pence: int | None,
    is_member: bool,
    actor: User | None,
) -> Membership | None:
    """Set a school's membership for a year: its pupil count and any cap of its own."""
    if pupils_counted < 0:
        raise MembershipError("The pupil count cannot be negative.")
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.school_id == school.id, Membership.term_id == term.id
        )
    )
    before = (
        {"pupils_counted": membership.pupils_counted, "cap_pence": membership.cap_pence}
        if membership
        else None
    )
    school.is_member = is_member
    if membership is None:
        membership = Membership(school_id=school.id, term_id=term.id, pupils_counted=pupils_counted)
        db.session.add(membership)
    membership.pupils_counted = pupils_counted
    membership.cap_pence = cap_pence
    school.needs_pupil_count = False if school.pupils is not None else school.needs_pupil_count
    db.session.flush()
    audit.record(
        actor,
        "membership",
        membership.id,
        "saved",
        before=before,
        after={"pupils_counted": pupils_counted, "cap_pence": cap_pence, "is_member": is_member},
        scope=f"school:{school.id}",
    )
    db.session.commit()
    return membership
