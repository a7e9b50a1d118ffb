"""The demo's multi-academy trust (as a GIAS file would bring it) and Greenwood's two-step
approval chain, set by its head through the same use case as the approvals page."""

from __future__ import annotations

import sqlalchemy as sa

from app.demo.accounts import DEMO_TRUST_CODE
from app.demo.records import get_or_create
from app.demo.schools import DEMO_SCHOOL_URN
from app.extensions import db
from app.models import Role, School, Trust, User
from marketplace.orders import approvals

DEMO_TRUST_NAME = "Ealing Learning Partnership Trust"
# Greenwood, and two academies: the trust finance lead sees and approves for all three.
DEMO_TRUST_URNS = (DEMO_SCHOOL_URN, 139488, 137221)
# Greenwood: no approval up to £2,500, the head up to £5,000, then a second approver.
GREENWOOD_CHAIN_POUNDS = (2_500, 5_000)


def seed_demo_trust() -> int:
    """The trust and its schools (what the GIAS import's Trusts columns give); trusts added."""
    trust, created = get_or_create(Trust, {"code": DEMO_TRUST_CODE}, name=DEMO_TRUST_NAME)
    db.session.flush()
    for school in db.session.scalars(sa.select(School).where(School.urn.in_(DEMO_TRUST_URNS))):
        school.trust_id = trust.id
    return int(created)


def seed_demo_approval_chain() -> int:
    """Greenwood's head sets its chain with a second step (once); chains set."""
    school = db.session.scalar(sa.select(School).where(School.urn == DEMO_SCHOOL_URN))
    head = db.session.scalar(
        sa.select(User).where(User.school_id == school.id, User.role == Role.HEAD).limit(1)
        if school is not None
        else sa.select(User).where(sa.false())
    )
    if school is None or head is None or school.second_approval_pence is not None:
        return 0
    threshold, second = GREENWOOD_CHAIN_POUNDS
    approvals.set_chain(school.id, head, threshold_pounds=threshold, second_pounds=second)
    return 1
