"""The demo partnership: real Ealing schools, plausible numbers, realistic services and prices,
and a term of real activity. `seed()` builds it in order: the partnership's settings (the
same use case as `flask setup`), then from the modules beside this one:
schools and memberships (schools.py), services, providers and offers (catalogue.py), the
providers' compliance documents and a provider application (providers.py), the
sign-in accounts (accounts.py), the open buying round (rounds.py), then tenders (tenders.py)
and their contract's changes (contracts.py) and call-offs drawing it down (calloffs.py), the
term's orders, awarded round, billing and grants (activity.py), then the supply managed service
and the vacancies board (supply.py), ratings of delivered work (ratings.py), and the renewal
pipeline's decisions and schools' outside contracts (pipeline.py).

`seed()` is safe to run again: it looks everything up by its natural key first.
"""

from __future__ import annotations

import random
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app import partnership
from app.calendar import AcademicYear
from app.demo.accounts import seed_accounts
from app.demo.activity import seed_demo_activity
from app.demo.calloffs import seed_demo_call_offs
from app.demo.catalogue import seed_catalogue
from app.demo.contracts import seed_demo_amendments
from app.demo.kpis import seed_demo_kpis
from app.demo.minicomps import seed_demo_mini_competition
from app.demo.payouts import seed_demo_payments
from app.demo.pipeline import seed_demo_pipeline
from app.demo.providers import seed_application, seed_compliance
from app.demo.ratings import seed_demo_ratings
from app.demo.rounds import seed_demo_round
from app.demo.schools import seed_memberships, seed_schools
from app.demo.supply import seed_demo_supply
from app.demo.tenders import seed_demo_tenders
from app.demo.trusts import seed_demo_approval_chain, seed_demo_trust
from app.extensions import db
from app.models import User
from app.time import london_today
from marketplace.entitlements.services import seed_demo_entitlements


def is_empty() -> bool:
    """True when the database has no users (a fresh install)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed_settings() -> int:
    """The demo partnership's settings, through the same use case as `flask setup`; 1 if made."""
    if partnership.current_settings() is not None:
        return 0
    partnership.create_settings(
        partnership.SettingsInput(
            name="Ealing Learning Partnership",
            vat_number="GB 123 4567 89",
            address="Perceval House\n14-16 Uxbridge Road\nLondon\nW5 2HL",
            fee_bp=int(current_app.config.get("PARTNERSHIP_FEE_BP", 500)),
            default_rate_per_pupil_pence=1400,
            default_cap_pence=1_250_000,
            default_council_match_bp=10_000,
            bank_account_name="Ealing Learning Partnership",
            bank_sort_code="30-94-57",
            bank_account_number="00012345",
        )
    )
    return 1


def seed(data_dir: Path) -> dict[str, int]:
    """Build (or complete) the demo partnership; returns how many rows of each kind were added."""
    rng = random.Random(307)  # Ealing's LA code: the same demo every time
    year = AcademicYear.containing(london_today())
    added = {"partnership settings": seed_settings()}
    added["schools"] = seed_schools(data_dir, rng)
    added.update(seed_catalogue(year))  # services, providers, offers
    added["compliance documents"] = seed_compliance(london_today())  # before any order
    added["provider applications"] = seed_application()
    memberships = seed_memberships(year)
    entitlements = seed_demo_entitlements()
    added["trusts"] = seed_demo_trust()  # before the accounts: the trust's account is in it
    added["users"] = seed_accounts()  # reported before the memberships, made after them
    added["memberships"] = memberships
    added["entitlements"] = entitlements
    added["buying rounds"] = seed_demo_round()  # the demo buying round, with pledges
    db.session.commit()
    added["approval chains"] = seed_demo_approval_chain()  # Greenwood's head sets a second step
    added["tenders"] = seed_demo_tenders()  # demo tenders (issue 5)
    added["contract changes"] = seed_demo_amendments()  # an indexation, an extension (issue 16)
    added["contract call-offs"] = seed_demo_call_offs(london_today())  # drawing a contract down
    added.update(seed_demo_activity(london_today()))  # orders, a round, billing, grants
    added.update(seed_demo_supply(london_today()))  # supply cover, billed; vacancies (issue 15)
    added["mini-competitions"] = seed_demo_mini_competition()  # on the tender's framework
    added["compliance documents"] += seed_compliance(london_today())  # the supply agencies'
    added.update(seed_demo_ratings(london_today()))  # ratings of delivered work, a reply
    added.update(seed_demo_pipeline(london_today()))  # decisions, outside contracts (issue 16)
    added.update(seed_demo_kpis(london_today()))  # contract KPIs, returns, an action (issue 16)
    added.update(seed_demo_payments(london_today()))  # payments out to providers (issue 16)
    return added
