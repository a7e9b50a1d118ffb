"""Calling off under a contract: awarded prices without an offer, the contract's period and
schools, drawing down capacity and value (refused with what is left), the drawdown by term,
the order workflow and billing after it, and the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.calendar import Term
from app.extensions import db
from app.models import AuditEvent, Role
from marketplace.billing import runs
from marketplace.billing.models import InvoiceKind
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import gateway_from_config
from marketplace.orders import acceptance, decisions
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts import calloffs
from procurement.contracts.errors import (
    CallOffNotAllowed,
    CallOffRefused,
    CallOffTermsNotAllowed,
    DrawdownExceeded,
    InvalidCallOff,
    InvalidCallOffTerms,
)
from procurement.contracts.models import ContractSchool, ContractStatus
from tests import factories
from tests.marketplace.billing.conftest import no_stripe  # noqa: F401  (a fixture)
from tests.procurement.contracts.factories import make_contract, make_ep_provider


def next_term() -> Term:
    return Term.containing(factories.this_term().ends_on + timedelta(days=1))


@pytest.fixture
def contract(world):
    """Gamma (no catalogue offer) holds a contract with school A taking part."""
    return make_contract(make_ep_provider(), world.service, [world.school_a], capacity=60)


def call_off(contract, user, quantity, *, school=None, term=None, po="PO-CO-1"):
    return calloffs.call_off(
        contract.id,
        (school or user.school).id,
        user,
        term_key=(term or factories.this_term()).key,
        quantity=quantity,
        po_number=po,
    )


# Pricing and the workflow -------------------------------------------------------------------


def test_a_school_calls_off_at_the_awarded_tier_price_without_any_offer(world, contract):
    order = call_off(contract, world.sbm_a, 5)
    assert (order.kind, order.contract_id, order.offer_id) == (
        OrderKind.CALL_OFF,
        contract.id,
        None,
    )
    assert (order.provider_id, order.service_id) == (contract.provider_id, world.service.id)
    assert (order.unit_price_pence, order.total_pence) == (30_000, 150_000)
    # Within school A's £2,500 threshold: approved at once, for the provider to confirm.
    assert order.status is OrderStatus.APPROVED
    big = call_off(contract, world.sbm_a, 20, po="PO-CO-2")
    assert (big.unit_price_pence, big.total_pence) == (25_000, 500_000)  # the 20+ tier
    assert big.status is OrderStatus.SUBMITTED  # over the threshold: waits for the head
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.entity_type == "order", AuditEvent.entity_id == str(big.id)
        )
    ).all()
    assert actions == ["created", "submitted"]


def test_a_schools_own_awarded_price_comes_before_the_tiers(world):
    contract = make_contract(
        make_ep_provider(),
        world.service,
        [world.school_a],
        school_prices={world.school_a.id: 22_222},
    )
    assert call_off(contract, world.sbm_a, 3).unit_price_pence == 22_222


@pytest.mark.usefixtures("no_stripe")
def test_a_call_off_goes_through_approval_confirmation_delivery_and_is_billed(world, contract):
    order = call_off(contract, world.sbm_a, 20)
    decisions.approve(order.id, world.school_a.id, world.head_a)
    provider_user = factories.make_user(Role.PROVIDER, provider=contract.provider)
    decisions.confirm(order.id, contract.provider_id, provider_user)
    decisions.deliver(order.id, contract.provider_id, provider_user)
    acceptance.confirm_receipt(order.id, world.school_a.id, world.sbm_a)

    after_term = factories.this_term().ends_on + timedelta(days=1)
    runs.execute(runs.start_run(None, after_term), gateway_from_config())

    invoice = invoice_for_order(order.id)
    assert invoice is not None and invoice.kind is InvoiceKind.CALL_OFF
    [line] = invoice.lines
    assert line.amount_pence == 500_000 and contract.reference in line.description
    assert db.session.get(Order, order.id).status is OrderStatus.INVOICED


# Period and schools ---------------------------------------------------------------------------


def test_a_term_outside_the_contracts_period_is_refused(world):
    this_term = factories.this_term()
    contract = make_contract(
        make_ep_provider(),
        world.service,
        [world.school_a],
        starts_on=next_term().starts_on,
        ends_on=next_term().ends_on,
    )
    with pytest.raises(CallOffRefused, match="which does not include"):
        call_off(contract, world.sbm_a, 2, term=this_term)
    assert call_off(contract, world.sbm_a, 2, term=next_term()).term_key == next_term().key


def test_an_ended_or_pending_contract_takes_no_call_off(world):
    ended = make_contract(
        make_ep_provider(),
        world.service,
        [world.school_a],
        starts_on=factories.this_term().starts_on - timedelta(days=400),
        ends_on=factories.this_term().starts_on,
    )
    with pytest.raises(CallOffRefused, match="ended on"):
        call_off(ended, world.sbm_a, 1)
    pending = make_contract(
        make_ep_provider(), world.service, [world.school_a], status=ContractStatus.PENDING
    )
    with pytest.raises(CallOffRefused, match="not been entered into"):
        call_off(pending, world.sbm_a, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_a_school_not_taking_part_is_refused_unless_the_contract_is_open(world, contract):
    with pytest.raises(CallOffNotAllowed, match="does not take part"):
        call_off(contract, world.sbm_b, 2)
    with pytest.raises(CallOffTermsNotAllowed):
        calloffs.set_call_off_terms(
            contract.id, world.sbm_a, value_pence=None, open_to_new_schools=True
        )
    calloffs.set_call_off_terms(
        contract.id, world.committee, value_pence=None, open_to_new_schools=True
    )
    order = call_off(contract, world.sbm_b, 2)
    assert order.school_id == world.school_b.id and order.unit_price_pence == 30_000
    joined = db.session.scalar(
        sa.select(ContractSchool).where(
            ContractSchool.contract_id == contract.id,
            ContractSchool.school_id == world.school_b.id,
        )
    )
    assert joined is not None and joined.allocated_quantity == 0
    # Its next call-off does not add it again.
    call_off(contract, world.sbm_b, 1, po="PO-CO-2")
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ContractSchool)
            .where(ContractSchool.contract_id == contract.id)
        )
        == 2
    )


def test_a_trust_finance_lead_calls_off_for_the_trusts_schools_only(world, contract):
    order = call_off(contract, world.trust_user, 2, school=world.school_a)
    assert order.school_id == world.school_a.id
    with pytest.raises(InvalidCallOff, match="Choose a school"):
        call_off(contract, world.trust_user, 2, school=world.school_b)


def test_bad_input_is_refused_on_its_field_and_writes_nothing(world, contract):
    for quantity, field in (("ten", "quantity"), (0, "quantity")):
        with pytest.raises(InvalidCallOff) as refused:
            call_off(contract, world.sbm_a, quantity)
        assert refused.value.field == field
    with pytest.raises(InvalidCallOff) as refused:
        calloffs.call_off(
            contract.id,
            world.school_a.id,
            world.sbm_a,
            term_key="2026-winter",
            quantity=2,
            po_number="PO",
        )
    assert refused.value.field == "term_key"
    with pytest.raises(InvalidCallOff) as refused:
        call_off(contract, world.sbm_a, 2, po="  ")
    assert refused.value.field == "po_number"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


# Drawing down -------------------------------------------------------------------------------


def test_a_call_off_beyond_the_capacity_left_is_refused_with_what_remains(world, contract):
    call_off(contract, world.sbm_a, 25)
    call_off(contract, world.sbm_a, 30, term=next_term(), po="PO-CO-2")
    with pytest.raises(DrawdownExceeded) as refused:
        call_off(contract, world.sbm_a, 6, po="PO-CO-3")
    assert refused.value.message == (
        f"Contract {contract.reference} has only 5 days left to call off, and this call-off "
        "needs 6."
    )
    assert call_off(contract, world.sbm_a, 5, po="PO-CO-4").quantity == 5
    with pytest.raises(DrawdownExceeded, match="has no days left"):
        call_off(contract, world.sbm_a, 1, po="PO-CO-5")


def test_a_call_off_beyond_the_value_left_is_refused_with_the_money_left(world):
    contract = make_contract(
        make_ep_provider(), world.service, [world.school_a], capacity=None, value_pence=700_000
    )
    call_off(contract, world.sbm_a, 20)  # £5,000.00
    with pytest.raises(DrawdownExceeded) as refused:
        call_off(contract, world.sbm_a, 7, po="PO-CO-2")  # 7 × £300 = £2,100
    assert refused.value.message == (
        f"Contract {contract.reference} has only £2,000.00 of its maximum value left, and this "
        "call-off costs £2,100.00."
    )
    assert call_off(contract, world.sbm_a, 6, po="PO-CO-3").total_pence == 180_000


def test_drawdown_counts_reserving_call_offs_by_term_and_gives_back_cancelled_ones(world, contract):
    first = call_off(contract, world.sbm_a, 4)
    call_off(contract, world.sbm_a, 7, term=next_term(), po="PO-CO-2")
    drawdown = calloffs.drawdown_of(contract)
    assert (drawdown.used_units, drawdown.used_pence, drawdown.units_left) == (11, 330_000, 49)
    assert [(t.term_key, t.units, t.units_left_after) for t in drawdown.by_term] == [
        (factories.this_term().key, 4, 56),
        (next_term().key, 7, 49),
    ]
    decisions.cancel(first.id, world.school_a.id, world.sbm_a)
    drawdown = calloffs.drawdown_of(contract)
    assert (drawdown.used_units, drawdown.units_left) == (7, 53)
    assert [t.term_key for t in drawdown.by_term] == [next_term().key]


def test_the_committee_cannot_cap_the_value_below_what_is_drawn_down(world, contract):
    call_off(contract, world.sbm_a, 5)  # £1,500.00
    with pytest.raises(InvalidCallOffTerms, match="already draw down £1,500.00"):
        calloffs.set_call_off_terms(
            contract.id, world.committee, value_pence=100_000, open_to_new_schools=False
        )
    calloffs.set_call_off_terms(
        contract.id, world.admin, value_pence=150_000, open_to_new_schools=False
    )
    assert db.session.get(type(contract), contract.id).value_pence == 150_000
    with pytest.raises(DrawdownExceeded, match="reached its maximum value"):
        call_off(contract, world.sbm_a, 1, po="PO-CO-2")


# Pages --------------------------------------------------------------------------------------


def test_the_call_off_page_prices_the_quantity_and_places_the_call_off(
    client, auth, world, contract
):
    auth.as_user(world.sbm_a)
    page = client.get(f"/contracts/{contract.id}/call-off")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Awarded prices" in body and "£300.00" in body and "60 of 60 days" in body
    form = {
        "term_key": factories.this_term().key,
        "quantity": "20",
        "po_number": "PO-PAGE",
        "notes": "",
    }
    priced = client.post(f"/contracts/{contract.id}/call-off", data={**form, "action": "price"})
    assert priced.status_code == 200
    assert "£5,000.00" in priced.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    placed = client.post(f"/contracts/{contract.id}/call-off", data={**form, "action": "call-off"})
    assert placed.status_code == 302
    order = db.session.scalar(sa.select(Order))
    assert placed.location.endswith(f"/orders/{order.id}")
    assert order.offer_id is None and order.po_number == "PO-PAGE"
    detail = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "PO-PAGE" in detail


def test_the_call_off_page_names_what_is_wrong(client, auth, world, contract):
    auth.as_user(world.sbm_a)
    url = f"/contracts/{contract.id}/call-off"
    empty = client.post(url, data={"action": "call-off"})
    assert empty.status_code == 400
    text = empty.get_data(as_text=True)
    assert "Enter how many you need" in text and "Enter your purchase-order number" in text
    too_many = client.post(
        url,
        data={
            "term_key": factories.this_term().key,
            "quantity": "61",
            "po_number": "PO-X",
            "action": "call-off",
        },
    )
    assert too_many.status_code == 409
    assert "has only 60 days left to call off" in too_many.get_data(as_text=True)


def test_the_contract_page_shows_the_drawdown_by_term_and_the_link_to_call_off(
    client, auth, world, contract
):
    call_off(contract, world.sbm_a, 4)
    auth.as_user(world.sbm_a)
    body = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="drawdown-total"' in body and 'id="drawdown-terms"' in body
    assert factories.this_term().label in body and "<meter" in body
    assert f"/contracts/{contract.id}/call-off" in body
    assert 'id="call-off-terms"' not in body
    auth.logout()
    auth.as_user(world.sbm_b)
    other = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f"/contracts/{contract.id}/call-off" not in other
    auth.logout()
    auth.as_user(world.committee)
    committee = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="call-off-terms"' in committee


def test_the_committee_sets_the_call_off_terms_on_the_contract_page(client, auth, world, contract):
    auth.as_user(world.committee)
    url = f"/contracts/{contract.id}/call-off-terms"
    saved = client.post(url, data={"terms-value": "12,500", "terms-open_to_new_schools": "y"})
    assert saved.status_code == 302
    db.session.refresh(contract)
    assert (contract.value_pence, contract.open_to_new_schools) == (1_250_000, True)
    bad = client.post(url, data={"terms-value": "lots"}, follow_redirects=True)
    assert "is not an amount in pounds" in bad.get_data(as_text=True)
    auth.logout()
    auth.as_user(world.sbm_a)
    assert client.post(url, data={"terms-value": "1"}).status_code == 403


def test_the_service_page_links_a_school_to_call_off_under_its_contract(
    client, auth, world, contract
):
    auth.as_user(world.sbm_a)
    body = client.get(f"/services/{world.service.id}").get_data(as_text=True)
    assert f"/contracts/{contract.id}/call-off" in body
    assert "Call off under this contract" in body


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("sbm_a", 200),
        ("head_a", 200),
        ("trust_user", 200),  # school A is the trust's
        ("sbm_b", 403),  # a school not taking part, the contract closed to new schools
        ("governor_a", 404),
        ("provider_user_a", 404),
        ("contract_provider", 404),
        ("committee", 404),
        ("admin", 404),
    ],
)
def test_only_the_schools_taking_part_reach_the_call_off_page(
    client, auth, world, contract, who, expected
):
    if who == "contract_provider":
        user = factories.make_user(Role.PROVIDER, provider=contract.provider)
        db.session.commit()
    else:
        user = getattr(world, who)
    auth.as_user(user)
    assert client.get(f"/contracts/{contract.id}/call-off").status_code == expected
    posted = client.post(
        f"/contracts/{contract.id}/call-off",
        data={
            "term_key": factories.this_term().key,
            "quantity": "1",
            "po_number": "PO-SWEEP",
            "action": "call-off",
        },
    )
    assert posted.status_code == (302 if expected == 200 else expected)
    assert client.get("/contracts/999999/call-off").status_code == 404
