"""Hostile ids in the round form are refused on the field, never a 500, and nothing is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.time import utcnow
from procurement.rounds.models import BuyingRound
from tests.procurement.rounds.factories import future_term, offer_for

HOSTILE_IDS = ["-1", str(2**63), "²", "9" * 5000, "1e309", " ", "<script>", "\x00"]


@pytest.mark.parametrize("field", ["service_ids", "offer_ids"])
@pytest.mark.parametrize("value", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_a_hostile_id_in_the_round_form_is_refused_and_nothing_is_saved(
    client, auth, world, field, value
):
    term = future_term()
    offer = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=40)
    db.session.commit()
    auth.as_user(world.committee)
    form = {
        "title": "Counselling for spring",
        "service_ids": [str(world.service.id)],
        "offer_ids": [str(offer.id)],
        "term_keys": [term.key],
        "deadline_on": (utcnow() + timedelta(days=10)).date().isoformat(),
        "deadline_time": "17:00",
        "max_share_percent": "100",
        "min_providers": "1",
        "action": "open",
    }
    response = client.post("/rounds/new", data={**form, field: [value]})
    assert response.status_code == 400
    label = "Services" if field == "service_ids" else "Offers taking part"
    expected = "NUL character" if "\x00" in value else f"{label}: choose from the list"
    assert expected in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BuyingRound)) == 0
