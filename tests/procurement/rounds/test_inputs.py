"""The optimizer's inputs built from a round: capacity left, exclusions, active pledges."""

from __future__ import annotations

from app.extensions import db
from app.models import Role
from procurement import optimizer
from procurement.rounds.inputs import build_inputs
from tests.factories import make_school, make_user
from tests.procurement.rounds.factories import pledge


def test_the_inputs_use_capacity_left_exclusions_areas_and_only_active_pledges(rw):
    world = rw.world
    hub = make_school("Hub Primary School", area="Acton")
    far = make_school("Far Primary School", area="Southall")
    hub_sbm = make_user(Role.SBM, school=hub)
    far_sbm = make_user(Role.SBM, school=far)
    world.provider_a.school_id = hub.id  # Alpha is the hub school's own provider
    rw.offer_a.excluded_school_ids = [world.school_b.id]
    rw.offer_b.areas = ["Ealing", "Acton"]
    capacity = next(c for c in rw.offer_a.capacities if c.term_key == rw.term.key)
    capacity.reserved = 30
    db.session.commit()
    pledge(rw, hub_sbm, 3)
    pledge(rw, far_sbm, 2)
    pledge(rw, world.sbm_a, 10)
    pledge(rw, world.sbm_b, 5)
    pledge(rw, world.sbm_b, 0)  # withdrawn again
    inputs = build_inputs(rw.buying_round)
    instance = inputs.instance
    lot = f"counselling-test@{rw.term.key}"
    demand = {d["school"]: d["quantity"] for d in instance["demand"]}
    assert demand[f"S{hub.id}"] == 3 and demand[f"S{far.id}"] == 2
    assert demand[f"S{world.school_a.id}"] == 10 and f"S{world.school_b.id}" not in demand
    offers = {o["id"]: o for o in instance["offers"]}
    a = offers[f"O{rw.offer_a.id}@{rw.term.key}"]
    b = offers[f"O{rw.offer_b.id}@{rw.term.key}"]
    assert a["capacity"] == 70 and b["capacity"] == 80
    assert a["service"] == b["service"] == lot
    assert a["tiers"] == [
        {"from": 0, "unit_price_pence": 25_000},
        {"from": 20, "unit_price_pence": 23_000},
    ]
    assert f"S{hub.id}" in a["excluded_schools"]  # its own provider
    assert f"S{far.id}" in b["excluded_schools"]  # outside Beta's areas
    assert f"S{hub.id}" not in b["excluded_schools"]
    assert instance["rules"] == {"max_share": 1.0, "min_providers": 1, "single_source": False}
    optimizer.instance_from_json(instance)  # a valid optimizer instance
    assert inputs.labels["lots"][lot]["term_key"] == rw.term.key
    # The same database state gives the same inputs, byte for byte.
    assert build_inputs(rw.buying_round).sha256 == inputs.sha256
