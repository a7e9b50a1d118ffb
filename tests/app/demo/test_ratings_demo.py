"""The demo's ratings: the demo provider's counselling offer has enough ratings for its average
to show, one with the provider's reply, and the pages show them without a school's name."""

import sqlalchemy as sa

from app.demo.accounts import DEMO_PROVIDER
from app.extensions import db
from app.models import Provider, School, User
from marketplace.ratings import services
from marketplace.ratings.models import Rating


def test_the_demo_has_ratings_an_average_that_shows_and_a_reply(runner, client, auth):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    provider = db.session.scalar(sa.select(Provider).where(Provider.name == DEMO_PROVIDER))
    ratings = list(db.session.scalars(sa.select(Rating).where(Rating.provider_id == provider.id)))
    offer_ids = {r.offer_id for r in ratings}
    shown = [o for o in offer_ids if o and services.summary_for_offer(o).shown]
    assert shown, "no offer of the demo provider has three ratings"
    assert sum(1 for r in ratings if r.replied_at is not None) == 1
    assert db.session.scalar(sa.select(sa.func.count(Rating.id))) > len(ratings)  # others too
    counted = db.session.scalar(sa.select(sa.func.count(Rating.id)))
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # seeding again adds none
    assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == counted
    committee = db.session.scalar(sa.select(User).where(User.email == "committee@demo.pooled.test"))
    auth.login(committee.email, "pooled-demo")
    page = client.get(f"/offers/{shown[0]}/ratings").get_data(as_text=True)
    assert "The provider replied:" in page and "Not enough ratings yet" not in page
    rated_schools = {r.school_id for r in ratings}
    for school in db.session.scalars(sa.select(School).where(School.id.in_(rated_schools))):
        assert school.name not in page
