"""The demo's schools and their memberships: the real Ealing schools, plausible numbers."""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.demo.records import get_or_create
from app.extensions import db
from app.models import Membership, MembershipTerm, School

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


def seed_schools(data_dir: Path, rng: random.Random) -> int:
    """The 67 Ealing schools of the shared data, with made-up pupil counts; how many were added."""
    added = 0
    with (data_dir / "schools" / "ealing_schools_67.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        urn = int(row["URN"])
        phase = _phase(row["EstablishmentName"], row["TypeOfEstablishment (name)"])
        low, high = _PUPILS[phase]
        pupils = rng.randint(low, high)
        fsm = round(rng.uniform(8, 45), 1)
        district = row["Postcode"].split()[0]
        school, created = get_or_create(
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
        added += created
    return added


def seed_memberships(year: AcademicYear) -> int:
    """Last year's and this year's terms, every member school enrolled; memberships added."""
    added = 0
    for start_year, rate in ((year.start_year - 1, 1300), (year.start_year, 1400)):
        term, _ = get_or_create(
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
                added += 1
    return added
