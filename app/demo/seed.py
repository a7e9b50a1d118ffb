"""The demo partnership: real Ealing schools, plausible numbers, realistic services and prices,
and a term of real activity. `seed()` builds it in order, from the modules beside this one:
schools and memberships (schools.py), services, providers and offers (catalogue.py), the
providers' compliance documents and a provider application (providers.py), the
sign-in accounts (accounts.py), the open buying round (rounds.py), then tenders (tenders.py)
and the term's orders, awarded round, billing and grants (activity.py), then the supply
managed service and the vacancies board (supply.py).

`seed()` is safe to run again: it looks everything up by its natural key first.
"""

from __future__ import annotations

import random
from pathlib import Path

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.demo.accounts import seed_accounts
from app.demo.activity import seed_demo_activity
from app.demo.catalogue import seed_catalogue
from app.demo.providers import seed_application, seed_compliance
from app.demo.rounds import seed_demo_round
from app.demo.schools import seed_memberships, seed_schools
from app.demo.supply import seed_demo_supply
from app.demo.tenders import seed_demo_tenders
from app.extensions import db
from app.models import User
from app.time import london_today
from marketplace.entitlements.services import seed_demo_entitlements


def is_empty() -> bool:
    """True when the database has no users (a fresh install)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed(data_dir: Path) -> dict[str, int]:
    """Build (or complete) the demo partnership; returns how many rows of each kind were added."""
    rng = random.Random(307)  # Ealing's LA code: the same demo every time
    year = AcademicYear.containing(london_today())
    added = {"schools": seed_schools(data_dir, rng)}
    added.update(seed_catalogue(year))  # services, providers, offers
    added["compliance documents"] = seed_compliance(london_today())  # before any order
    added["provider applications"] = seed_application()
    memberships = seed_memberships(year)
    entitlements = seed_demo_entitlements()
    added["users"] = seed_accounts()  # reported before the memberships, made after them
    added["memberships"] = memberships
    added["entitlements"] = entitlements
    added["buying rounds"] = seed_demo_round()  # the demo buying round, with pledges
    db.session.commit()
    added["tenders"] = seed_demo_tenders()  # demo tenders (issue 5)
    added.update(seed_demo_activity(london_today()))  # orders, a round, billing, grants
    added.update(seed_demo_supply(london_today()))  # supply cover, billed; vacancies (issue 15)
    added["compliance documents"] += seed_compliance(london_today())  # the supply agencies'
    return added
