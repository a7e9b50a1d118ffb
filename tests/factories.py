"""Test data as plain functions. Each returns flushed rows (ids set), never committed."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.calendar import AcademicYear, Term
from app.demo.services import CATEGORIES as DEMO_CATEGORIES
from app.extensions import db
from app.models import (
    Membership,
    MembershipTerm,
    Provider,
    ProviderKind,
    Role,
    School,
    Trust,
    User,
)
from app.time import london_today
from marketplace.catalogue.models import (
    Service,
    ServiceCategory,
    ServiceKind,
    Unit,
    VatTreatment,
)
from marketplace.offers.models import Offer, OfferCapacity, OfferStatus, OfferTier
from marketplace.providers.models import ComplianceDocument
from marketplace.providers.rules import REQUIRED_KINDS, DocumentKind

PASSWORD = "correct horse battery"
# A cheap hash keeps the suite fast; real accounts get Werkzeug's default (scrypt).
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_counter = itertools.count(1)


def this_year() -> AcademicYear:
    return AcademicYear.containing(london_today())


def this_term() -> Term:
    return Term.containing(london_today())


def make_school(name: str | None = None, **values: object) -> School:
    n = next(_counter)
    school = School(
        urn=values.pop("urn", 900_000 + n),
        name=name or f"Test Primary School {n}",
        phase=values.pop("phase", "Primary"),
        la_code="307",
        la_name="Ealing",
        pupils=values.pop("pupils", 420),
        postcode="W5 1AA",
        town="London",
        area=values.pop("area", "Ealing"),
        is_member=values.pop("is_member", True),
        approval_threshold_pence=values.pop("approval_threshold_pence", 250_000),
        **values,
    )
    db.session.add(school)
    db.session.flush()
    return school


def make_trust(name: str | None = None, **values: object) -> Trust:
    n = next(_counter)
    trust = Trust(
        name=name or f"Test Learning Trust {n}", code=str(values.pop("code", 10_000 + n)), **values
    )
    db.session.add(trust)
    db.session.flush()
    return trust


def make_provider(name: str | None = None, *, compliant: bool = True, **values: object) -> Provider:
    """A provider; `compliant` gives it every required compliance document, in date for a
    year, so that it can publish offers and take orders."""
    provider = Provider(
        name=name or f"Test Provider {next(_counter)}",
        kind=values.pop("kind", ProviderKind.COMPANY),
        contact_email="provider@example.test",
        **values,
    )
    db.session.add(provider)
    db.session.flush()
    if compliant:
        today = london_today()
        for kind in REQUIRED_KINDS:
            make_compliance_document(provider, kind, expires_on=today + timedelta(days=365))
    return provider


PDF_BYTES = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def make_compliance_document(
    provider: Provider, kind: DocumentKind, *, expires_on: date, issued_on: date | None = None
) -> ComplianceDocument:
    document = ComplianceDocument(
        provider_id=provider.id,
        kind=kind,
        issued_on=issued_on or min(expires_on, london_today()) - timedelta(days=300),
        expires_on=expires_on,
        last_checked_on=london_today() - timedelta(days=30) if kind is DocumentKind.DBS else None,
        declaration="All staff have enhanced DBS checks." if kind is DocumentKind.DBS else "",
        filename=f"{kind.value}.pdf",
        content_type="application/pdf",
        size_bytes=len(PDF_BYTES),
        sha256=hashlib.sha256(PDF_BYTES).hexdigest(),
        content=PDF_BYTES,
    )
    db.session.add(document)
    db.session.flush()
    return document


def make_user(
    role: Role,
    *,
    school: School | None = None,
    provider: Provider | None = None,
    trust: Trust | None = None,
    email: str | None = None,
    active: bool = True,
) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role.value}{n}@example.test",
        name=f"Test {role.label} {n}",
        role=role,
        school_id=school.id if school else None,
        provider_id=provider.id if provider else None,
        trust_id=trust.id if trust else None,
        active=active,
    )
    user.password_hash = PASSWORD_HASH
    db.session.add(user)
    db.session.flush()
    return user


def make_category(slug: str = "counselling", name: str | None = None) -> ServiceCategory:
    """The category with this slug, made the first time it is asked for."""
    category = db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.slug == slug))
    if category is None:
        known = {key: (label, about) for key, label, about in DEMO_CATEGORIES}
        label, about = known.get(slug, (slug.replace("-", " ").capitalize(), ""))
        category = ServiceCategory(slug=slug, name=name or label, description=about)
        db.session.add(category)
        db.session.flush()
    return category


def make_service(slug: str | None = None, **values: object) -> Service:
    n = next(_counter)
    category = values.pop("category", "counselling")
    service = Service(
        slug=slug or f"service-{n}",
        name=values.pop("name", f"Test service {n}"),
        kind=values.pop("kind", ServiceKind.TRADED),
        category=category
        if isinstance(category, ServiceCategory)
        else make_category(str(category)),
        unit=values.pop("unit", Unit.DAY),
        vat=values.pop("vat", VatTreatment.EXEMPT),
        **values,
    )
    db.session.add(service)
    db.session.flush()
    return service


def make_offer(
    provider: Provider,
    service: Service,
    *,
    tiers: list[tuple[int, int]] | None = None,
    capacity: int = 100,
    status: OfferStatus = OfferStatus.LIVE,
    **values: object,
) -> Offer:
    """An offer valid this academic year; tiers as (from quantity, unit price in pence)."""
    year = this_year()
    offer = Offer(
        provider=provider,
        service=service,
        title=values.pop("title", f"{service.name} from {provider.name}"),
        status=status,
        valid_from=values.pop("valid_from", year.starts_on - timedelta(days=1)),
        valid_to=values.pop("valid_to", year.ends_on),
        tiers=[
            OfferTier(min_quantity=q, unit_price_pence=p)
            for q, p in (tiers or [(0, 25_000), (20, 23_000)])
        ],
        capacities=[OfferCapacity(term_key=t.key, capacity=capacity) for t in year.terms()],
        **values,
    )
    db.session.add(offer)
    db.session.flush()
    return offer


def make_membership_term(
    start_year: int | None = None,
    rate: int = 1400,
    cap: int | None = 1_250_000,
    match_bp: int = 10_000,
) -> MembershipTerm:
    term = MembershipTerm(
        start_year=start_year or this_year().start_year,
        rate_per_pupil_pence=rate,
        default_cap_pence=cap,
        council_match_bp=match_bp,
    )
    db.session.add(term)
    db.session.flush()
    return term


def make_membership(
    school: School, term: MembershipTerm, pupils: int | None = None, cap: int | None = None
) -> Membership:
    membership = Membership(
        school_id=school.id,
        term_id=term.id,
        pupils_counted=school.pupils if pupils is None else pupils,
        cap_pence=cap,
    )
    db.session.add(membership)
    db.session.flush()
    return membership


@dataclass
class World:
    school_a: School
    school_b: School
    provider_a: Provider
    provider_b: Provider
    service: Service
    core_service: Service
    offer_a: Offer
    offer_b: Offer
    admin: User
    committee: User
    sbm_a: User
    head_a: User
    sbm_b: User
    provider_user_a: User
    provider_user_b: User
    trust: Trust  # school_a's multi-academy trust (school_b is in none)
    trust_user: User
    governor_a: User


def make_world() -> World:
    trust = make_trust("Alpha Learning Trust")
    school_a = make_school("Alpha Primary School", trust=trust)
    school_b = make_school("Beta High School", phase="Secondary", pupils=1200)
    provider_a = make_provider("Alpha Counselling Ltd")
    provider_b = make_provider("Beta Therapy Ltd")
    service = make_service("counselling-test", name="School counselling")
    core_service = make_service(
        "link-visit-test",
        name="Link-partner visit",
        kind=ServiceKind.CORE,
        category="cpd",
        unit=Unit.VISIT,
    )
    offer_a = make_offer(provider_a, service, tiers=[(0, 25_000), (20, 23_000)], capacity=100)
    offer_b = make_offer(provider_b, service, tiers=[(0, 27_000), (50, 21_000)], capacity=80)
    term = make_membership_term()
    make_membership(school_a, term)
    make_membership(school_b, term)
    return World(
        school_a=school_a,
        school_b=school_b,
        provider_a=provider_a,
        provider_b=provider_b,
        service=service,
        core_service=core_service,
        offer_a=offer_a,
        offer_b=offer_b,
        admin=make_user(Role.ADMIN),
        committee=make_user(Role.COMMITTEE),
        sbm_a=make_user(Role.SBM, school=school_a),
        head_a=make_user(Role.HEAD, school=school_a),
        sbm_b=make_user(Role.SBM, school=school_b),
        provider_user_a=make_user(Role.PROVIDER, provider=provider_a),
        provider_user_b=make_user(Role.PROVIDER, provider=provider_b),
        trust=trust,
        trust_user=make_user(Role.TRUST, trust=trust),
        governor_a=make_user(Role.GOVERNOR, school=school_a),
    )
