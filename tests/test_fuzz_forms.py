"""Every form in the app, as its proper role, with hostile values: never a 5xx, and a refusal
changes nothing.

How it works. `app.url_map` lists every POST route; each is either in CASES (who submits it,
for which records, and what a valid submission looks like) or in NOT_FUZZED with the reason,
and the test fails when a route is in neither, so a new form cannot escape. For each case the
page holding the form is fetched and its fields read from the HTML (inputs, selects, text
areas, buttons with a name), so a field added to a template is fuzzed without a change here.
The baseline is the form as rendered, with the valid values of the case on top; then every
field in turn gets every hostile value with the other fields left valid. Every GET route is
also fetched with each hostile value in the query string (`q`, `page`, `year`, `status`, …
at once).

Each submission runs inside a SAVEPOINT that is rolled back afterwards, so every one starts
from the same world. One query reads every table's row count and latest `updated_at` before
the walk and again after each refusal (4xx, or the form shown again with "There is a
problem"): nothing may have moved. The session cookie is restored after each request.

Every field gets, on both backends, the values whose effect differs by backend (100,000
characters, NUL, 2**63) and half of the others (the other half on the other backend): a CI run
covers every field with every value. FUZZ_ALL=1 sends all of them on each backend.

Figures per backend (printed with `-s`, 6 December 2026): 148 POST routes, 145 forms fuzzed,
3 excluded with a reason; 446 fields; 11 hostile values; 3,122 form submissions and 980
query-string requests; 5xx = 0; about 6 minutes for both backends on a busy 2-core machine.
Fifteen button-only actions are posted without their button on the page (the world's records
are not in the state that shows it, or, for the Outbox, jobs and timesheet actions, the record
id is one that does not exist): they carry no fields, so the forged post is the test.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.account_links import LinkPurpose, make_token
from app.calendar import Term
from app.extensions import db
from app.models import MembershipTerm
from app.time import london_date, london_today, utcnow
from marketplace.orders import acceptance, basket, decisions
from marketplace.orders import drafting as order_drafting
from marketplace.orders.models import OrderStatus
from marketplace.payouts import services as payout_services
from marketplace.providers import applications as provider_applications
from marketplace.ratings import services as ratings
from marketplace.supply import cover as supply_cover
from marketplace.supply import timesheets as supply_timesheets
from marketplace.supply.rules import RateUnit
from procurement.contracts import amendments as contract_amendments
from procurement.contracts.models import AmendmentKind, ContractTier
from procurement.kpis import returns as kpi_returns
from procurement.kpis.models import KpiAction
from procurement.kpis.rules import KpiKind, Quarter
from procurement.minicomps import award as mini_award
from procurement.minicomps.rules import earliest_deadline_day
from procurement.pipeline import external as pipeline_external
from procurement.rounds.models import RoundNotice
from procurement.tenders import clarifications
from tests import factories
from tests.marketplace.billing.conftest import make_contract, make_order
from tests.marketplace.conftest import term_key
from tests.marketplace.supply.conftest import NOW as SUPPLY_NOW
from tests.marketplace.supply.conftest import book as supply_book
from tests.marketplace.supply.conftest import make_supply
from tests.marketplace.supply.conftest import post as supply_post
from tests.procurement.contracts.factories import make_contract as make_awarded_contract
from tests.procurement.contracts.factories import make_ep_provider
from tests.procurement.kpis.conftest import kpi_of, make_kpi_contract
from tests.procurement.minicomps.factories import make_framework
from tests.procurement.minicomps.factories import quote as mini_quote
from tests.procurement.minicomps.factories import start as start_mini_competition
from tests.procurement.rounds.factories import make_round_world
from tests.procurement.tenders.factories import (
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)
from tests.support.fuzzing import read_form, snapshot, snapshot_query

HOSTILE = [
    "",
    "   ",
    "-1",
    "0",
    "1e309",
    str(2**63),
    "²",
    "x" * 100_000,
    "\x00",
    "\u202e",
    "<script>alert(1)</script>",
]
QUERY_NAMES = (
    "q",
    "page",
    "year",
    "status",
    "term",
    "members",
    "run",
    "school_id",
    "provider_id",
    "offer",
    "quantity",
)

# POST routes not walked here, each with the reason.
NOT_FUZZED = {
    "marketplace.stripe_webhook": "not a form: a signed JSON body, fuzzed by "
    "tests/marketplace/billing/test_billing_webhook_input.py",
    "marketplace.billing": "starts a billing run against Stripe (the form has no fields but "
    "the button); its refusals are in tests/marketplace/billing/test_billing_views.py",
    "procurement.round_run": "queues an optimiser run for the background worker; the run's "
    "settings are fuzzed through procurement.round_rules",
}


@dataclass
class Case:
    """One POST route: who submits it, where the form is shown, and a valid submission."""

    endpoint: str
    role: str
    url: str
    page: str | None = None  # the page whose form posts to `url` (default: `url` itself)
    valid: dict[str, Any] = field(default_factory=dict)
    may_change: frozenset[str] = frozenset()  # tables a refusal may still write (throttles)


# --- the world ------------------------------------------------------------------------------


@dataclass
class Ids:
    """Plain ids of the world (ORM objects expire when each savepoint rolls back)."""

    values: dict[str, int]

    def __getattr__(self, name: str) -> int:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


# Signed account links (password reset, invitation) made by build_world.
tokens: dict[str, str] = {}


def build_world() -> tuple[factories.World, Ids]:
    world = factories.make_world()
    ids: dict[str, int] = {}
    tokens.clear()
    ids["membership_term"] = db.session.scalar(sa.select(MembershipTerm.id))
    key = term_key()
    for offer in (world.offer_a, world.offer_b):
        offer.valid_to = offer.valid_to + timedelta(days=400)
    db.session.flush()

    def order(quantity: int) -> int:
        return order_drafting.create_draft(
            school_id=world.school_a.id,
            offer_id=world.offer_a.id,
            term_key=key,
            quantity=quantity,
            po_number="PO-1001",
            actor=world.sbm_a,
        ).id

    ids["order_draft"] = order(2)
    ids["order_approval"] = order(20)  # over the head's threshold: waits for approval
    order_drafting.submit(ids["order_approval"], world.school_a.id, world.sbm_a)
    ids["order_sent"] = order(3)  # within the threshold: waits for the provider
    order_drafting.submit(ids["order_sent"], world.school_a.id, world.sbm_a)
    ids["order_confirmed"] = order(4)
    order_drafting.submit(ids["order_confirmed"], world.school_a.id, world.sbm_a)
    decisions.confirm(ids["order_confirmed"], world.provider_a.id, world.provider_user_a)
    ids["order_delivered"] = order(5)  # delivered: the school confirms receipt or disputes it
    order_drafting.submit(ids["order_delivered"], world.school_a.id, world.sbm_a)
    decisions.confirm(ids["order_delivered"], world.provider_a.id, world.provider_user_a)
    ids["order_disputed"] = order(6)  # delivered and disputed: the office resolves it
    ids["order_no_po"] = make_order(  # a call-off awarded without the school's PO number
        world.school_a,
        world.offer_a,
        2,
        contract=make_contract(world.offer_a),
        status=OrderStatus.CONFIRMED,
        po_number="",
    ).id
    later = utcnow().date() + timedelta(days=800)
    for delivered in (ids["order_delivered"], ids["order_disputed"]):
        if delivered == ids["order_disputed"]:
            order_drafting.submit(delivered, world.school_a.id, world.sbm_a)
            decisions.confirm(delivered, world.provider_a.id, world.provider_user_a)
        decisions.deliver(delivered, world.provider_a.id, world.provider_user_a, today=later)
    acceptance.dispute(
        ids["order_disputed"], world.school_a.id, world.sbm_a, "Books missing", today=later
    )
    ids["basket_line"] = basket.add_line(  # school A's basket: offer B, ready to check out
        school_id=world.school_a.id,
        offer_id=world.offer_b.id,
        term_key=key,
        quantity=2,
        actor=world.sbm_a,
    ).id

    now = utcnow()
    draft = make_tender(world, publish=False, now=now, deadline_at=now + timedelta(days=40))
    ids["tender_draft"], ids["tender_draft_lot"] = draft.tender.id, draft.lot.id
    ids["tender_draft_question"] = draft.questions[next(iter(draft.questions))]
    live = make_tender(world, now=now, deadline_at=now + timedelta(days=40))
    ids["tender_open"], ids["tender_open_lot"] = live.tender.id, live.lot.id
    bid_a, _ = submit_both_bids(live, now=now)
    ids["open_bid"] = bid_a.id
    asked = clarifications.ask_clarification(
        live.tender.id, world.provider_user_a, "When do contracts start?", now=now
    )
    ids["clarification"] = asked.id
    unopened = make_tender(world)
    submit_both_bids(unopened)
    ids["tender_closed"] = unopened.tender.id
    closed = make_tender(world)
    bid_c, _ = submit_both_bids(closed)
    open_bids(closed)
    ids["tender_opened"], ids["tender_opened_lot"] = closed.tender.id, closed.lot.id
    ids["opened_bid"] = bid_c.id
    scored = make_tender(world)
    bid_s, bid_t = submit_both_bids(scored)
    open_bids(scored)
    evaluate(scored, {bid_s.id: (80, 70), bid_t.id: (60, 50)})
    ids["tender_scored"], ids["tender_scored_lot"] = scored.tender.id, scored.lot.id
    ids["scored_bid"] = bid_s.id
    ids["committee2"] = scored.committee2.id
    changing = make_contract(world.offer_a, reference="ELP-C-CHANGES")
    changing.tiers.append(ContractTier(min_quantity=0, unit_price_pence=20_000))
    db.session.flush()
    ids["contract"] = changing.id
    for role, user in (("admin", world.admin), ("committee", world.committee)):
        ids[f"amendment_by_{role}"] = contract_amendments.propose_amendment(
            changing.id,
            user,
            contract_amendments.AmendmentInput(
                kind=AmendmentKind.PRICE_INDEXATION,
                reason="Annual CPI indexation",
                effective_on=utcnow().date(),
                indexation_bp=320,
            ),
        ).id

    framework = make_framework(world)  # A and B: a framework of two, with mini-competitions
    ids["framework_contract"] = framework.contract_a.id
    mc_open = start_mini_competition(framework)
    mini_quote(mc_open, world.provider_user_a, 25_000, utcnow())
    ids["mc_open"] = mc_open.id
    ten_days_ago = utcnow() - timedelta(days=10)
    ids["mc_closed"] = start_mini_competition(framework, started=ten_days_ago).id
    mc_opened = start_mini_competition(framework, started=ten_days_ago)
    mini_quote(mc_opened, world.provider_user_a, 25_000, ten_days_ago)
    mini_quote(mc_opened, world.provider_user_b, 26_000, ten_days_ago)
    mini_award.open_quotes(mc_opened.id, world.sbm_a, now=mc_opened.deadline_at)
    ids["mc_opened"] = mc_opened.id
    ids["mc_opened_quote"] = next(q.id for q in mc_opened.quotes if q.unit_price_pence)
    mc_weighted = start_mini_competition(
        framework, started=ten_days_ago, award_method="weighted", price_weight=60,
        quality_weight=40,
    )  # fmt: skip
    mini_quote(mc_weighted, world.provider_user_a, 25_000, ten_days_ago)
    mini_award.open_quotes(mc_weighted.id, world.sbm_a, now=mc_weighted.deadline_at)
    ids["mc_weighted"] = mc_weighted.id
    ids["mc_weighted_quote"] = next(q.id for q in mc_weighted.quotes if q.unit_price_pence)

    rw = make_round_world(world)
    ids["round"] = rw.buying_round.id
    draft_round = make_round_world(world, open_now=False)
    ids["round_draft"] = draft_round.buying_round.id
    notice = RoundNotice(round_id=rw.buying_round.id, school_id=world.school_a.id, message="Hi")
    db.session.add(notice)
    db.session.flush()
    ids["notice"] = notice.id
    ids["user_sbm_b"] = world.sbm_b.id
    ids["catalogue_service"] = world.service.id
    ids["provider_a"] = world.provider_a.id
    ids["catalogue_category"] = world.service.category_id
    supply = make_supply(world)
    ids["supply_contract"], ids["supply_agency_c"] = supply.contract.id, supply.agency_c.id
    ids["calloff_contract"] = make_awarded_contract(  # school A calls off under it
        make_ep_provider(), world.service, [world.school_a]
    ).id
    factories.make_provider("Delta Teachers")  # an agency not yet on the contract
    ids["supply_request"] = supply_post(supply, starts_on=date(2026, 9, 8)).id
    ids["supply_proposal"] = supply_cover.propose(
        ids["supply_request"],
        supply.teacher_a.provider_id,
        supply.teacher_a.id,
        None,
        today=SUPPLY_NOW.date(),
        now=SUPPLY_NOW + timedelta(minutes=1),
    ).id
    booked = supply_post(supply, starts_on=date(2026, 9, 9))
    ids["supply_booking"] = supply_book(supply, booked).id
    # An approved week of that booking, for the school to rate (Wednesday 9 September 2026).
    worked = supply_timesheets.submit(
        ids["supply_booking"],
        supply.teacher_a.provider_id,
        date(2026, 9, 7),
        {date(2026, 9, 9): RateUnit.DAY},
        None,
        now=datetime(2026, 9, 11, 17, tzinfo=UTC),
    )
    ids["supply_timesheet_approved"] = supply_timesheets.approve(
        worked.id, world.school_a.id, None
    ).id
    rated = make_order(world.school_a, world.offer_a, 2)  # delivered, rated: the provider replies
    ids["rating"] = ratings.rate_order(
        rated.id, world.school_a.id, ratings.RatingInput(4, 3, 5, "Good"), world.sbm_a
    ).id
    ids["supply_worker"] = supply.teacher_a.id
    ids["application"] = provider_applications.apply(
        provider_applications.ApplicationInput(
            organisation_name="Fuzz Applicant Ltd",
            kind="company",
            address="1 Test Street",
            company_number="01234567",
            charity_number="",
            contact_name="Fuzz Applicant",
            contact_email="applicant@example.org",
            contact_phone="020 7946 0000",
            categories=["counselling"],
        )
    ).id
    ids["pipeline_contract"] = make_contract(world.offer_b).id  # ends within 18 months
    for school, supplier in ((world.school_a, "Fuzz HR Ltd"), (world.school_b, "Other HR Ltd")):
        ids[f"external_{school.id}"] = pipeline_external.add_external(
            pipeline_external.ExternalInput(
                school_id=school.id,
                supplier_name=supplier,
                service_id=world.service.id,
                category="",
                annual_value_pence=500_000,
                ends_on=utcnow().date() + timedelta(days=120),
                notes="",
            ),
            world.sbm_a if school is world.school_a else world.sbm_b,
            utcnow().date(),
        ).id
    ids["external_contract"] = ids[f"external_{world.school_a.id}"]
    tokens["reset"] = make_token(world.sbm_b, LinkPurpose.PASSWORD_RESET)
    tokens["invitation"] = make_token(world.sbm_b, LinkPurpose.INVITATION)
    tokens["gias_preview"] = _held_gias_upload()
    _kpi_world(world, ids)
    ids["provider_payment"] = payout_services.record_payment(
        payout_services.PaymentInput(world.provider_a.id, date(2026, 1, 15), 1_000, "FUZZ-0"),
        world.admin,
    ).id
    db.session.commit()
    return world, Ids(ids)


def _kpi_world(world: factories.World, ids: dict[str, int]) -> None:
    """Provider A's contract running now with the standard KPIs, and a return below target
    for this quarter (an open action for the committee)."""
    today = london_today()
    contract = make_kpi_contract(
        world,
        starts_on=today - timedelta(days=400),
        ends_on=today + timedelta(days=400),
        reference="KPI-FUZZ-1",
    )
    custom = kpi_of(contract, KpiKind.CUSTOM)
    tokens["kpi_quarter"] = Quarter.containing(today).key
    kpi_returns.submit_return(custom.id, tokens["kpi_quarter"], "50", "", world.provider_user_a)
    ids["kpi_contract"], ids["kpi_custom"] = contract.id, custom.id
    ids["kpi_action"] = db.session.scalar(
        sa.select(KpiAction.id).where(KpiAction.kpi_id == custom.id)
    )


def _gias_file() -> tuple[io.BytesIO, str]:
    from app.config import Config

    path = f"{Config.DEMO_DATA_DIR}/schools/gias_sample_99.csv"
    with open(path, "rb") as handle:
        return io.BytesIO(handle.read()), "schools.csv"


def _held_gias_upload() -> str:
    """A GIAS file uploaded and waiting on its preview page (the token of its address)."""
    from flask import current_app

    from app import gias_preview

    data, _ = _gias_file()
    return gias_preview.hold_gias_upload(
        data.read(),
        filename="schools.csv",
        la_code=None,
        folder=Path(current_app.instance_path) / "gias-uploads",
        lifetime=timedelta(hours=1),
    )


# A bank file of payments to providers, good in the fuzz world (provider A by name).
BANK_FILE = b"date,amount,reference,payee\n2026-01-20,12.34,FUZZ-1,Alpha Counselling Ltd\n"


def _bank_file() -> tuple[io.BytesIO, str]:
    return io.BytesIO(BANK_FILE), "bank.csv"


def _pdf() -> tuple[io.BytesIO, str]:
    return io.BytesIO(b"%PDF-1.4 fuzz"), "plan.pdf"


def cases(i: Ids, world: factories.World) -> list[Case]:
    school = world.school_a.id
    t, r = i.tender_draft, i.round
    tomorrow = (utcnow() + timedelta(days=60)).date().isoformat()
    return [
        Case(
            "auth.login",
            "anonymous",
            "/sign-in",
            valid={"password": factories.PASSWORD},
            may_change=frozenset({"login_throttles", "audit_events"}),
        ),
        Case("auth.logout", "sbm", "/sign-out", page="/home"),
        Case(
            "admin.grants",
            "admin",
            "/admin/grants",
            valid={"source": "Council", "amount": "1000", "received_on": "2026-09-01"},
        ),
        Case(
            "admin.membership_enrol",
            "admin",
            f"/admin/membership/{i.membership_term}/enrol",
            page="/admin/membership",
        ),
        Case(
            "admin.membership_term_save",
            "admin",
            "/admin/membership/save",
            page="/admin/membership",
        ),
        Case(
            "admin.partnership_settings",
            "admin",
            "/admin/partnership",
            valid={
                "name": "Ealing Learning Partnership",
                "fee_percent": "5",
                "default_rate": "14",
                "default_council_match": "100",
            },
        ),
        Case(
            "admin.membership_edit",
            "admin",
            f"/admin/schools/{school}/membership/{i.membership_term}",
        ),
        Case("admin.schools_import", "admin", "/admin/schools/import", valid={"file": _gias_file}),
        Case(
            "marketplace.provider_payment_new",
            "admin",
            "/billing/provider-payments/new",
            valid={
                "provider_id": str(i.provider_a),
                "paid_on": "2026-01-20",
                "amount": "12.34",
                "reference": "FUZZ-NEW",
            },
        ),
        Case(
            "marketplace.provider_payment_delete",
            "admin",
            f"/billing/provider-payments/{i.provider_payment}/delete",
            valid={"reason": "Recorded twice"},
        ),
        Case(
            "marketplace.provider_payments_import",
            "admin",
            "/billing/provider-payments/import",
            valid={"file": _bank_file},
        ),
        # The confirmation's form is on the preview, the answer to an upload: posted as it
        # would be, with the file and its fingerprint.
        Case(
            "marketplace.provider_payments_import_confirm",
            "admin",
            "/billing/provider-payments/import/confirm",
            page="/billing/provider-payments/import",
            valid={
                "content": base64.b64encode(BANK_FILE).decode(),
                "filename": "bank.csv",
                "sha256": hashlib.sha256(BANK_FILE).hexdigest(),
            },
        ),
        # Refused baseline on purpose: an accepted one would import the kept file and use it
        # up, so every hostile fingerprint is tried against the file still waiting.
        Case(
            "admin.schools_import_preview",
            "admin",
            f"/admin/schools/import/preview/{tokens['gias_preview']}",
            valid={"sha256": "0" * 64},
        ),
        Case(
            "admin.user_set_active",
            "admin",
            f"/admin/users/{i.user_sbm_b}/active",
            page="/admin/users",
        ),
        Case(
            "admin.user_new",
            "admin",
            "/admin/users/new",
            valid={
                "email": "new.person@example.org",
                "name": "New Person",
                "role": "sbm",
                "school_id": str(school),
            },
        ),
        Case("marketplace.entitlement_settings", "admin", "/entitlements/settings"),
        Case(
            "marketplace.order_new",
            "sbm",
            f"/offers/{world.offer_a.id}/order",
            valid={"quantity": "2", "po_number": "PO-7", "term_key": term_key()},
        ),
        Case(
            "marketplace.basket_add",
            "sbm",
            f"/offers/{world.offer_a.id}/basket",
            page=f"/offers/{world.offer_a.id}/order",  # the order form's "Add to basket" button
            valid={"quantity": "2", "term_key": term_key()},
        ),
        Case(
            "marketplace.basket_line_quantity",
            "sbm",
            f"/basket/lines/{i.basket_line}/quantity",
            page="/basket",
            valid={f"line-{i.basket_line}-quantity": "3"},
        ),
        Case(
            "marketplace.basket_line_remove",
            "sbm",
            f"/basket/lines/{i.basket_line}/remove",
            page="/basket",
        ),
        Case("marketplace.basket_checkout", "sbm", "/basket/checkout", valid={"po_number": "PO-8"}),
        Case(
            "marketplace.order_approve",
            "head",
            f"/orders/{i.order_approval}/approve",
            page=f"/orders/{i.order_approval}",
        ),
        Case(
            "marketplace.school_approvals",
            "head",
            f"/schools/{world.school_a.id}/approvals",
            valid={"threshold": "2500", "second": "5000"},
        ),
        Case(
            "trusts.trust_detail",
            "trust",
            f"/trusts/{world.trust.id}",
            valid={"invoicing": "once"},
        ),
        Case(
            "marketplace.order_reject",
            "head",
            f"/orders/{i.order_approval}/reject",
            page=f"/orders/{i.order_approval}",
            valid={"reason": "Over budget"},
        ),
        Case(
            "marketplace.order_cancel",
            "sbm",
            f"/orders/{i.order_sent}/cancel",
            valid={"reason": "Not needed"},
        ),
        Case(
            "marketplace.order_confirm",
            "provider",
            f"/orders/{i.order_sent}/confirm",
            page=f"/orders/{i.order_sent}",
        ),
        Case(
            "marketplace.order_decline",
            "provider",
            f"/orders/{i.order_sent}/decline",
            page=f"/orders/{i.order_sent}",
            valid={"reason": "Fully booked"},
        ),
        Case(
            "marketplace.order_deliver",
            "provider",
            f"/orders/{i.order_confirmed}/deliver",
            page=f"/orders/{i.order_confirmed}",
        ),
        Case(
            "marketplace.order_edit",
            "sbm",
            f"/orders/{i.order_draft}/edit",
            valid={"quantity": "3"},
        ),
        Case(
            "marketplace.order_submit",
            "sbm",
            f"/orders/{i.order_draft}/submit",
            page=f"/orders/{i.order_draft}",
        ),
        Case("marketplace.offer_edit", "provider", f"/provider/offers/{world.offer_a.id}/edit"),
        Case(
            "marketplace.provider_apply",
            "anonymous",
            "/providers/apply",
            valid={
                "organisation_name": "Another Applicant Ltd",
                "kind": "company",
                "address": "2 Test Street",
                "company_number": "SC123456",
                "contact_name": "Another Applicant",
                "contact_email": "another@example.org",
                "contact_phone": "020 7946 0001",
                "categories": "counselling",
            },
        ),
        Case(
            "marketplace.provider_application_approve",
            "admin",
            f"/admin/provider-applications/{i.application}/approve",
            page=f"/admin/provider-applications/{i.application}",
        ),
        Case(
            "marketplace.provider_application_reject",
            "admin",
            f"/admin/provider-applications/{i.application}/reject",
            page=f"/admin/provider-applications/{i.application}",
            valid={"reason": "We have enough counselling providers."},
        ),
        Case(
            "marketplace.provider_compliance_upload",
            "provider",
            "/provider/compliance/dbs",
            valid={
                "file": _pdf,
                "issued_on": (utcnow() - timedelta(days=10)).date().isoformat(),
                "expires_on": tomorrow,
                "last_checked_on": (utcnow() - timedelta(days=10)).date().isoformat(),
                "declaration": "All staff have enhanced DBS checks.",
            },
        ),
        Case(
            "marketplace.offer_publish",
            "provider",
            f"/provider/offers/{world.offer_a.id}/publish",
            page="/provider/offers",
        ),
        Case(
            "marketplace.offer_withdraw",
            "provider",
            f"/provider/offers/{world.offer_a.id}/withdraw",
            page="/provider/offers",
        ),
        Case(
            "marketplace.offer_new",
            "provider",
            "/provider/offers/new",
            valid={
                "service_id": str(world.service.id),
                "title": "Fuzz offer",
                "tiers-0-min_quantity": "0",
                "tiers-0-price": "250",
                "valid_from": "2026-09-01",
                "valid_to": "2027-08-31",
            },
        ),
        Case("procurement.round_cancel", "committee", f"/rounds/{r}/cancel", page=f"/rounds/{r}"),
        Case("procurement.round_close", "committee", f"/rounds/{r}/close", page=f"/rounds/{r}"),
        Case(
            "procurement.round_open",
            "committee",
            f"/rounds/{i.round_draft}/open",
            page=f"/rounds/{i.round_draft}",
        ),
        Case("procurement.round_rules", "committee", f"/rounds/{r}/rules", page=f"/rounds/{r}"),
        Case(
            "procurement.round_award",
            "committee",
            f"/rounds/{r}/runs/999999/award",
            page=f"/rounds/{r}",
        ),
        Case("procurement.round_pledge", "sbm", f"/rounds/{r}/schools/{school}/pledges"),
        Case(
            "procurement.round_pledge_withdraw",
            "sbm",
            f"/rounds/{r}/schools/{school}/pledges/withdraw",
            page=f"/rounds/{r}/schools/{school}/pledges",
        ),
        Case(
            "procurement.round_new",
            "committee",
            "/rounds/new",
            valid={
                "title": "Fuzz round",
                "service_ids": [str(world.service.id)],
                "deadline_on": tomorrow,
                "deadline_time": "17:00",
                "max_share_percent": "100",
                "min_providers": "1",
            },
        ),
        Case(
            "procurement.round_notice_read", "sbm", f"/rounds/notices/{i.notice}/read", page="/home"
        ),
        Case(
            "procurement.tender_new",
            "committee",
            "/tenders/new",
            valid={
                "title": "Fuzz tender",
                "deadline_on": tomorrow,
                "deadline_time": "12:00",
                "contract_starts_on": "2027-09-01",
                "contract_ends_on": "2028-08-31",
                "min_valid_bids": "1",
                "price_weight": "60",
                "quality_weight": "30",
                "social_value_weight": "10",
                "school_ids": [str(school)],
            },
        ),
        Case("procurement.tender_edit", "committee", f"/tenders/{t}/edit"),
        Case(
            "procurement.tender_lot_new",
            "committee",
            f"/tenders/{t}/lots/new",
            valid={
                "title": "Lot two",
                "service_id": str(world.service.id),
                "expected_volume": "100",
                "max_suppliers": "1",
            },
        ),
        Case(
            "procurement.tender_lot_edit",
            "committee",
            f"/tenders/{t}/lots/{i.tender_draft_lot}/edit",
        ),
        Case(
            "procurement.tender_lot_remove",
            "committee",
            f"/tenders/{t}/lots/{i.tender_draft_lot}/remove",
            page=f"/tenders/{t}",
        ),
        Case(
            "procurement.tender_question_new",
            "committee",
            f"/tenders/{t}/questions/new",
            valid={"criterion": "quality", "text": "How?"},
        ),
        Case(
            "procurement.tender_question_remove",
            "committee",
            f"/tenders/{t}/questions/{i.tender_draft_question}/remove",
            page=f"/tenders/{t}",
        ),
        Case(
            "procurement.tender_documents",
            "committee",
            f"/tenders/{t}/documents",
            valid={"file": _pdf},
        ),
        Case(
            "procurement.tender_publish", "committee", f"/tenders/{t}/publish", page=f"/tenders/{t}"
        ),
        Case(
            "procurement.tender_cancel",
            "committee",
            f"/tenders/{t}/cancel",
            valid={"reason": "No longer needed"},
        ),
        Case(
            "procurement.tender_ask",
            "provider",
            f"/tenders/{i.tender_open}/clarifications",
            page=f"/tenders/{i.tender_open}",
            valid={"question": "Is TUPE relevant?"},
        ),
        Case(
            "procurement.tender_answer",
            "committee",
            f"/tenders/{i.tender_open}/clarifications/{i.clarification}/answer",
            valid={"answer": "On the date in the notice."},
        ),
        Case(
            "procurement.mini_competition_new",
            "sbm",
            f"/contracts/{i.framework_contract}/mini-competitions/new",
            valid={
                "school_id": str(school),
                "title": "Fuzz quote request",
                "requirement": "Five days.",
                "quantity": "5",
                "term_key": Term.containing(london_date(utcnow())).key,
                "deadline_on": (earliest_deadline_day(utcnow()) + timedelta(days=7)).isoformat(),
                "deadline_time": "12:00",
                "award_method": "lowest_price",
                "po_number": "PO-FUZZ",
            },
        ),
        Case(
            "procurement.mini_competition_quote",
            "provider",
            f"/mini-competitions/{i.mc_open}/quote",
            valid={"unit_price": "240.00", "declared_compliant": "y"},
        ),
        Case(
            "procurement.mini_competition_withdraw",
            "provider",
            f"/mini-competitions/{i.mc_open}/quote/withdraw",
            page=f"/mini-competitions/{i.mc_open}",
        ),
        Case(
            "procurement.mini_competition_cancel",
            "sbm",
            f"/mini-competitions/{i.mc_open}/cancel",
            valid={"reason": "Covered in-house"},
        ),
        Case(
            "procurement.mini_competition_open",
            "sbm",
            f"/mini-competitions/{i.mc_closed}/open",
            page=f"/mini-competitions/{i.mc_closed}",
        ),
        Case(
            "procurement.mini_competition_set_aside",
            "sbm",
            f"/mini-competitions/{i.mc_opened}/quotes/{i.mc_opened_quote}/set-aside",
            valid={"reason": "No DBS evidence"},
        ),
        Case(
            "procurement.mini_competition_award",
            "sbm",
            f"/mini-competitions/{i.mc_opened}/award",
            page=f"/mini-competitions/{i.mc_opened}",
        ),
        Case(
            "procurement.mini_competition_score",
            "sbm",
            f"/mini-competitions/{i.mc_weighted}/quotes/{i.mc_weighted_quote}/score",
            page=f"/mini-competitions/{i.mc_weighted}",
            valid={"score": "70"},
        ),
        Case(
            "procurement.tender_bid_form",
            "provider",
            f"/tenders/{i.tender_open}/lots/{i.tender_open_lot}/bid",
        ),
        Case(
            "procurement.tender_bid_withdraw",
            "provider",
            f"/tenders/{i.tender_open}/bids/{i.open_bid}/withdraw",
            page=f"/tenders/{i.tender_open}/bids/{i.open_bid}",
        ),
        Case(
            "procurement.tender_bid_reconfirm",
            "provider",
            f"/tenders/{i.tender_open}/bids/{i.open_bid}/reconfirm",
            page=f"/tenders/{i.tender_open}/bids/{i.open_bid}",
        ),
        Case(
            "procurement.tender_bid_document_upload",
            "provider",
            f"/tenders/{i.tender_open}/bids/{i.open_bid}/documents",
            page=f"/tenders/{i.tender_open}/bids/{i.open_bid}",
            valid={"file": _pdf},
        ),
        Case(
            "procurement.tender_confirm_opening",
            "committee",
            f"/tenders/{i.tender_closed}/opening",
            page=f"/tenders/{i.tender_closed}",
        ),
        Case(
            "procurement.tender_start_evaluation",
            "committee",
            f"/tenders/{i.tender_opened}/evaluation",
            page=f"/tenders/{i.tender_opened}",
        ),
        Case(
            "procurement.tender_declaration",
            "committee",
            f"/tenders/{i.tender_opened}/lots/{i.tender_opened_lot}/declaration",
        ),
        Case(
            "procurement.tender_bid_disqualify",
            "committee",
            f"/tenders/{i.tender_opened}/bids/{i.opened_bid}/disqualify",
            valid={"reason": "Late documents"},
        ),
        Case(
            "procurement.tender_bid_score",
            "committee",
            f"/tenders/{i.tender_scored}/bids/{i.scored_bid}/score",
        ),
        Case(
            "procurement.tender_moderation",
            "committee",
            f"/tenders/{i.tender_scored}/lots/{i.tender_scored_lot}/moderation",
        ),
        Case(
            "procurement.tender_award",
            "committee",
            f"/tenders/{i.tender_scored}/award",
            page=f"/tenders/{i.tender_scored}",
        ),
        Case(
            "procurement.tender_enter_contracts",
            "committee",
            f"/tenders/{i.tender_scored}/contracts",
            page=f"/tenders/{i.tender_scored}",
        ),
        Case(
            "procurement.amendment_new",
            "committee",
            f"/contracts/{i.contract}/changes/new/price_indexation",
            valid={"percent": "3.2", "effective_on": utcnow().date().isoformat(), "reason": "CPI"},
        ),
        Case(
            "procurement.amendment_approve",
            "committee",
            f"/contracts/{i.contract}/changes/{i.amendment_by_admin}/approve",
            page=f"/contracts/{i.contract}/changes/{i.amendment_by_admin}",
        ),
        Case(
            "procurement.amendment_reject",
            "committee",
            f"/contracts/{i.contract}/changes/{i.amendment_by_admin}/reject",
            valid={"note": "Wait for the September figure"},
        ),
        Case(
            "procurement.amendment_withdraw",
            "committee",
            f"/contracts/{i.contract}/changes/{i.amendment_by_committee}/withdraw",
            page=f"/contracts/{i.contract}/changes/{i.amendment_by_committee}",
        ),
        Case(
            "procurement.contract_terminate",
            "admin",
            f"/contracts/{i.contract}/terminate",
            valid={"reason": "Provider closing", "terminated_on": utcnow().date().isoformat()},
        ),
        Case(
            "procurement.contract_extension_limit",
            "committee",
            f"/contracts/{i.contract}/extension-limit",
            valid={"allowed_until": (utcnow().date() + timedelta(days=800)).isoformat()},
        ),
        Case(
            "procurement.contract_call_off",
            "sbm",
            f"/contracts/{i.calloff_contract}/call-off",
            valid={"term_key": term_key(), "quantity": "2", "po_number": "PO-FUZZ"},
        ),
        Case(
            "procurement.contract_call_off_terms",
            "committee",
            f"/contracts/{i.calloff_contract}/call-off-terms",
            page=f"/contracts/{i.calloff_contract}",
            valid={"terms-value": "5000"},
        ),
        Case(
            "marketplace.supply_contract_new",
            "committee",
            "/supply/contracts/new",
            valid={
                "title": "Supply 2027",
                "starts_on": "2027-09-01",
                "ends_on": "2029-08-31",
                "release_mode": "ranked",
            },
        ),
        Case(
            "marketplace.supply_contract_agency_add",
            "committee",
            f"/supply/contracts/{i.supply_contract}/agencies",
            page=f"/supply/contracts/{i.supply_contract}",
        ),
        Case(
            "marketplace.supply_contract_agency_remove",
            "committee",
            f"/supply/contracts/{i.supply_contract}/agencies/{i.supply_agency_c}/remove",
            page=f"/supply/contracts/{i.supply_contract}",
        ),
        Case(
            "marketplace.supply_contract_rate",
            "committee",
            f"/supply/contracts/{i.supply_contract}/rates",
            page=f"/supply/contracts/{i.supply_contract}",
            valid={
                "pay": "110.00",
                "ni": "9.50",
                "pension": "3.30",
                "holiday": "13.27",
                "fee": "33.00",
            },
        ),
        Case(
            "marketplace.supply_baselines",
            "committee",
            "/supply/baselines",
            valid={"day_charge": "250.00"},
        ),
        Case(
            "procurement.tender_complete",
            "committee",
            f"/tenders/{i.tender_scored}/complete",
            page=f"/tenders/{i.tender_scored}",
        ),
        Case(
            "auth.forgot_password",
            "anonymous",
            "/forgot-password",
            valid={"email": world.sbm_b.email},
            may_change=frozenset({"login_throttles", "audit_events"}),
        ),
        Case(
            "auth.reset_password",
            "anonymous",
            f"/reset-password/{tokens['reset']}",
            valid={"password": "a long new passphrase 42", "confirm": "a long new passphrase 42"},
        ),
        Case(
            "auth.accept_invitation",
            "anonymous",
            f"/invitation/{tokens['invitation']}",
            valid={"password": "a long new passphrase 42", "confirm": "a long new passphrase 42"},
        ),
        Case(
            "auth.invite_colleague",
            "head",
            "/account/invite",
            valid={"email": "colleague@example.org", "name": "A Colleague"},
        ),
        Case("notifications.preferences", "sbm", "/account/notifications"),
        Case(
            "notifications.notifications_read",
            "sbm",
            "/notifications/read",
            page="/notifications",
        ),
        Case(
            "notifications.outbox_retry",
            "admin",
            "/admin/outbox/999999/retry",
            page="/admin/outbox",
        ),
        Case("admin.job_retry", "admin", "/admin/jobs/999999/retry", page="/admin/jobs"),
        Case(
            "admin.provider_new",
            "admin",
            "/admin/providers/new",
            valid={"name": "Gamma Learning Ltd", "kind": "company", "school_id": "0"},
        ),
        Case(
            "admin.provider_detail",
            "admin",
            f"/admin/providers/{i.provider_a}",
            valid={"name": "New Person", "email": "new.person@example.org"},
        ),
        Case(
            "marketplace.category_new",
            "admin",
            "/admin/catalogue/categories/new",
            valid={"slug": "outdoor", "name": "Outdoor learning"},
        ),
        Case(
            "marketplace.category_edit",
            "admin",
            f"/admin/catalogue/categories/{i.catalogue_category}",
        ),
        Case(
            "marketplace.category_retire",
            "admin",
            f"/admin/catalogue/categories/{i.catalogue_category}/retire",
            page="/admin/catalogue",
        ),
        Case(
            "marketplace.service_new",
            "admin",
            "/admin/catalogue/services/new",
            valid={"slug": "forest-school", "name": "Forest school", "category": "counselling"},
        ),
        Case(
            "marketplace.service_edit",
            "admin",
            f"/admin/catalogue/services/{i.catalogue_service}",
        ),
        Case(
            "marketplace.service_retire",
            "admin",
            f"/admin/catalogue/services/{i.catalogue_service}/retire",
            page="/admin/catalogue",
        ),
        Case(
            "marketplace.finance_code_edit",
            "sbm",
            f"/finance-codes/{world.service.id}",
        ),
        Case(
            "marketplace.order_receipt",
            "sbm",
            f"/orders/{i.order_delivered}/receipt",
            page=f"/orders/{i.order_delivered}",
        ),
        Case(
            "marketplace.order_dispute",
            "sbm",
            f"/orders/{i.order_delivered}/dispute",
            page=f"/orders/{i.order_delivered}",
            valid={"dispute-reason": "Half the books were missing"},
        ),
        Case(
            "marketplace.order_dispute_resolve",
            "admin",
            f"/orders/{i.order_disputed}/disputes/accept",
            page="/orders/disputes",
            valid={"resolve-reason": "Provider showed proof"},
        ),
        Case(
            "marketplace.order_po_number",
            "sbm",
            f"/orders/{i.order_no_po}/po-number",
            page=f"/orders/{i.order_no_po}",
            valid={"po-po_number": "PO-77"},
        ),
        Case(
            "procurement.round_pledge_approve",
            "head",
            f"/rounds/{r}/schools/{school}/pledges/approve",
            page=f"/rounds/{r}/schools/{school}/pledges",
        ),
        Case("marketplace.supply_request_new", "sbm", "/supply/requests/new"),
        Case(
            "marketplace.supply_propose",
            "provider",
            f"/supply/requests/{i.supply_request}/propose",
            page=f"/supply/requests/{i.supply_request}",
        ),
        Case(
            "marketplace.supply_accept",
            "sbm",
            f"/supply/proposals/{i.supply_proposal}/accept",
            page=f"/supply/requests/{i.supply_request}",
        ),
        Case(
            "marketplace.supply_request_cancel",
            "sbm",
            f"/supply/requests/{i.supply_request}/cancel",
            page=f"/supply/requests/{i.supply_request}",
        ),
        Case(
            "marketplace.supply_booking_cancel",
            "sbm",
            f"/supply/bookings/{i.supply_booking}/cancel",
            page=f"/supply/bookings/{i.supply_booking}",
        ),
        Case(
            "marketplace.supply_timesheet_submit",
            "provider",
            f"/supply/bookings/{i.supply_booking}/timesheets",
            page=f"/supply/bookings/{i.supply_booking}",
        ),
        Case(
            "marketplace.supply_timesheet_approve",
            "sbm",
            "/supply/timesheets/999999/approve",
            page=f"/supply/bookings/{i.supply_booking}",
        ),
        Case(
            "marketplace.supply_timesheet_query",
            "sbm",
            "/supply/timesheets/999999/query",
            page=f"/supply/bookings/{i.supply_booking}",
        ),
        Case("marketplace.supply_workers", "provider", "/supply/workers"),
        Case(
            "marketplace.supply_check",
            "provider",
            f"/supply/workers/{i.supply_worker}/checks",
            page="/supply/workers",
        ),
        Case(
            "marketplace.supply_prefer",
            "sbm",
            f"/supply/workers/{i.supply_worker}/prefer",
            page=f"/supply/bookings/{i.supply_booking}",
        ),
        Case("marketplace.supply_hire", "sbm", f"/supply/hire/{i.supply_worker}"),
        Case("marketplace.vacancy_new", "sbm", "/supply/vacancies/new"),
        Case(
            "marketplace.rating_order",
            "sbm",
            f"/orders/{i.order_delivered}/rating",
            valid={"quality": "5", "timeliness": "4", "communication": "3"},
        ),
        Case(
            "marketplace.rating_timesheet",
            "sbm",
            f"/supply/timesheets/{i.supply_timesheet_approved}/rating",
            valid={"quality": "4", "timeliness": "4", "communication": "4"},
        ),
        Case(
            "marketplace.rating_reply",
            "provider",
            f"/provider/ratings/{i.rating}/reply",
            page="/provider/ratings",
            valid={f"rating-{i.rating}-reply": "Thank you for the rating"},
        ),
        Case(
            "procurement.pipeline_decision",
            "committee",
            f"/pipeline/contracts/{i.pipeline_contract}/decision",
            valid={"choice": "lapse"},
        ),
        Case(
            "procurement.pipeline_retender",
            "committee",
            f"/pipeline/contracts/{i.pipeline_contract}/retender",
            page="/pipeline",
        ),
        Case(
            "procurement.pipeline_round",
            "committee",
            f"/pipeline/contracts/{i.pipeline_contract}/round",
            page="/pipeline",
        ),
        Case(
            "procurement.pipeline_joint_tender",
            "committee",
            "/pipeline/joint-tender",
            page="/pipeline",
        ),
        Case(
            "procurement.external_contract_new",
            "sbm",
            "/external-contracts/new",
            valid={
                "supplier_name": "Acme HR",
                "service_id": str(world.service.id),
                "annual_value": "1200",
                "ends_on": tomorrow,
            },
        ),
        Case(
            "procurement.external_contract_edit",
            "sbm",
            f"/external-contracts/{i.external_contract}/edit",
        ),
        Case(
            "procurement.external_contract_delete",
            "sbm",
            f"/external-contracts/{i.external_contract}/delete",
            page="/external-contracts",
        ),
        Case(
            "procurement.kpi_action",
            "committee",
            f"/contracts/actions/{i.kpi_action}",
            valid={"note": "Improvement plan agreed"},
        ),
        Case(
            "procurement.contract_kpi_new",
            "committee",
            f"/contracts/{i.kpi_contract}/kpis/new",
            valid={"name": "Reports sent on time", "target": "90"},
        ),
        Case(
            "procurement.contract_kpi_edit",
            "committee",
            f"/contracts/{i.kpi_contract}/kpis/{i.kpi_custom}/edit",
        ),
        Case(
            "procurement.contract_kpi_remove",
            "committee",
            f"/contracts/{i.kpi_contract}/kpis/{i.kpi_custom}/remove",
            page=f"/contracts/{i.kpi_contract}/kpis/{i.kpi_custom}/edit",
        ),
        Case(
            "procurement.contract_kpis_standard",
            "committee",
            f"/contracts/{i.kpi_contract}/kpis/standard",
            page=f"/contracts/{i.kpi_contract}",
        ),
        Case(
            "procurement.provider_kpi_return",
            "provider",
            f"/provider/kpis/{i.kpi_custom}/{tokens['kpi_quarter']}",
            valid={"value": "95"},
        ),
    ]


@dataclass
class Tally:
    field_index: int = 0
    unseen: list[str] = field(default_factory=list)
    forms: int = 0
    fields: int = 0
    submissions: int = 0
    queries: int = 0
    accepted_baselines: int = 0
    failures: list[str] = field(default_factory=list)


def is_refusal(status: int, body: str) -> bool:
    return 400 <= status < 500 or (status == 200 and "There is a problem" in body)


def materialise(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v() if callable(v) else v) for k, v in data.items()}


@pytest.fixture
def fuzz_world(app: Flask, db_session: Any) -> Iterator[tuple[factories.World, Ids]]:
    yield build_world()


PASS_OF_BACKEND = {"sqlite": 0, "postgresql": 1}


# Sent to every field on both backends: what PostgreSQL refuses and SQLite takes (text over a
# column's length, NUL) and what overflows either (64 bits). The others behave alike on both.
ON_BOTH = frozenset({"x" * 100_000, "\x00", str(2**63)})


def hostile_values(index: int, backend: str) -> list[str]:
    """The values field (or page) number `index` gets on this backend: ON_BOTH, and half of
    the others (the other half on the other backend), so a run on both covers every field with
    every value while each backend sends about two thirds. FUZZ_ALL=1 sends all of them on each."""
    if os.environ.get("FUZZ_ALL") == "1":
        return HOSTILE
    part = (index + PASS_OF_BACKEND[backend]) % 2
    split = [value for value in HOSTILE if value not in ON_BOTH]
    return [v for v in HOSTILE if v in ON_BOTH or (v in split and split.index(v) % 2 == part)]


def test_every_form_refuses_hostile_values_without_a_5xx_or_a_change(
    app: Flask, backend: str, db_session: Any, fuzz_world: tuple[factories.World, Ids]
) -> None:
    world, ids = fuzz_world

    def sample(index: int) -> list[str]:
        return hostile_values(index, backend)

    connection: sa.Connection = db_session.bind
    all_cases = cases(ids, world)
    by_endpoint = {case.endpoint: case for case in all_cases}
    post_endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())
    }
    unaccounted = post_endpoints - set(by_endpoint) - set(NOT_FUZZED)
    assert not unaccounted, f"POST routes neither fuzzed nor excluded with a reason: {unaccounted}"
    assert not set(by_endpoint) & set(NOT_FUZZED)

    users = {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
        "trust": world.trust_user,
    }
    emails = {role: user.email for role, user in users.items()}
    get_urls = _get_urls(app, ids, world)
    clients: dict[str, FlaskClient] = {"anonymous": app.test_client()}
    for role, email in emails.items():
        client = app.test_client()
        with app.app_context():
            response = client.post(
                "/sign-in", data={"email": email, "password": factories.PASSWORD}
            )
            assert response.status_code == 302, role
            assert client.get("/home").status_code == 200, role
        clients[role] = client
    db_session.remove()
    query = snapshot_query()
    tally = Tally()

    base = snapshot(connection, query)  # every submission starts here (savepoints roll back)

    def send(case_role: str, method: str, url: str, data: dict[str, Any] | None = None):
        """(response, body, tables that moved) for one request, rolled back afterwards."""
        client = clients[case_role]
        cookie = client.get_cookie("session")
        savepoint = connection.begin_nested()
        try:
            with app.app_context():  # a fresh `g` (the signed-in user) and session teardown
                try:
                    if method == "GET":
                        response = client.get(url)
                    else:
                        response = client.post(url, data=data, content_type="multipart/form-data")
                except Exception as exc:  # the test client re-raises what would be a 500
                    response = app.response_class(f"{type(exc).__name__}: {exc}"[:300], 500)
                body = response.get_data().decode(errors="replace")  # PDFs, zips too
            moved: set[str] = set()
            if is_refusal(response.status_code, body):
                after = snapshot(connection, query)
                moved = {k for k in base if base[k] != after[k]}
            return response, body, moved
        finally:
            db_session.remove()
            savepoint.rollback()
            if cookie is None:
                client.delete_cookie("session")
            else:
                client.set_cookie(cookie.key, cookie.value)

    for case in all_cases:
        page = case.page or case.url
        shown, shown_body, _ = send(case.role, "GET", page)
        assert shown.status_code == 200, f"{case.endpoint}: {page} gave {shown.status_code}"
        try:
            values, files = read_form(shown_body, case.url, case.page is None)
        except LookupError:
            if case.page is None:
                tally.failures.append(f"{case.endpoint}: no form on {page}")
            # A button-only action whose button this world's state does not show: it is
            # still posted (a forged request), with the fields the case names.
            tally.unseen.append(case.endpoint)
            values, files = {}, set()
        baseline: dict[str, Any] = {
            k: (v[0] if len(v) == 1 else v) for k, v in values.items() if k != "csrf_token"
        }
        if case.endpoint == "auth.login":
            baseline["email"] = emails["sbm"]
        baseline.update(case.valid)
        names = sorted((set(values) | set(case.valid) | files) - {"csrf_token"})
        tally.forms += 1
        tally.fields += len(names)
        response, _, _ = send(case.role, "POST", case.url, materialise(baseline))
        if response.status_code >= 500:
            tally.failures.append(f"{case.endpoint} baseline: {response.status_code}")
        if response.status_code in (302, 303):
            tally.accepted_baselines += 1
        for name in names:
            tally.field_index += 1
            for value in sample(tally.field_index):
                data = materialise(baseline)
                if name in files or name == "file":
                    data[name] = (io.BytesIO(b"%PDF-1.4 fuzz"), value or "empty")
                elif isinstance(baseline.get(name), list):
                    data[name] = [value]
                else:
                    data[name] = value
                response, body, moved = send(case.role, "POST", case.url, data)
                tally.submissions += 1
                where = f"{case.endpoint} {name}={value[:12]!r}"
                moved = {k for k in moved if k.split(".")[0] not in case.may_change}
                if response.status_code >= 500:
                    tally.failures.append(f"{where}: {response.status_code} {body[:150]}")
                elif moved:
                    tally.failures.append(
                        f"{where}: refused ({response.status_code}) but changed {sorted(moved)}"
                    )

    # GET pages with hostile query strings.
    for role, url in get_urls:
        tally.field_index += 1
        for value in sample(tally.field_index):
            query_string = {name: value for name in QUERY_NAMES}
            response, _, _ = send(role, "GET", url + "?" + _encode(query_string))
            tally.queries += 1
            if response.status_code >= 500:
                tally.failures.append(
                    f"GET {url} ?…={value[:12]!r}: {response.status_code} {response.data[:150]!r}"
                )

    print(
        f"\nfuzz: {len(post_endpoints)} POST routes, {tally.forms} forms fuzzed, "
        f"{len(NOT_FUZZED)} excluded; {tally.fields} fields x {len(HOSTILE)} values; "
        f"{tally.submissions} submissions ({tally.accepted_baselines} baselines accepted); "
        f"{tally.queries} query-string requests; failures: {len(tally.failures)}; "
        f"buttons not shown in this world (posted anyway): {tally.unseen}"
    )
    assert not tally.failures, "\n".join(tally.failures[:60])


def _encode(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def _get_urls(app: Flask, ids: Ids, world: factories.World) -> list[tuple[str, str]]:
    """Every GET route, filled with the world's ids, with a role that may read it."""
    fill = {
        "tender_id": ids.tender_open,
        "lot_id": ids.tender_open_lot,
        "bid_id": ids.open_bid,
        "round_id": ids.round,
        "school_id": world.school_a.id,
        "offer_id": world.offer_a.id,
        "order_id": ids.order_sent,
        "term_id": ids.membership_term,
        "user_id": ids.user_sbm_b,
        "provider_id": world.provider_a.id,
        "service_id": world.service.id,
        "trust_id": world.trust.id,
        "contract_id": ids.pipeline_contract,
        "external_id": ids.external_contract,
    }
    found: list[tuple[str, str]] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if any(arg not in fill for arg in rule.arguments):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", str(fill[arg])).replace(f"<{arg}>", str(fill[arg]))
        role = _role_for(rule.endpoint)
        found.append((role, url))
    return found


def _role_for(endpoint: str) -> str:
    if endpoint.startswith("trusts.") or endpoint == "marketplace.trust_orders":
        return "admin" if endpoint == "trusts.trusts" else "trust"
    if endpoint.endswith("school_approvals"):
        return "head"
    if endpoint.startswith("admin.") or "billing" in endpoint or "dashboard" in endpoint:
        return "admin"
    if endpoint.startswith(("procurement.tender", "procurement.contract", "procurement.pipeline")):
        return "committee"
    if "provider" in endpoint or "offer_edit" in endpoint:
        return "provider"
    return "sbm"
