"""`flask demo seed` builds the demo partnership, and running it again adds nothing."""

import sqlalchemy as sa

from app.demo.accounts import ACCOUNTS, DEMO_PASSWORD
from app.extensions import db
from app.models import Grant, Membership, Provider, School, User
from marketplace.billing.models import Invoice, InvoiceStatus
from marketplace.catalogue.models import Service, ServiceKind
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders.models import (
    ORDER_RESERVING_STATUSES,
    BasketLine,
    Order,
    OrderKind,
    OrderStatus,
)
from procurement.contracts.models import Contract, ContractSchool
from procurement.minicomps.models import MiniCompetition, MiniCompetitionStatus


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seeding_twice_builds_the_partnership_once(runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    models = (School, Service, Provider, Offer, User, Membership, Order, Invoice, Grant, Contract)
    totals = {m: count(m) for m in models}
    assert totals[School] == 67
    assert 13 <= totals[Provider] <= 15  # with the three supply agencies
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


def test_the_demo_has_a_term_of_real_activity(runner):
    """Orders at every stage, an awarded round with savings, billing and grants."""
    runner.invoke(args=["demo", "seed"])
    # Orders placed from the catalogue (PO numbers DEMO-…): an offer of a provider that also
    # holds a contract the school takes part in (the educational psychology framework) is
    # priced at the contract and placed as a call-off, so both kinds count.
    statuses = set(
        db.session.scalars(sa.select(Order.status).where(Order.po_number.like("DEMO-%")))
    )
    assert {
        OrderStatus.DRAFT,
        OrderStatus.SUBMITTED,
        OrderStatus.CONFIRMED,
        OrderStatus.REJECTED,
    } <= statuses
    assert OrderStatus.INVOICED in statuses  # delivered, then billed by the demo's billing run
    # A delivery the school disputed, waiting for the partnership office; the call-offs of the
    # demo's awarded round carry the schools' own purchase-order numbers.
    orders = list(db.session.scalars(sa.select(Order)))
    assert any(o.dispute_open and o.dispute_reason for o in orders)
    call_off_pos = {o.po_number for o in orders if o.kind is OrderKind.CALL_OFF}
    assert call_off_pos and not any(po.startswith("ROUND-") or not po for po in call_off_pos)
    invoice_statuses = set(db.session.scalars(sa.select(Invoice.status)))
    assert {InvoiceStatus.OPEN, InvoiceStatus.PAID} <= invoice_statuses
    shares = db.session.execute(
        sa.select(ContractSchool.charge_pence, ContractSchool.standalone_pence).where(
            ContractSchool.standalone_pence.is_not(None)
        )
    ).all()
    assert len(shares) >= 10
    assert all(charge <= alone for charge, alone in shares)  # no school pays more than alone
    assert sum(alone - charge for charge, alone in shares) > 0
    assert count(Grant) >= 2
    # The educational psychology tender is a framework of two ranked suppliers, and Greenwood
    # ran a mini-competition on it that ended in a call-off order to the winner.
    ranks = db.session.scalars(sa.select(Contract.framework_rank).order_by(Contract.id)).all()
    assert sorted(r for r in ranks if r is not None) == [1, 2]
    mini = db.session.scalar(sa.select(MiniCompetition))
    assert mini.status is MiniCompetitionStatus.AWARDED
    assert db.session.get(Order, mini.order_id).kind is OrderKind.CALL_OFF
    own = db.session.scalar(sa.select(School).where(School.urn == 101899))
    assert (
        db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.school_id == own.id)) >= 1
    )
    # Greenwood's business manager has a line in the basket, not yet checked out.
    basket = list(db.session.scalars(sa.select(BasketLine).where(BasketLine.school_id == own.id)))
    assert [(line.quantity, line.offer.service.slug) for line in basket] == [
        (2, "educational-psychology")
    ]


def test_the_demos_stand_in_users_can_never_sign_in(runner):
    runner.invoke(args=["demo", "seed"])
    stand_ins = db.session.scalars(
        sa.select(User).where(User.email.not_in([a.email for a in ACCOUNTS]))
    ).all()
    assert stand_ins  # heads and business managers of the other schools, for past activity
    for user in stand_ins:
        assert not user.active
        assert not user.check_password(DEMO_PASSWORD) and not user.check_password("!no-password")


def test_the_demo_has_a_trust_over_greenwood_and_a_two_step_chain(runner):
    from app.models import Role, Trust

    runner.invoke(args=["demo", "seed"])
    [trust] = db.session.scalars(sa.select(Trust)).all()
    assert len(trust.schools) == 3
    greenwood = db.session.scalar(sa.select(School).where(School.urn == 101899))
    assert greenwood.trust_id == trust.id
    assert (greenwood.approval_threshold_pence, greenwood.second_approval_pence) == (
        250_000,
        500_000,
    )
    cfo = db.session.scalar(sa.select(User).where(User.email == "trust@demo.pooled.test"))
    assert (cfo.role, cfo.trust_id) == (Role.TRUST, trust.id)
    governor = db.session.scalar(sa.select(User).where(User.email == "governor@demo.pooled.test"))
    assert (governor.role, governor.school_id) == (Role.GOVERNOR, greenwood.id)
    logins = runner.invoke(args=["demo", "logins"]).output
    assert "trust@demo.pooled.test" in logins and "governor@demo.pooled.test" in logins


def test_the_demo_providers_are_compliant_one_expiring_soon_and_an_application_waits(runner):
    from app.time import london_today
    from marketplace.providers import compliance
    from marketplace.providers.models import ApplicationStatus, ProviderApplication
    from marketplace.providers.rules import Standing

    runner.invoke(args=["demo", "seed"])
    overview = compliance.overview(london_today())
    assert overview and all(p.in_order for p in overview)  # every provider can take orders
    expiring = [p.provider.name for p in overview if p.kinds(Standing.EXPIRING)]
    assert expiring == ["Governance Matters Clerking"]
    pending = db.session.scalars(
        sa.select(ProviderApplication).where(
            ProviderApplication.status == ApplicationStatus.PENDING
        )
    ).all()
    assert len(pending) == 1
    outsider = db.session.scalar(
        sa.select(User).where(User.email == "nonmember-sbm@demo.pooled.test")
    )
    assert outsider is not None and outsider.school is not None
    assert not outsider.school.is_member
    traded = db.session.scalars(
        sa.select(Offer).join(Service).where(Service.kind == ServiceKind.TRADED)
    ).all()
    assert all(o.non_member_uplift_bp == 1_500 for o in traded)


def test_the_demo_tender_contract_is_drawn_down_by_call_offs_without_an_offer(runner):
    from app.demo.calloffs import MAX_VALUE_PENCE, demo_contract
    from procurement.contracts.calloffs import drawdown_of

    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    contract = demo_contract()
    assert contract is not None and contract.value_pence == MAX_VALUE_PENCE
    under = list(db.session.scalars(sa.select(Order).where(Order.contract_id == contract.id)))
    # The four placed from the call-off page; orders of the provider's catalogue offer that
    # the contract priced draw it down too.
    call_offs = [o for o in under if o.offer_id is None]
    assert len(call_offs) == 4 and all(o.kind is OrderKind.CALL_OFF for o in call_offs)
    assert len({o.school_id for o in call_offs}) == 3  # Greenwood and two of its trust's
    drawdown = drawdown_of(contract)
    held = sum(o.quantity for o in under if o.status in ORDER_RESERVING_STATUSES)
    assert drawdown.used_units == held >= 4 + 6 + 25 + 12
    assert len(drawdown.by_term) >= 2 and drawdown.units_left == contract.capacity - held
