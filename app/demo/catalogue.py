"""The demo's catalogue: services, providers and their live offers, at realistic prices."""

from __future__ import annotations

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.demo.records import get_or_create
from app.demo.services import CATEGORIES, INCLUDES, SERVICES
from app.extensions import db
from app.models import Provider, ProviderKind, School
from marketplace.catalogue import editing
from marketplace.catalogue.models import Service, ServiceKind
from marketplace.offers.models import Offer, OfferCapacity, OfferStatus, OfferTier

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
OFFERS: list[tuple[str, str, str, list[tuple[int, float]], int, int, int, float]] = [
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


NON_MEMBER_UPLIFT_BP = 1_500


def seed_catalogue(year: AcademicYear) -> dict[str, int]:
    """The services, providers and offers not there yet, offers live for the year; how many."""
    added = {"categories": 0, "services": 0, "providers": 0, "offers": 0}
    for slug, name, description in CATEGORIES:
        if editing.category_by_slug(slug) is None:
            editing.create_category(editing.CategoryInput(slug, name, description), None)
            added["categories"] += 1
    services: dict[str, Service] = {}
    for slug, name, kind, category, unit, vat, description in SERVICES:
        service = editing.service_by_slug(slug)
        if service is None:
            service = editing.create_service(
                editing.ServiceInput(
                    slug=slug,
                    name=name,
                    kind=kind,
                    category_slug=category,
                    unit=unit,
                    vat=vat,
                    description=description,
                    includes=INCLUDES.get(slug, ""),
                ),
                None,
            )
            added["services"] += 1
        services[slug] = service

    providers: dict[str, Provider] = {}
    for name, provider_kind, email, description, urn in PROVIDERS:
        school_id = None
        if urn is not None:
            school_id = db.session.scalar(sa.select(School.id).where(School.urn == urn))
        provider, created = get_or_create(
            Provider,
            {"name": name},
            kind=provider_kind,
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
            # Non-members pay 15% more for traded services (DESIGN.md §7: 10–17%).
            non_member_uplift_bp=NON_MEMBER_UPLIFT_BP
            if services[slug].kind is ServiceKind.TRADED
            else 0,
            tiers=[OfferTier(min_quantity=q, unit_price_pence=round(p * 100)) for q, p in tiers],
            capacities=[OfferCapacity(term_key=t.key, capacity=capacity) for t in year.terms()],
        )
        db.session.add(offer)
        added["offers"] += 1
    return added
