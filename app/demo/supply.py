"""The demo's supply-staff managed service and vacancies board, made by the same use cases the
pages call: a contract with three agencies and a rate card in parts, vetted workers (one with a
lapsed DBS), a term of cover requests (filled, one cancelled late, one never filled), weekly
timesheets approved and billed, one long assignment that reached AWR parity (its last week's
timesheet left for the agency to submit), schools' pre-contract rates, and five open
vacancies. Dates run back from `today`, so the demo reads the same whenever it is seeded;
`{}` when already seeded.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import AcademicYear, is_working_day
from app.demo.accounts import seed_accounts
from app.demo.schools import DEMO_SCHOOL_URN
from app.errors import DomainError
from app.extensions import db
from app.models import Provider, ProviderKind, Role, School, User
from app.money import half_up
from app.time import london_instant
from marketplace.billing import runs
from marketplace.billing.state import stripe_configured
from marketplace.supply import awr, cover, setup, timesheets, vacancies
from marketplace.supply.models import ContractType, Session, SupplyContract, Timesheet
from marketplace.supply.rules import CheckKind, RateParts, RateUnit, SupplyRole, Weighting

REFERENCE = "ELP-SUPPLY-2026"
AGENCIES = (
    # name, fee multiplier (per cent of the card's base fee)
    ("Ealing Supply Partners", 100),
    ("Brent & Ealing Education Staffing", 90),
    ("West London Teachers", 115),
)
# Day rates in pence: pay, employer's NI, pension (3%), holiday pay (12.07%), base agency fee.
DAY_RATES = {
    SupplyRole.TEACHER: (15_000, 1_380, 450, 1_811, 4_500),
    SupplyRole.COVER_SUPERVISOR: (10_000, 690, 300, 1_207, 3_500),
    SupplyRole.TEACHING_ASSISTANT: (9_000, 552, 270, 1_086, 3_000),
    SupplyRole.SEN_TEACHING_ASSISTANT: (9_800, 662, 294, 1_183, 3_200),
    SupplyRole.NURSERY_NURSE: (9_500, 621, 285, 1_147, 3_100),
}
WORKERS = (  # dealt to the agencies in turn: the first agency has three teachers
    ("Asha Patel", SupplyRole.TEACHER),
    ("Daniel Mensah", SupplyRole.TEACHER),
    ("Grace O'Neill", SupplyRole.TEACHING_ASSISTANT),
    ("Kwame Boateng", SupplyRole.TEACHER),
    ("Zofia Nowak", SupplyRole.SEN_TEACHING_ASSISTANT),
    ("Ravi Kapoor", SupplyRole.COVER_SUPERVISOR),
    ("Leo Fernandes", SupplyRole.TEACHER),
    ("Hannah Price", SupplyRole.NURSERY_NURSE),
    ("Mei Lin", SupplyRole.TEACHING_ASSISTANT),
)
LAPSED = "Leo Fernandes"  # his enhanced DBS lapsed last month: he cannot be offered
LONG_WEEKS = 22  # the long assignment started this many weeks ago (parity from week 13)


def _at(day: date, hour: int = 8) -> datetime:
    return london_instant(day, time(hour, 0))


def _agencies() -> list[Provider]:
    found = []
    for name, _ in AGENCIES:
        provider = db.session.scalar(sa.select(Provider).where(Provider.name == name))
        if provider is None:
            provider = Provider(
                name=name,
                kind=ProviderKind.COMPANY,
                contact_email=f"bookings@{name.split()[0].lower()}-supply.example",
                description="Supply agency on the partnership's managed-service contract.",
            )
            db.session.add(provider)
        found.append(provider)
    db.session.flush()
    seed_accounts()  # the agency's demo account, now its provider is here
    db.session.commit()
    return found


def _rate_card(contract: SupplyContract, agencies: list[Provider]) -> None:
    for (_, percent), agency in zip(AGENCIES, agencies, strict=True):
        for role, (pay, ni, pension, holiday, fee) in DAY_RATES.items():
            day = RateParts(pay, ni, pension, holiday, half_up(fee * percent, 100))
            half = RateParts(
                half_up(pay, 2),
                half_up(ni, 2),
                half_up(pension, 2),
                half_up(holiday, 2),
                half_up(day.fee_pence, 2),
            )
            for unit, parts in ((RateUnit.DAY, day), (RateUnit.HALF_DAY, half)):
                setup.set_rate(contract.id, agency.id, role, unit, Weighting.OUTER, parts, None)


def _workers(agencies: list[Provider], start: date, today: date) -> dict[str, tuple[int, int]]:
    """Each worker's (id, agency id), every check done before `start`, one DBS lapsed."""
    made = {}
    for n, (name, role) in enumerate(WORKERS):
        agency = agencies[n % len(agencies)]
        worker = setup.add_worker(
            agency.id,
            name,
            role,
            None,
            trn=f"{1_900_000 + n * 7_919}" if role is SupplyRole.TEACHER else "",
        )
        for kind in CheckKind:
            setup.record_check(
                worker.id,
                agency.id,
                kind,
                start - timedelta(days=60),
                today + timedelta(days=700),
                None,
            )
        if name == LAPSED:
            setup.record_check(
                worker.id,
                agency.id,
                CheckKind.DBS_BARRED,
                today - timedelta(days=3 * 365 + 30),
                today - timedelta(days=30),
                None,
            )
        made[name] = (worker.id, agency.id)
    return made


def _fill(
    request_id: int,
    school: School,
    worker: tuple[int, int],
    day: date,
    sbm: User | None,
    parity: int | None = None,
) -> int:
    posted = _at(day - timedelta(days=3), 10)
    proposal = cover.propose(
        request_id,
        worker[1],
        worker[0],
        None,
        today=posted.date(),
        now=posted + timedelta(minutes=25),
    )
    booking = cover.accept(
        proposal.id,
        school.id,
        sbm,
        today=posted.date(),
        parity_day_pay_pence=parity,
        now=posted + timedelta(hours=2),
    )
    return booking.id


def _timesheet(
    booking_id: int, agency_id: int, school_id: int, days: list[date], unit: RateUnit
) -> None:
    by_week: dict[date, dict[date, RateUnit]] = {}
    for day in days:
        by_week.setdefault(awr.week_of(day), {})[day] = unit
    for monday, worked in sorted(by_week.items()):
        friday = datetime.combine(monday + timedelta(days=4), time(17), UTC)
        sheet = timesheets.submit(booking_id, agency_id, monday, worked, None, now=friday)
        timesheets.approve(sheet.id, school_id, None, now=friday + timedelta(days=3))


def seed_demo_supply(today: date) -> dict[str, int]:
    """The managed service's contract, a term of cover, billing and vacancies."""
    if db.session.scalar(sa.select(SupplyContract.id).where(SupplyContract.reference == REFERENCE)):
        return {}
    rng = random.Random(15)
    this_monday = awr.week_of(today)
    start = this_monday - timedelta(weeks=LONG_WEEKS)
    year = AcademicYear.containing(today)
    agencies = _agencies()
    contract = setup.create_contract(
        title="Supply staff managed service",
        reference=REFERENCE,
        starts_on=min(start, year.starts_on) - timedelta(days=7),
        ends_on=year.starts_on.replace(year=year.start_year + 2) - timedelta(days=1),
        actor=None,
    )
    for rank, agency in enumerate(agencies, start=1):
        setup.add_agency(contract.id, agency.id, rank, None)
    _rate_card(contract, agencies)
    workers = _workers(agencies, start, today)
    schools = list(
        db.session.scalars(
            sa.select(School)
            .where(School.is_member.is_(True), School.la_code == "307")
            .order_by(School.urn)
        )
    )
    demo = next((s for s in schools if s.urn == DEMO_SCHOOL_URN), schools[0])
    others = [s for s in rng.sample(schools, min(6, len(schools))) if s.id != demo.id][:5]
    for school in [demo, *others]:
        for role, (pay, ni, pension, holiday, fee) in DAY_RATES.items():
            before = half_up((pay + ni + pension + holiday + fee) * rng.randint(106, 112), 100)
            setup.set_baseline(school.id, role, before, None)
    sbm = db.session.scalar(sa.select(User).where(User.school_id == demo.id, User.role == Role.SBM))
    counts = {"supply bookings": 0, "supply timesheets": 0, "vacancies": 0}

    # The long assignment: a teacher at the demo school every term day for LONG_WEEKS weeks.
    teacher = workers["Asha Patel"]
    # Timesheets up to the Friday before last: last week's is still for the agency to submit.
    last_day = this_monday - timedelta(days=10)
    long = cover.post_request(
        contract_id=contract.id,
        school_id=demo.id,
        role=SupplyRole.TEACHER,
        session=Session.FULL_DAY,
        starts_on=start,
        ends_on=this_monday + timedelta(weeks=8),
        actor=sbm,
        today=start - timedelta(days=3),
        phase="Primary",
        subject="Year 5 (maternity cover)",
        now=_at(start - timedelta(days=3), 10),
    )
    booking = _fill(long.id, demo, teacher, start, sbm, parity=17_800)
    term_days = [
        start + timedelta(days=n)
        for n in range((last_day - start).days + 1)
        if is_working_day(start + timedelta(days=n)) and awr.is_term_day(start + timedelta(days=n))
    ]
    _timesheet(booking, teacher[1], demo.id, term_days, RateUnit.DAY)
    counts["supply bookings"] += 1

    # A term of short cover across the schools, one to three days at a time.
    short_workers = [w for name, w in workers.items() if name not in ("Asha Patel", LAPSED)]
    roles = {name: role for name, role in WORKERS}
    week = this_monday - timedelta(weeks=12)
    n = 0
    while week < this_monday:
        if not awr.is_holiday_week(week):
            for school in rng.sample([demo, *others], 2):
                name = rng.choice([nm for nm, _ in WORKERS if workers[nm] in short_workers])
                worker = workers[name]
                first = week + timedelta(days=rng.randint(0, 2))
                days = [
                    d
                    for d in (first + timedelta(days=k) for k in range(rng.randint(1, 3)))
                    if is_working_day(d)
                ]
                if not days:
                    continue
                half = rng.random() < 0.25
                request = cover.post_request(
                    contract_id=contract.id,
                    school_id=school.id,
                    role=roles[name],
                    session=Session.MORNING if half else Session.FULL_DAY,
                    starts_on=days[0],
                    ends_on=days[-1],
                    actor=None,
                    today=days[0] - timedelta(days=3),
                    phase=school.phase,
                    now=_at(days[0] - timedelta(days=3), 10),
                )
                try:
                    booked = _fill(request.id, school, worker, days[0], None)
                except DomainError:  # the worker is busy those days: nobody fills it
                    cover.cancel_request(
                        request.id, school.id, None, now=_at(days[0] - timedelta(days=2))
                    )
                    continue
                n += 1
                if n % 9 == 0:  # cancelled the evening before: the contract's fee is due
                    cover.cancel_booking(
                        booked, school.id, None, now=_at(days[0] - timedelta(days=1), 19)
                    )
                    continue
                _timesheet(
                    booked, worker[1], school.id, days, RateUnit.HALF_DAY if half else RateUnit.DAY
                )
                counts["supply bookings"] += 1
        week += timedelta(weeks=1)
    # One request nobody filled in time, and one open for next week.
    missed = this_monday - timedelta(weeks=2) + timedelta(days=1)
    cover.post_request(
        contract_id=contract.id,
        school_id=others[0].id if others else demo.id,
        role=SupplyRole.NURSERY_NURSE,
        session=Session.FULL_DAY,
        starts_on=missed,
        ends_on=missed,
        actor=None,
        today=missed - timedelta(days=1),
        now=_at(missed - timedelta(days=1), 16),
    )
    nxt = this_monday + timedelta(weeks=1)
    cover.post_request(
        contract_id=contract.id,
        school_id=demo.id,
        role=SupplyRole.TEACHER,
        session=Session.FULL_DAY,
        starts_on=nxt,
        ends_on=nxt + timedelta(days=1),
        actor=sbm,
        today=today,
        phase="Primary",
        subject="Year 2",
    )
    counts["supply timesheets"] = db.session.scalar(sa.select(sa.func.count(Timesheet.id))) or 0
    if not stripe_configured():
        run = runs.start_run(None, as_of=today)
        counts["supply invoices"] = runs.execute(run, None).invoices_created
    counts["vacancies"] = _vacancies([demo, *others], today, rng)
    return counts


VACANCIES = (
    ("Class teacher, Year 4", SupplyRole.TEACHER, ContractType.PERMANENT, 3_440_000, 4_530_000, ""),
    (
        "Teacher of mathematics",
        SupplyRole.TEACHER,
        ContractType.PERMANENT,
        3_440_000,
        4_960_000,
        "Mathematics",
    ),
    (
        "SEN teaching assistant",
        SupplyRole.SEN_TEACHING_ASSISTANT,
        ContractType.FIXED_TERM,
        2_350_000,
        2_560_000,
        "",
    ),
    (
        "Nursery nurse (Early Years)",
        SupplyRole.NURSERY_NURSE,
        ContractType.PERMANENT,
        2_410_000,
        2_690_000,
        "Early Years",
    ),
    (
        "Cover supervisor",
        SupplyRole.COVER_SUPERVISOR,
        ContractType.MATERNITY_COVER,
        2_500_000,
        2_800_000,
        "",
    ),
)


def _one_page_pdf(lines: list[str]) -> bytes:
    """A plain one-page PDF of a few lines (Helvetica), for the demo's job descriptions."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    text = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({line}) '" for line in escaped) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out + trailer.encode()


def _vacancies(schools: list[School], today: date, rng: random.Random) -> int:
    for n, (title, role, kind, low, high, subject) in enumerate(VACANCIES):
        school = schools[n % len(schools)]
        vacancies.post(
            school_id=school.id,
            title=title,
            role=role,
            contract_type=kind,
            salary_min_pence=low,
            salary_max_pence=high,
            closing_on=today + timedelta(days=14 + 7 * n),
            today=today,
            actor=None,
            description=(
                f"{school.name} is looking for a {role.label.lower()} to join a friendly, "
                "supportive team.\n\nWe offer a strong induction, a partnership-wide CPD "
                "programme and a commitment to staff wellbeing."
            ),
            subject=subject,
            documents=f"https://example.org/{school.urn}/job-pack-{n + 1}.pdf",
            files=[
                vacancies.Upload(
                    "Job description.pdf",
                    _one_page_pdf(
                        [
                            f"{title}: {school.name}",
                            f"Role: {role.label}",
                            f"Contract: {kind.label}",
                        ]
                    ),
                )
            ]
            if n == 0
            else [],
        )
    return len(VACANCIES)
