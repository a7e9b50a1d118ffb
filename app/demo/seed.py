"""The demo partnership: real Ealing schools, plausible numbers, realistic services and prices.

`seed()` is safe to run again: it looks everything up by its natural key first.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.extensions import db
from app.models import Membership, MembershipTerm, Provider, ProviderKind, Role, School, User
from app.time import london_today
from marketplace.catalogue.models import Category, Service, ServiceKind, Unit, VatTreatment
from marketplace.offers.models import Offer, OfferCapacity, OfferStatus, OfferTier

DEMO_PASSWORD = "pooled-demo"  # noqa: S105 - published demo password
DEMO_SCHOOL_URN = 101899  # Greenwood Primary School, Northolt
NON_MEMBER_URNS = frozenset({135482, 143118, 145724})  # Khalsa, Woodlands, Ada Lovelace

# Postcode district -> one of Ealing's seven towns.
AREAS = {
    "W3": "Acton",
    "W4": "Acton",
    "W5": "Ealing",
    "W13": "Ealing",
    "W7": "Hanwell",
    "UB6": "Greenford",
    "UB5": "Northolt",
    "UB1": "Southall",
    "UB2": "Southall",
    "UB3": "Southall",
    "UB4": "Northolt",
    "W12": "Acton",
    "NW10": "Acton",
}


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    what: str


ACCOUNTS = [
    DemoAccount("admin@demo.pooled.test", "Priya Shah", Role.ADMIN, "partnership admin"),
    DemoAccount(
        "committee@demo.pooled.test",
        "Tom Okafor",
        Role.COMMITTEE,
        "sustainability committee member",
    ),
    DemoAccount(
        "committee2@demo.pooled.test",
        "Helen Marsh",
        Role.COMMITTEE,
        "second committee member (for two-person bid opening)",
    ),
    DemoAccount(
        "sbm@demo.pooled.test",
        "Sarah Doyle",
        Role.SBM,
        "school business manager, Greenwood Primary School",
    ),
    DemoAccount(
        "head@demo.pooled.test",
        "James Whitfield",
        Role.HEAD,
        "head (budget holder), Greenwood Primary School",
    ),
    DemoAccount(
        "provider@demo.pooled.test",
        "Amira Haddad",
        Role.PROVIDER,
        "provider, West London Counselling Collective",
    ),
]

# slug, name, kind, category, unit, vat, description
SERVICES = [
    (
        "link-partner-visit",
        "Link-partner visit and report",
        ServiceKind.CORE,
        Category.CPD,
        Unit.VISIT,
        VatTreatment.EXEMPT,
        "A day with your link partner, followed by a written report.",
    ),
    (
        "peer-review",
        "Peer review",
        ServiceKind.CORE,
        Category.CPD,
        Unit.DAY,
        VatTreatment.EXEMPT,
        "School-to-school peer review days with trained reviewers.",
    ),
    (
        "governor-support",
        "Governor support package",
        ServiceKind.CORE,
        Category.GOVERNANCE,
        Unit.PACKAGE,
        VatTreatment.EXEMPT,
        "Governor training, briefings and the helpdesk.",
    ),
    (
        "assessment-data",
        "Assessment and data support",
        ServiceKind.CORE,
        Category.DATA_ASSESSMENT,
        Unit.SESSION,
        VatTreatment.EXEMPT,
        "Sessions with a data adviser on assessment and analysis.",
    ),
    (
        "ect-appropriate-body",
        "ECT appropriate-body registration",
        ServiceKind.TRADED,
        Category.ECT,
        Unit.ECT,
        VatTreatment.EXEMPT,
        "Statutory appropriate-body registration and quality assurance.",
    ),
    (
        "governance-clerking",
        "Governance clerking (9 meetings a year)",
        ServiceKind.TRADED,
        Category.GOVERNANCE,
        Unit.PACKAGE,
        VatTreatment.STANDARD,
        "A qualified clerk for nine full governing board meetings, agendas and minutes.",
    ),
    (
        "extra-clerked-meeting",
        "Extra clerked meeting",
        ServiceKind.TRADED,
        Category.GOVERNANCE,
        Unit.MEETING,
        VatTreatment.STANDARD,
        "An additional clerked committee or panel meeting.",
    ),
    (
        "counselling",
        "School counselling",
        ServiceKind.TRADED,
        Category.COUNSELLING,
        Unit.DAY,
        VatTreatment.EXEMPT,
        "A qualified counsellor in school for the day, with clinical supervision.",
    ),
    (
        "speech-language-therapy",
        "Speech and language therapy",
        ServiceKind.TRADED,
        Category.SPEECH_LANGUAGE,
        Unit.DAY,
        VatTreatment.EXEMPT,
        "HCPC-registered therapist days: assessment, therapy and training for staff.",
    ),
    (
        "educational-psychology",
        "Educational psychology",
        ServiceKind.TRADED,
        Category.EDUCATIONAL_PSYCHOLOGY,
        Unit.DAY,
        VatTreatment.EXEMPT,
        "Educational psychologist days for assessment, consultation and EHCP advice.",
    ),
    (
        "supply-teachers",
        "Supply teachers (managed service)",
        ServiceKind.TRADED,
        Category.SUPPLY,
        Unit.DAY,
        VatTreatment.STANDARD,
        "Qualified supply teachers through the managed service.",
    ),
    (
        "hr-advisory",
        "HR advisory service",
        ServiceKind.TRADED,
        Category.HR,
        Unit.STAFF_HEAD,
        VatTreatment.STANDARD,
        "Casework, policies and an advice line, priced per member of staff a year.",
    ),
    (
        "payroll",
        "Payroll",
        ServiceKind.TRADED,
        Category.PAYROLL,
        Unit.PAYSLIP,
        VatTreatment.STANDARD,
        "Monthly payroll, pensions returns and year-end, priced per payslip.",
    ),
    (
        "risk-protection",
        "Risk protection (insurance)",
        ServiceKind.TRADED,
        Category.INSURANCE,
        Unit.PUPIL,
        VatTreatment.EXEMPT,
        "Cover for buildings, liability and staff absence, per pupil a year.",
    ),
]

# name, kind, email, description, school URN if a school provider
PROVIDERS = [
    (
        "Ealing Learning Partnership",
        ProviderKind.COUNCIL,
        "office@elp.demo.pooled.test",
        "The partnership's own core offer.",
        None,
    ),
    (
        "West London Counselling Collective",
        ProviderKind.CHARITY,
        "bookings@wlcc.demo.pooled.test",
        "BACP-accredited school counsellors across west London.",
        None,
    ),
    (
        "Brightwords Speech and Language Ltd",
        ProviderKind.COMPANY,
        "hello@brightwords.demo.pooled.test",
        "Independent speech and language therapists for schools.",
        None,
    ),
    (
        "Ealing Educational Psychology Service",
        ProviderKind.COUNCIL,
        "eps@ealing.demo.pooled.test",
        "The council's traded educational psychology service.",
        None,
    ),
    (
        "Northfields Psychology Associates",
        ProviderKind.COMPANY,
        "office@northfields.demo.pooled.test",
        "Chartered educational psychologists.",
        None,
    ),
    (
        "Governance Matters Clerking",
        ProviderKind.COMPANY,
        "clerks@govmatters.demo.pooled.test",
        "Professional clerks to governing boards.",
        None,
    ),
    (
        "Capital Supply Teachers Ltd",
        ProviderKind.COMPANY,
        "schools@capitalsupply.demo.pooled.test",
        "Supply teachers on the national framework.",
        None,
    ),
    (
        "Schools HR and Payroll Co-operative",
        ProviderKind.COMPANY,
        "help@shrp.demo.pooled.test",
        "HR advice and payroll for schools.",
        None,
    ),
    (
        "Assured Schools Mutual",
        ProviderKind.COMPANY,
        "cover@asm.demo.pooled.test",
        "Risk protection for maintained schools and academies.",
        None,
    ),
    (
        "Drayton Manor Teaching School Hub",
        ProviderKind.SCHOOL,
        "hub@draytonmanor.demo.pooled.test",
        "A school-led hub selling ECT support and peer review.",
        137221,
    ),
]

# provider, service slug, title, tiers [(from, £)], capacity a term, notice days,
# cancellation charge (bp), setup £
OFFERS = [
    (
        "Ealing Learning Partnership",
        "link-partner-visit",
        "Link-partner visit",
        [(0, 450)],
        60,
        0,
        0,
        0,
    ),
    ("Ealing Learning Partnership", "peer-review", "Peer review days", [(0, 400)], 90, 20, 1000, 0),
    (
        "Ealing Learning Partnership",
        "governor-support",
        "Governor support package",
        [(0, 950)],
        70,
        0,
        0,
        0,
    ),
    (
        "Ealing Learning Partnership",
        "assessment-data",
        "Assessment and data sessions",
        [(0, 180)],
        120,
        0,
        0,
        0,
    ),
    (
        "Drayton Manor Teaching School Hub",
        "ect-appropriate-body",
        "ECT appropriate body",
        [(0, 225), (10, 195), (40, 170)],
        200,
        30,
        1000,
        0,
    ),
    (
        "Ealing Learning Partnership",
        "ect-appropriate-body",
        "ECT registration (partnership)",
        [(0, 240), (20, 210)],
        150,
        30,
        1000,
        0,
    ),
    (
        "Drayton Manor Teaching School Hub",
        "peer-review",
        "Peer review led by serving heads",
        [(0, 420), (6, 380)],
        40,
        20,
        1000,
        0,
    ),
    (
        "Governance Matters Clerking",
        "governance-clerking",
        "Full clerking package",
        [(0, 3400), (10, 3000), (30, 2600)],
        40,
        60,
        1500,
        0,
    ),
    (
        "Governance Matters Clerking",
        "extra-clerked-meeting",
        "Extra meeting",
        [(0, 395), (5, 330)],
        80,
        14,
        0,
        0,
    ),
    (
        "West London Counselling Collective",
        "counselling",
        "Counselling days",
        [(0, 290), (20, 265), (60, 240), (150, 215)],
        120,
        30,
        1500,
        0,
    ),
    (
        "Brightwords Speech and Language Ltd",
        "counselling",
        "Play therapy and counselling",
        [(0, 310), (40, 270), (120, 235)],
        90,
        30,
        1000,
        250,
    ),
    (
        "Brightwords Speech and Language Ltd",
        "speech-language-therapy",
        "Therapist days",
        [(0, 640), (20, 560), (60, 495), (120, 430)],
        110,
        30,
        1000,
        0,
    ),
    (
        "Ealing Educational Psychology Service",
        "educational-psychology",
        "EP days",
        [(0, 540), (21, 410), (60, 395)],
        140,
        30,
        1000,
        0,
    ),
    (
        "Northfields Psychology Associates",
        "educational-psychology",
        "Chartered EP days",
        [(0, 565), (10, 480), (40, 430)],
        80,
        20,
        500,
        300,
    ),
    (
        "Capital Supply Teachers Ltd",
        "supply-teachers",
        "Supply teacher days",
        [(0, 270), (200, 245), (1000, 218)],
        3000,
        5,
        0,
        0,
    ),
    (
        "Schools HR and Payroll Co-operative",
        "hr-advisory",
        "HR advisory (per staff head a year)",
        [(0, 58), (1000, 55), (3000, 51)],
        8000,
        90,
        2000,
        0,
    ),
    (
        "Schools HR and Payroll Co-operative",
        "payroll",
        "Payroll (per payslip)",
        [(0, 4.75), (5000, 4.42), (20000, 4.10)],
        60000,
        90,
        2000,
        0,
    ),
    (
        "Assured Schools Mutual",
        "risk-protection",
        "Risk protection (per pupil a year)",
        [(0, 19.5), (10000, 18), (30000, 16.5)],
        60000,
        60,
        0,
        0,
    ),
]


def _phase(name: str, type_name: str) -> str:
    if "special" in type_name.lower():
        return "Special"
    if "referral" in type_name.lower() or "Alternative" in name:
        return "Alternative provision"
    if any(word in name for word in ("High", "Girls", "Acton Academy", "Soane")):
        return "Secondary"
    return "Primary"


_PUPILS = {
    "Primary": (210, 690),
    "Secondary": (850, 1650),
    "Special": (80, 260),
    "Alternative provision": (30, 90),
}


def _get_or_create(model: type, lookup: dict, **values: object) -> tuple[object, bool]:
    row = db.session.scalar(sa.select(model).filter_by(**lookup))
    if row is not None:
        return row, False
    row = model(**lookup, **values)
    db.session.add(row)
    return row, True


def is_empty() -> bool:
    """True when the database has no users (a fresh install)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed(data_dir: Path) -> dict[str, int]:
    """Build (or complete) the demo partnership; returns how many rows of each kind were added."""
    rng = random.Random(307)  # Ealing's LA code: the same demo every time
    added = {"schools": 0, "services": 0, "providers": 0, "offers": 0, "users": 0, "memberships": 0}
    year = AcademicYear.containing(london_today())

    with (data_dir / "schools" / "ealing_schools_67.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        urn = int(row["URN"])
        phase = _phase(row["EstablishmentName"], row["TypeOfEstablishment (name)"])
        low, high = _PUPILS[phase]
        pupils = rng.randint(low, high)
        fsm = round(rng.uniform(8, 45), 1)
        district = row["Postcode"].split()[0]
        school, created = _get_or_create(
            School,
            {"urn": urn},
            name=row["EstablishmentName"],
            phase=phase,
            type_name=row["TypeOfEstablishment (name)"],
            la_code=row["LA (code)"],
            la_name=row["LA (name)"],
            pupils=pupils,
            fsm_percent=fsm,
            postcode=row["Postcode"],
            town=row["Town"],
            area=AREAS.get(district, "Ealing"),
            status="Open",
            is_member=urn not in NON_MEMBER_URNS,
            approval_threshold_pence=250_000 if phase == "Primary" else 1_000_000,
            finance_email=f"finance.{urn}@schools.demo.pooled.test",
        )
        added["schools"] += created

    services: dict[str, Service] = {}
    for slug, name, kind, category, unit, vat, description in SERVICES:
        service, created = _get_or_create(
            Service,
            {"slug": slug},
            name=name,
            kind=kind,
            category=category,
            unit=unit,
            vat=vat,
            description=description,
        )
        services[slug] = service
        added["services"] += created

    providers: dict[str, Provider] = {}
    for name, kind, email, description, urn in PROVIDERS:
        school_id = None
        if urn is not None:
            school_id = db.session.scalar(sa.select(School.id).where(School.urn == urn))
        provider, created = _get_or_create(
            Provider,
            {"name": name},
            kind=kind,
            contact_email=email,
            description=description,
            school_id=school_id,
        )
        providers[name] = provider
        added["providers"] += created
    db.session.flush()

    for provider_name, slug, title, tiers, capacity, notice, charge_bp, setup in OFFERS:
        provider = providers[provider_name]
        offer = db.session.scalar(
            sa.select(Offer).where(Offer.provider_id == provider.id, Offer.title == title)
        )
        if offer is not None:
            continue
        offer = Offer(
            provider=provider,
            service=services[slug],
            title=title,
            status=OfferStatus.LIVE,
            description=services[slug].description,
            valid_from=year.starts_on,
            valid_to=year.ends_on,
            lead_time_days=10,
            notice_days=notice,
            cancellation_charge_bp=charge_bp,
            notice_rules=(
                f"Cancel at least {notice} days before the term starts for a pro-rata refund"
                f"{f', less a {charge_bp / 100:g}% admin charge' if charge_bp else ''}."
                if notice
                else "No notice needed; cancel any time before delivery."
            ),
            setup_pence=int(setup * 100),
            tiers=[OfferTier(min_quantity=q, unit_price_pence=round(p * 100)) for q, p in tiers],
            capacities=[OfferCapacity(term_key=t.key, capacity=capacity) for t in year.terms()],
        )
        db.session.add(offer)
        added["offers"] += 1

    for start_year, rate in ((year.start_year - 1, 1300), (year.start_year, 1400)):
        term, _ = _get_or_create(
            MembershipTerm,
            {"start_year": start_year},
            rate_per_pupil_pence=rate,
            default_cap_pence=1_250_000,
            council_match_bp=10_000,
        )
        db.session.flush()
        enrolled = set(
            db.session.scalars(sa.select(Membership.school_id).where(Membership.term_id == term.id))
        )
        for school in db.session.scalars(sa.select(School).where(School.is_member.is_(True))):
            if school.id not in enrolled and school.pupils is not None:
                db.session.add(
                    Membership(
                        school_id=school.id,
                        term_id=term.id,
                        pupils_counted=school.pupils,
                        joined_on=date(start_year, 9, 1),
                    )
                )
                added["memberships"] += 1

    from marketplace.entitlements.services import (
        seed_demo_entitlements,  # the marketplace's demo data
    )

    added["entitlements"] = seed_demo_entitlements()
    demo_school_id = db.session.scalar(sa.select(School.id).where(School.urn == DEMO_SCHOOL_URN))
    for account in ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.email == account.email)) is not None:
            continue
        user = User(email=account.email, name=account.name, role=account.role)
        if account.role in (Role.SBM, Role.HEAD):
            user.school_id = demo_school_id
        if account.role is Role.PROVIDER:
            user.provider_id = providers["West London Counselling Collective"].id
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        added["users"] += 1
    from app.demo.rounds import seed_demo_round  # the demo buying round, with pledges

    added["buying rounds"] = seed_demo_round()
    db.session.commit()
    from app.demo.tenders import seed_demo_tenders  # demo tenders (issue 5)

    added["tenders"] = seed_demo_tenders()
    from app.demo.activity import seed_demo_activity  # orders, a round, billing, grants

    added.update(seed_demo_activity(london_today()))
    return added
