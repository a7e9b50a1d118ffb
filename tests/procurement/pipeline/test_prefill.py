"""Re-tender and buying round drafts prefilled from a contract, joint tenders from schools'
outside contracts, and the previous prices kept from bidders and notices."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.extensions import db
from app.time import london_today, utcnow
from marketplace.offers.models import OfferCapacity
from marketplace.orders.models import OrderStatus
from procurement.contracts.models import ContractSchool, ContractSource, ContractTier
from procurement.pipeline import external, prefill, services
from procurement.pipeline.errors import DecisionActedOn, PipelineError, PipelineNotAllowed
from procurement.pipeline.models import ReferencePrice, ReferenceVolume, RenewalDecision
from procurement.pipeline.rules import RenewalChoice
from procurement.rounds.models import RoundStatus
from procurement.tenders import drafting, ocds, publication
from procurement.tenders.models import Criterion, TenderStatus
from tests import factories
from tests.marketplace.billing.conftest import make_contract, make_order

PRICE = 24_317  # an unusual price, easy to look for in a page or a notice


def _tender_contract(world):
    """A tendered contract with provider A for counselling: schools A and B take part; A has
    called off 7 + 5 units in the last 12 months (and a cancelled and an old order), B 3."""
    contract = make_contract(world.offer_a, reference="ELP-C-900")
    contract.source = ContractSource.TENDER
    contract.capacity = 300
    contract.tiers = [
        ContractTier(min_quantity=0, unit_price_pence=PRICE),
        ContractTier(min_quantity=50, unit_price_pence=22_000),
    ]
    contract.schools = [
        ContractSchool(school_id=world.school_a.id, allocated_quantity=20),
        ContractSchool(school_id=world.school_b.id, allocated_quantity=10),
    ]
    this_term = factories.this_term()
    old = Term.containing(london_today() - timedelta(days=430))
    make_order(world.school_a, world.offer_a, 7, contract=contract, term_key=this_term.key)
    make_order(
        world.school_a,
        world.offer_a,
        5,
        contract=contract,
        term_key=this_term.key,
        status=OrderStatus.CONFIRMED,
    )
    make_order(
        world.school_a,
        world.offer_a,
        40,
        contract=contract,
        term_key=this_term.key,
        status=OrderStatus.CANCELLED,
    )
    make_order(world.school_a, world.offer_a, 90, contract=contract, term_key=old.key)
    make_order(world.school_b, world.offer_a, 3, contract=contract, term_key=this_term.key)
    db.session.commit()
    return contract


def _volumes(tender_id):
    return {
        v.school_id: v.quantity
        for v in db.session.scalars(
            sa.select(ReferenceVolume).where(ReferenceVolume.tender_id == tender_id)
        )
    }


def test_re_tender_drafts_a_tender_prefilled_from_the_contract(world):
    contract = _tender_contract(world)
    today = london_today()
    tender = prefill.draft_tender_from_contract(contract.id, world.committee, today)
    assert tender.status is TenderStatus.DRAFT
    assert tender.contract_starts_on == contract.ends_on + timedelta(days=1)
    (lot,) = tender.lots
    assert lot.service_id == world.service.id
    assert lot.expected_volume == 15  # 7 + 5 + 3: cancelled and older call-offs left out
    assert {s.school_id for s in tender.schools} == {world.school_a.id, world.school_b.id}
    assert _volumes(tender.id) == {world.school_a.id: 12, world.school_b.id: 3}
    prices = db.session.scalars(
        sa.select(ReferencePrice).where(ReferencePrice.tender_id == tender.id)
    ).all()
    assert sorted((p.min_quantity, p.unit_price_pence) for p in prices) == [
        (0, PRICE),
        (50, 22_000),
    ]
    decision = services.decision_for(contract.id)
    assert decision.choice is RenewalChoice.RETENDER
    assert decision.tender_id == tender.id and decision.acted_at is not None


def test_a_decision_acted_on_cannot_be_changed_or_drafted_twice(world):
    contract = _tender_contract(world)
    today = london_today()
    services.record_decision(contract.id, world.committee, RenewalChoice.EXTEND, "maybe", today)
    services.record_decision(contract.id, world.committee, RenewalChoice.RETENDER, "", today)
    prefill.draft_tender_from_contract(contract.id, world.committee, today)
    with pytest.raises(DecisionActedOn):
        services.record_decision(contract.id, world.committee, RenewalChoice.LAPSE, "", today)
    with pytest.raises(DecisionActedOn):
        prefill.draft_tender_from_contract(contract.id, world.committee, today)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RenewalDecision)) == 1


def test_a_round_contract_cannot_be_extended_and_only_the_committee_decides(world):
    contract = make_contract(world.offer_a)  # from a buying round
    db.session.commit()
    today = london_today()
    with pytest.raises(PipelineError):
        services.record_decision(contract.id, world.committee, RenewalChoice.EXTEND, "", today)
    with pytest.raises(PipelineNotAllowed):
        services.record_decision(contract.id, world.admin, RenewalChoice.LAPSE, "", today)
    with pytest.raises(PipelineNotAllowed):
        prefill.draft_tender_from_contract(contract.id, world.sbm_a, today)
    assert services.decision_for(contract.id) is None


def test_reference_prices_never_reach_bidders_or_the_tender_notice(client, auth, world):
    contract = _tender_contract(world)
    now = utcnow()
    tender = prefill.draft_tender_from_contract(contract.id, world.committee, london_today())
    for criterion, text in ((Criterion.QUALITY, "How?"), (Criterion.SOCIAL_VALUE, "Who?")):
        drafting.add_question(
            tender.id, world.committee, drafting.QuestionInput(criterion, text), now=now
        )
    publication.publish_tender(tender.id, world.committee, now=now)
    price_texts = ("243.17", "24317", "243,17")

    auth.as_user(world.committee)
    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "Reference for evaluators" in page and "£243.17" in page
    auth.logout()

    auth.as_user(world.provider_user_b)
    lot = tender.lots[0]
    for url in (f"/tenders/{tender.id}", f"/tenders/{tender.id}/lots/{lot.id}/bid"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "Reference for evaluators" not in body
        assert not any(text in body for text in price_texts), url
    notice = json.dumps(ocds.release_package(tender.id, uri="http://test/ocds.json"))
    assert not any(text in notice for text in price_texts)


def _next_year_offer(world):
    year = AcademicYear(factories.this_year().start_year + 1)
    offer = factories.make_offer(world.provider_b, world.service, valid_to=year.ends_on)
    for term in year.terms():
        offer.capacities.append(OfferCapacity(term_key=term.key, capacity=200))
    db.session.flush()
    return offer


def test_buying_round_drafts_a_round_for_the_terms_after_the_contract(world, client, auth):
    contract = _tender_contract(world)
    offer = _next_year_offer(world)
    db.session.commit()
    buying_round = prefill.draft_round_from_contract(contract.id, world.committee, london_today())
    assert buying_round.status is RoundStatus.DRAFT
    assert [s.service_id for s in buying_round.services] == [world.service.id]
    assert [o.offer_id for o in buying_round.offers] == [offer.id]
    year = AcademicYear(factories.this_year().start_year + 1)
    assert buying_round.term_keys == [t.key for t in year.terms()]
    volumes = db.session.scalars(
        sa.select(ReferenceVolume).where(ReferenceVolume.round_id == buying_round.id)
    ).all()
    assert {v.school_id: v.quantity for v in volumes} == {
        world.school_a.id: 12,
        world.school_b.id: 3,
    }
    assert services.decision_for(contract.id).round_id == buying_round.id
    auth.as_user(world.committee)
    page = client.get(f"/rounds/{buying_round.id}").get_data(as_text=True)
    assert "Reference for evaluators" in page and "£243.17" in page


def test_a_round_is_refused_when_no_offer_runs_after_the_contract(world):
    contract = _tender_contract(world)
    with pytest.raises(PipelineError, match="No live offer"):
        prefill.draft_round_from_contract(contract.id, world.committee, london_today())
    assert services.decision_for(contract.id) is None  # nothing written


def _outside(world, school, user, supplier, pence, days, service_id=None):
    return external.add_external(
        external.ExternalInput(
            school_id=school.id,
            supplier_name=supplier,
            service_id=service_id if service_id is not None else world.service.id,
            category="",
            annual_value_pence=pence,
            ends_on=london_today() + timedelta(days=days),
            notes="",
        ),
        user,
        london_today(),
    )


def test_schools_outside_contracts_ending_together_become_a_joint_tender(world):
    a = _outside(world, world.school_a, world.sbm_a, "Acme HR", 400_000, 100)
    b = _outside(world, world.school_b, world.sbm_b, "Beta HR", 900_000, 160)
    _outside(world, world.school_b, world.sbm_b, "Late HR", 100_000, 400)  # not within 3 months
    (group,) = external.joint_groups(london_today())
    assert [c.id for c in group.contracts] == [a.id, b.id]
    assert group.annual_value_pence == 1_300_000
    tender = prefill.draft_joint_tender([a.id, b.id], world.committee, london_today())
    assert {s.school_id for s in tender.schools} == {world.school_a.id, world.school_b.id}
    values = {
        v.school_id: v.annual_value_pence
        for v in db.session.scalars(
            sa.select(ReferenceVolume).where(ReferenceVolume.tender_id == tender.id)
        )
    }
    assert values == {world.school_a.id: 400_000, world.school_b.id: 900_000}


def test_a_joint_tender_needs_two_schools_and_one_catalogue_service(world):
    a = _outside(world, world.school_a, world.sbm_a, "Acme HR", 400_000, 100)
    a2 = _outside(world, world.school_a, world.sbm_a, "Acme HR 2", 400_000, 120)
    other = _outside(world, world.school_b, world.sbm_b, "X", 1, 110, world.core_service.id)
    today = london_today()
    with pytest.raises(PipelineError, match="two schools"):
        prefill.draft_joint_tender([a.id, a2.id], world.committee, today)
    with pytest.raises(PipelineError, match="one service"):
        prefill.draft_joint_tender([a.id, other.id], world.committee, today)
    with pytest.raises(PipelineError):
        prefill.draft_joint_tender([a.id, 999_999], world.committee, today)
