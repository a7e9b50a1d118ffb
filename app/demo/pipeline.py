"""The demo's renewal pipeline, made through the pipeline's own use cases: the committee's
decisions on contracts ending (one re-tender already drafted from its contract), and outside
contracts recorded by the demo trust's finance lead for its three schools, lining up as a
candidate for a joint tender, beside one of Greenwood's that does not line up.

Safe to run twice: it does nothing once any outside contract is there.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.demo.trusts import DEMO_TRUST_URNS
from app.errors import DomainError
from app.extensions import db
from app.models import Role, School, User
from marketplace.catalogue.models import Service
from procurement.pipeline import external, prefill, services
from procurement.pipeline.models import ExternalContract
from procurement.pipeline.rules import RenewalChoice

# (school URN, supplier, annual value in pence, months from today it ends)
HR_CONTRACTS = (
    (DEMO_TRUST_URNS[0], "Brent HR Services Ltd", 420_000, 7),
    (DEMO_TRUST_URNS[1], "Hillingdon Schools HR", 1_180_000, 8),
    (DEMO_TRUST_URNS[2], "Acorn People Management", 960_000, 9),
)


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _service(slug: str) -> Service | None:
    return db.session.scalar(sa.select(Service).where(Service.slug == slug))


def _outside_contracts(today: date) -> int:
    trust_user = _user("trust@demo.pooled.test")
    sbm = _user("sbm@demo.pooled.test")
    hr = _service("hr-advisory")
    if trust_user is None or sbm is None or hr is None:
        return 0
    schools = {
        s.urn: s
        for s in db.session.scalars(sa.select(School).where(School.urn.in_(DEMO_TRUST_URNS)))
    }
    added = 0
    for urn, supplier, pence, months in HR_CONTRACTS:
        school = schools.get(urn)
        if school is None:
            continue
        external.add_external(
            external.ExternalInput(
                school_id=school.id,
                supplier_name=supplier,
                service_id=hr.id,
                category="",
                annual_value_pence=pence,
                ends_on=today + timedelta(days=30 * months),
                notes="Recorded by the trust's finance lead from its contracts register.",
            ),
            trust_user,
            today,
        )
        added += 1
    if sbm.school_id is not None:
        external.add_external(
            external.ExternalInput(
                school_id=sbm.school_id,
                supplier_name="Northolt Grounds Care",
                service_id=None,
                category="Grounds maintenance",
                annual_value_pence=640_000,
                ends_on=today + timedelta(days=400),
                notes="",
            ),
            sbm,
            today,
        )
        added += 1
    return added


def _decisions(today: date) -> int:
    committee = _user("committee@demo.pooled.test")
    if committee is None or committee.role is not Role.COMMITTEE:
        return 0
    rows = services.pipeline_rows(today)
    made = 0
    if rows:
        try:
            prefill.draft_tender_from_contract(rows[0].contract.id, committee, today)
            made += 1
        except DomainError:
            pass  # e.g. its service has been retired: the others still get decisions
    notes = (
        (RenewalChoice.ROUND, "Pool it again with the spring term's pledges."),
        (RenewalChoice.LAPSE, "Demand has moved to the new framework; let it end."),
    )
    for row, (choice, note) in zip(rows[1:], notes, strict=False):
        if choice not in row.choices:
            continue
        services.record_decision(row.contract.id, committee, choice, note, today)
        made += 1
    return made


def seed_demo_pipeline(today: date) -> dict[str, int]:
    """Decisions on contracts ending and schools' outside contracts; {} when already seeded."""
    if db.session.scalar(sa.select(ExternalContract.id).limit(1)) is not None:
        return {}
    return {
        "outside contracts": _outside_contracts(today),
        "renewal decisions": _decisions(today),
    }
