"""The supply-staff managed service's rules as pure functions: rate parts, vetting, the
introduced-worker fee, cancellation, temp-to-perm and London weighting.

Pure: imports the standard library and app.money only. Every amount is integer pence; every
rounding is `app.money.half_up` (ROUND_HALF_UP); a charge is always the exact sum of its parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from app.money import half_up, percent_of


class SupplyRole(StrEnum):
    TEACHER = "teacher"
    COVER_SUPERVISOR = "cover-supervisor"
    TEACHING_ASSISTANT = "teaching-assistant"
    SEN_TEACHING_ASSISTANT = "sen-teaching-assistant"
    NURSERY_NURSE = "nursery-nurse"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    SupplyRole.TEACHER: "Qualified teacher",
    SupplyRole.COVER_SUPERVISOR: "Cover supervisor",
    SupplyRole.TEACHING_ASSISTANT: "Teaching assistant",
    SupplyRole.SEN_TEACHING_ASSISTANT: "SEN teaching assistant",
    SupplyRole.NURSERY_NURSE: "Nursery nurse",
}


class RateUnit(StrEnum):
    DAY = "day"
    HALF_DAY = "half-day"

    @property
    def label(self) -> str:
        return "Day" if self is RateUnit.DAY else "Half day"

    @property
    def days_text(self) -> str:
        """The unit in days, as the fee report writes it: 1 or 0.5."""
        return "1" if self is RateUnit.DAY else "0.5"


class Weighting(StrEnum):
    """London weighting: where the school is decides which rate column applies."""

    NONE = "none"
    OUTER = "outer-london"
    INNER = "inner-london"

    @property
    def label(self) -> str:
        return {
            "none": "No weighting",
            "outer-london": "Outer London",
            "inner-london": "Inner London",
        }[self.value]


# DfE local-authority codes: 201–213 are the inner London boroughs (with the City), 301–320 outer.
INNER_LONDON_LA = frozenset(str(code) for code in range(201, 214))
OUTER_LONDON_LA = frozenset(str(code) for code in range(301, 321))


def weighting_for(la_code: str) -> Weighting:
    """The London weighting of a school's local authority (Ealing, 307, is outer London)."""
    code = la_code.strip()
    if code in INNER_LONDON_LA:
        return Weighting.INNER
    if code in OUTER_LONDON_LA:
        return Weighting.OUTER
    return Weighting.NONE


# Rate parts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateParts:
    """One rate's parts. The charge is their exact sum: nothing hidden, nothing rounded."""

    pay_pence: int
    ni_pence: int
    pension_pence: int
    holiday_pence: int
    fee_pence: int

    def __post_init__(self) -> None:
        for name in ("pay_pence", "ni_pence", "pension_pence", "holiday_pence", "fee_pence"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.removesuffix('_pence')} cannot be negative")

    @property
    def oncost_pence(self) -> int:
        """Statutory on-costs: employer's National Insurance, pension and holiday pay."""
        return self.ni_pence + self.pension_pence + self.holiday_pence

    @property
    def charge_pence(self) -> int:
        """What the school pays: pay + on-costs + agency fee, exactly."""
        return self.pay_pence + self.oncost_pence + self.fee_pence

    def with_fee(self, fee_pence: int) -> RateParts:
        return RateParts(
            self.pay_pence, self.ni_pence, self.pension_pence, self.holiday_pence, fee_pence
        )

    def at_pay(self, pay_pence: int) -> RateParts:
        """The same rate with the worker paid `pay_pence` (AWR parity): each on-cost scales with
        pay (on-cost × new pay / old pay, rounded half up); the agency fee does not change."""
        if pay_pence < 0:
            raise ValueError("pay cannot be negative")
        if self.pay_pence == 0:
            return RateParts(pay_pence, 0, 0, 0, self.fee_pence)

        def scale(part: int) -> int:
            return half_up(part * pay_pence, self.pay_pence)

        return RateParts(
            pay_pence,
            scale(self.ni_pence),
            scale(self.pension_pence),
            scale(self.holiday_pence),
            self.fee_pence,
        )


def introduced_fee(fee_pence: int, introduced_fee_bp: int) -> int:
    """The agency fee for a worker the school introduced itself: `introduced_fee_bp` of the
    card's fee (5,000 = half), rounded half up. The rate card states this rule."""
    if not 0 <= introduced_fee_bp <= 10_000:
        raise ValueError("the introduced-worker fee is between 0% and 100% of the card's fee")
    return percent_of(fee_pence, introduced_fee_bp)


def priced(parts: RateParts, *, introduced: bool, introduced_fee_bp: int) -> RateParts:
    """A rate as booked: the introduced-worker fee applied when the school introduced the worker."""
    if introduced:
        return parts.with_fee(introduced_fee(parts.fee_pence, introduced_fee_bp))
    return parts


# Vetting --------------------------------------------------------------------------------------


class CheckKind(StrEnum):
    DBS_BARRED = "dbs-barred"  # enhanced DBS with the children's barred list
    DBS_UPDATE_SERVICE = "dbs-update-service"
    RIGHT_TO_WORK = "right-to-work"
    QTS = "qts"
    TRN = "trn"
    REFERENCES = "references"
    SAFEGUARDING = "safeguarding-training"

    @property
    def label(self) -> str:
        return CHECK_LABELS[self]


CHECK_LABELS = {
    CheckKind.DBS_BARRED: "Enhanced DBS with children's barred list",
    CheckKind.DBS_UPDATE_SERVICE: "DBS update service subscription",
    CheckKind.RIGHT_TO_WORK: "Right to work",
    CheckKind.QTS: "Qualified teacher status (QTS)",
    CheckKind.TRN: "Teacher reference number (TRN)",
    CheckKind.REFERENCES: "References",
    CheckKind.SAFEGUARDING: "Safeguarding training",
}

BASE_CHECKS = frozenset(
    {
        CheckKind.DBS_BARRED,
        CheckKind.DBS_UPDATE_SERVICE,
        CheckKind.RIGHT_TO_WORK,
        CheckKind.REFERENCES,
        CheckKind.SAFEGUARDING,
    }
)


def required_checks(role: SupplyRole) -> frozenset[CheckKind]:
    """Every worker needs the base checks; a qualified teacher also needs QTS and a TRN."""
    if role is SupplyRole.TEACHER:
        return BASE_CHECKS | {CheckKind.QTS, CheckKind.TRN}
    return BASE_CHECKS


@dataclass(frozen=True)
class Check:
    kind: CheckKind
    checked_on: date
    expires_on: date


def vetting_problems(
    role: SupplyRole, checks: Iterable[Check], on: date, until: date | None = None
) -> list[str]:
    """Why a worker cannot be offered for `role` from `on` to `until` (default `on`): each
    required check missing, not yet done on `on`, or expiring before `until`. Empty: cleared."""
    last = until or on
    latest: dict[CheckKind, Check] = {}
    for check in checks:
        if check.kind not in latest or check.expires_on > latest[check.kind].expires_on:
            latest[check.kind] = check
    problems = []
    for kind in sorted(required_checks(role), key=list(CheckKind).index):
        found = latest.get(kind)
        if found is None:
            problems.append(f"{kind.label}: missing")
        elif found.checked_on > on:
            problems.append(f"{kind.label}: dated {found.checked_on.isoformat()}, after {on}")
        elif found.expires_on < last:
            problems.append(f"{kind.label}: expired or expires on {found.expires_on.isoformat()}")
    return problems


# Cancellation ---------------------------------------------------------------------------------


def cancellation_fee(
    first_day_charge_pence: int,
    cancelled_at: datetime,
    starts_at: datetime,
    notice_hours: int,
    fee_bp: int,
) -> int:
    """The contract's cancellation rule: cancelled less than `notice_hours` before the booking
    starts (or after it started), the school pays `fee_bp` of the first day's charge (rounded
    half up); with more notice, nothing."""
    if starts_at - cancelled_at >= timedelta(hours=notice_hours):
        return 0
    return percent_of(first_day_charge_pence, fee_bp)


# Temp-to-perm ---------------------------------------------------------------------------------


def temp_to_perm_fee(
    salary_pence: int, weeks_engaged: int, free_after_weeks: int, max_fee_bp: int
) -> int:
    """The introduction fee for hiring a worker permanently, from the contract: nothing once
    the worker has been engaged `free_after_weeks` weeks or more (12 on the national
    framework); before that, a sliding scale from `max_fee_bp` of the annual salary in week 0
    down in equal steps: max_fee_bp × (free_after_weeks − weeks) / free_after_weeks, rounded
    half up."""
    if salary_pence < 0 or weeks_engaged < 0:
        raise ValueError("salary and weeks cannot be negative")
    if weeks_engaged >= free_after_weeks or free_after_weeks <= 0:
        return 0
    return half_up(
        salary_pence * max_fee_bp * (free_after_weeks - weeks_engaged), 10_000 * free_after_weeks
    )


# Release to agencies ---------------------------------------------------------------------------


class ReleaseMode(StrEnum):
    ALL_AT_ONCE = "all-at-once"
    RANKED = "ranked"

    @property
    def label(self) -> str:
        return "All agencies at once" if self is ReleaseMode.ALL_AT_ONCE else "Ranked, in turn"


def released_at(posted_at: datetime, mode: ReleaseMode, rank: int, window_minutes: int) -> datetime:
    """When an agency of `rank` (1 = first) sees a request: at once, or in ranked order, each
    after the agencies before it had `window_minutes` each."""
    if mode is ReleaseMode.ALL_AT_ONCE:
        return posted_at
    return posted_at + timedelta(minutes=window_minutes * max(rank - 1, 0))


# Vacancy documents ----------------------------------------------------------------------------

VACANCY_FILES_MAX = 5
VACANCY_FILE_BYTES = 5 * 1024 * 1024
VACANCY_FILE_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    "odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
}
VACANCY_FILE_TEXT = "a PDF or a Word or OpenDocument file (.pdf, .docx, .doc, .odt)"


def vacancy_file_problem(filename: str, content: bytes) -> str | None:
    """A job description or application pack: a PDF, Word or OpenDocument file whose bytes
    match its name, not empty, at most VACANCY_FILE_BYTES."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in VACANCY_FILE_TYPES:
        return f"“{filename}” is not a file type we accept: upload {VACANCY_FILE_TEXT}"
    if not content:
        return f"“{filename}” is empty"
    if len(content) > VACANCY_FILE_BYTES:
        return (
            f"“{filename}” is {len(content) / 1024 / 1024:.1f} MB: the limit is "
            f"{VACANCY_FILE_BYTES // 1024 // 1024} MB"
        )
    _, signatures = VACANCY_FILE_TYPES[extension]
    if not content.startswith(signatures):
        return f"“{filename}” is not really a .{extension} file: its contents do not match its name"
    return None
