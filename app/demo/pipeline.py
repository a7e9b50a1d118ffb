"""The demo's renewal pipeline, made through the pipeline's own use cases: the committee's
decisions on contracts ending (the soonest to be re-tendered, left for the committee to draft
from the pipeline page: the browser journey does), and outside contracts recorded by the demo
trust's finance lead for its three schools, lining up as a candidate for a joint tender (drafted
from the pipeline), beside one of Greenwood's that does not line up.

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
    """A decision on each contract ending (the soonest to be re-tendered: the committee drafts
    it from the pipeline page), and a joint tender drafted for the trust's HR contracts."""
    committee = _user("committee@demo.pooled.test")
    if committee is None or committee.role is not Role.COMMITTEE:
        return 0
    notes = (
        (RenewalChoice.RETENDER, "Re-tender for the next academic year: demand has grown."),
        (RenewalChoice.ROUND, "Pool it again with the spring term's pledges."),
        (RenewalChoice.LAPSE, "Demand has moved to the new framework; let it end."),
    )
    made = 0
    for row, (choice, note) in zip(services.pipeline_rows(today), notes, strict=False):
        if choice in row.choices:
            services.record_decision(row.contract.id, committee, choice, note, today)
            made += 1
    groups = [g for g in external.joint_groups(today) if g.service_id is not None]
    if groups:
        try:
            prefill.draft_joint_tender([c.id for c in groups[0].contracts], committee, today)
            made += 1
        except DomainError:
            pass  # e.g. the service has been retired: the decisions stand
    return made


def seed_demo_pipeline(today: date) -> dict[str, int]:
    """Decisions on contracts ending and schools' outside contracts; {} when already seeded."""
    if db.session.scalar(sa.select(ExternalContract.id).limit(1)) is not None:
        return {}
    return {
        "outside contracts": _outside_contracts(today),
        "renewal decisions": _decisions(today),
    }
