"""Ordering and pledging know each other: open rounds (with their pooled price now) on service
and order pages, a warning before ordering what a round prices lower, and a warning before
pledging on top of an order for the same service, term and provider."""

from __future__ import annotations

from app.extensions import db
from marketplace.catalogue.coverage import RoundCover, cheaper_rounds, coverage
from marketplace.orders import drafting
from marketplace.orders.models import OrderStatus
from tests.factories import make_provider
from tests.marketplace.html import text
from tests.procurement.rounds.factories import close, offer_for, pledge


def order(rw, offer=None, quantity=5):
    """A draft order by school A for the round's term (from offer A unless given)."""
    made = drafting.create_draft(
        school_id=rw.world.school_a.id,
        offer_id=(offer or rw.offer_a).id,
        term_key=rw.term.key,
        quantity=quantity,
        po_number="PO-1",
        actor=rw.world.sbm_a,
    )
    db.session.commit()
    return made


def cover(term_key="2027-spring", price=25_066):
    return RoundCover(1, "Round", term_key, "Spring 2027", None, price)  # type: ignore[arg-type]


def test_only_rounds_for_the_terms_term_and_at_a_lower_price_are_warned_of():
    covers = [cover(price=25_066), cover("2027-summer", 20_000), cover(price=None)]
    assert cheaper_rounds(covers, 29_000, "2027-spring") == [covers[0]]
    assert cheaper_rounds(covers, 25_066, "2027-spring") == []  # the same price is no saving
    assert cheaper_rounds(covers, 29_000) == covers[:2]  # the term not chosen yet: any term
    assert cheaper_rounds(covers, None) == []


def test_an_open_round_covers_its_service_with_the_pooled_price_per_unit(rw):
    (before,) = coverage().open_rounds(rw.world.service.id)
    assert (before.round_id, before.term_key, before.unit_price_pence) == (
        rw.buying_round.id,
        rw.term.key,
        None,  # nobody has pledged: no price yet
    )
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    (now,) = coverage().open_rounds(rw.world.service.id)
    assert now.unit_price_pence == 21_000  # 55 days reach Beta's £210 tier
    assert coverage().open_rounds(rw.world.core_service.id) == []


def test_a_round_past_its_deadline_covers_nothing(rw):
    pledge(rw, rw.world.sbm_a, 30)
    close(rw)
    assert coverage().open_rounds(rw.world.service.id) == []


def test_a_draft_order_dearer_than_the_round_is_warned_of_before_submitting(rw, client, auth):
    pledge(rw, rw.world.sbm_b, 55)
    draft = order(rw)  # 5 days at £250
    auth.as_user(rw.world.sbm_a)
    page = client.get(f"/orders/{draft.id}").get_data(as_text=True)
    assert (
        f"An open buying round is pricing this at £210.00/day for {rw.term.label}; pledge instead?"
        in text(page)
    )
    pledge_page = f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges"
    assert f'href="{pledge_page}"' in page
    assert client.get(pledge_page).status_code == 200


def test_no_warning_when_the_order_is_as_cheap_as_the_round(rw, client, auth):
    pledge(rw, rw.world.sbm_b, 55)
    draft = order(rw, rw.offer_b, quantity=60)  # £210 a day from 50
    auth.as_user(rw.world.sbm_a)
    page = client.get(f"/orders/{draft.id}").get_data(as_text=True)
    assert "pledge instead?" not in page


def test_the_order_and_service_pages_point_to_the_open_round(rw, client, auth):
    pledge(rw, rw.world.sbm_b, 55)
    auth.as_user(rw.world.sbm_a)
    for path in (f"/offers/{rw.offer_a.id}/order", f"/services/{rw.world.service.id}"):
        page = text(client.get(path).get_data(as_text=True))
        assert f"Open buying round Counselling next spring for {rw.term.label}" in page, path
        assert "pooled price now about £210.00 per day" in page, path
    order_page = text(client.get(f"/offers/{rw.offer_a.id}/order").get_data(as_text=True))
    assert "An open buying round is pricing this at £210.00/day" in order_page


def test_pledging_on_top_of_an_order_from_a_round_provider_is_warned_of(rw, client, auth):
    draft = order(rw)
    auth.as_user(rw.world.sbm_a)
    path = f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges"
    page = text(client.get(path).get_data(as_text=True))
    assert (
        f"Your school already has order {draft.id} from Alpha Counselling Ltd for 5 days of "
        f"School counselling, {rw.term.label} at £250.00 per day. A pledge here comes on top of "
        "that order: you would buy both." in page
    )
    # The warning does not stop the pledge (the SBM may want both).
    pledge(rw, rw.world.sbm_a, 10)
    draft.status = OrderStatus.CANCELLED
    db.session.commit()
    assert "already has order" not in client.get(path).get_data(as_text=True)


def test_an_order_from_a_provider_outside_the_round_is_no_overlap(rw, client, auth):
    outsider = offer_for(
        make_provider("Gamma Wellbeing CIC"),
        rw.world.service,
        rw.term,
        tiers=[(0, 26_000)],
        capacity=10,
    )
    db.session.commit()
    order(rw, outsider)
    auth.as_user(rw.world.sbm_a)
    path = f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges"
    assert "already has order" not in client.get(path).get_data(as_text=True)
