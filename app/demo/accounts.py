"""The demo's sign-in accounts, one of each role, all with the published demo password."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.demo.schools import DEMO_SCHOOL_URN, NON_MEMBER_URNS
from app.extensions import db
from app.models import Provider, Role, School, Trust, User

DEMO_PASSWORD = "pooled-demo"  # noqa: S105 - published demo password
DEMO_PROVIDER = "West London Counselling Collective"  # the provider account's
DEMO_TRUST_CODE = "17307"  # the trust account's (app.demo.trusts)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    what: str
    provider: str = DEMO_PROVIDER  # a provider account's provider
    school_urn: int = DEMO_SCHOOL_URN  # a school account's school


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
        "governor@demo.pooled.test",
        "Margaret Osei",
        Role.GOVERNOR,
        "chair of governors (second approver), Greenwood Primary School",
    ),
    DemoAccount(
        "trust@demo.pooled.test",
        "Daniel Reyes",
        Role.TRUST,
        "trust CFO, Ealing Learning Partnership Trust (Greenwood and two academies)",
    ),
    DemoAccount(
        "provider@demo.pooled.test",
        "Amira Haddad",
        Role.PROVIDER,
        "provider, West London Counselling Collective",
    ),
    DemoAccount(
        "agency@demo.pooled.test",
        "Nadia Brooks",
        Role.PROVIDER,
        "supply agency, Ealing Supply Partners",
        provider="Ealing Supply Partners",
    ),
    DemoAccount(
        "eps@demo.pooled.test",
        "Tom Lewis",
        Role.PROVIDER,
        "framework supplier, Ealing Educational Psychology Service",
        provider="Ealing Educational Psychology Service",
    ),
    DemoAccount(
        "nonmember-sbm@demo.pooled.test",
        "Owen Price",
        Role.SBM,
        "school business manager at a school that is not a member (non-member prices)",
        school_urn=min(NON_MEMBER_URNS),
    ),
]


def seed_accounts() -> int:
    """The demo accounts that are not there yet (a school's at its school); how many."""
    added = 0
    school_ids = {urn: id_ for urn, id_ in db.session.execute(sa.select(School.urn, School.id))}
    for account in ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.email == account.email)) is not None:
            continue
        provider_id = db.session.scalar(
            sa.select(Provider.id).where(Provider.name == account.provider)
        )
        if account.role is Role.PROVIDER and provider_id is None:
            continue  # its provider is seeded later (the supply agency), and calls again
        user = User(email=account.email, name=account.name, role=account.role)
        if account.role in (Role.SBM, Role.HEAD, Role.GOVERNOR):
            user.school_id = school_ids[account.school_urn]
        if account.role is Role.TRUST:
            user.trust_id = db.session.scalar(
                sa.select(Trust.id).where(Trust.code == DEMO_TRUST_CODE)
            )
            if user.trust_id is None:
                continue  # the demo trust is seeded first (app.demo.trusts)
        if account.role is Role.PROVIDER:
            user.provider_id = provider_id
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        added += 1
    return added
