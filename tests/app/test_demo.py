"""`flask demo seed` builds the demo partnership, and running it again adds nothing."""

import sqlalchemy as sa

from app.demo import ACCOUNTS, DEMO_PASSWORD
from app.extensions import db
from app.models import Membership, Provider, School, User
from marketplace.models import Offer, OfferStatus, Service, ServiceKind


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seeding_twice_builds_the_partnership_once(runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    totals = {m: count(m) for m in (School, Service, Provider, Offer, User, Membership)}
    assert totals[School] == 67
    assert 10 <= totals[Provider] <= 12
    assert 12 <= totals[Service] <= 16
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert {m: count(m) for m in totals} == totals


def test_the_demo_is_realistic(runner):
    runner.invoke(args=["demo", "seed"])
    kinds = set(db.session.scalars(sa.select(Service.kind)))
    assert kinds == {ServiceKind.CORE, ServiceKind.TRADED}
    pupils = list(db.session.scalars(sa.select(School.pupils).where(School.phase == "Primary")))
    assert all(150 <= p <= 800 for p in pupils)
    offers = list(db.session.scalars(sa.select(Offer).where(Offer.status == OfferStatus.LIVE)))
    assert any(len(o.tiers) >= 3 for o in offers)
    assert all(o.capacities for o in offers)
    counselling = db.session.scalar(sa.select(Service).where(Service.slug == "counselling"))
    prices = [t.unit_price_pence for o in counselling.offers for t in o.tiers]
    assert all(17_000 <= p <= 42_000 for p in prices)  # DESIGN.md §7: £170–£420 a day


def test_every_demo_account_has_the_demo_password(runner):
    runner.invoke(args=["demo", "seed"])
    for account in ACCOUNTS:
        user = db.session.scalar(sa.select(User).where(User.email == account.email))
        assert user is not None and user.check_password(DEMO_PASSWORD)
    sbm = db.session.scalar(sa.select(User).where(User.email == "sbm@demo.pooled.test"))
    head = db.session.scalar(sa.select(User).where(User.email == "head@demo.pooled.test"))
    assert sbm.school_id == head.school_id is not None


def test_if_empty_leaves_an_existing_partnership_alone(runner, world):
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "skipped" in result.output
    assert count(School) == 2


def test_the_logins_are_printed(runner):
    result = runner.invoke(args=["demo", "logins"])
    assert "sbm@demo.pooled.test" in result.output and DEMO_PASSWORD in result.output
