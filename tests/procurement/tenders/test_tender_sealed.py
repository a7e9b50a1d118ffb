"""Sealed bids: a sweep of every tender and contract route, as every role, at every stage.

Before the bids are opened nobody but the bidder sees anything of a bid — not its prices,
capacity, answers, documents, its bidder's name, nor that it exists (pages are byte-for-byte
the same with or without bids). After opening, a committee member still sees no contents
until declaring no conflict of interest for the lot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask, url_for

from app.extensions import db
from app.time import utcnow
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus
from procurement.tenders import bids as bid_service
from procurement.tenders import clarifications, opening, publication
from procurement.tenders import documents as document_service
from procurement.tenders import evaluation as evaluation_service
from tests import factories
from tests.procurement.tenders.factories import (
    SECRET_ANSWER_A,
    SECRET_ANSWER_B,
    TenderWorld,
    bid_input,
    make_tender,
    open_bids,
    submit_both_bids,
)

PHASES = ("open", "closed", "opened")
ROLES = ("anonymous", "sbm", "head", "admin", "provider_b", "committee", "provider_a")
SIGNED_IN = ROLES[1:]
PDF = b"%PDF-1.4\nSECRET-PDF-CONTENT\n%%EOF"

# Figures from tender_factories: A bids £234.57 (from 300: £219.83), capacity 4,321;
# B bids £246.89, capacity 3,917; both for an expected volume of 400.
SECRETS = {
    "provider_a": [
        "234.57",
        "219.83",
        "87,932",
        "4,321",
        "4321",
        SECRET_ANSWER_A,
        "secret-bid-a-plan.pdf",
        "SECRET-PDF-CONTENT",
    ],
    "provider_b": ["246.89", "98,756", "3,917", "3917", SECRET_ANSWER_B],
}


def shows(body: str, secret: str) -> bool:
    """Whether the page shows the secret. A bare number counts only as a number of its own, not
    inside a longer word: the factories' users have numbered emails (admin3917@example.test),
    which must not pass for capacity 3917 (it made the sweep fail by the order tests ran in)."""
    if secret.isdigit():
        return re.search(rf"(?<![\w]){secret}(?![\w])", body) is not None
    return secret in body


@dataclass
class Scenario:
    tw: TenderWorld
    ids: dict[str, int]

    @property
    def world(self) -> factories.World:
        return self.tw.world


def build(world: factories.World, phase: str, *, with_bids: bool = True) -> Scenario:
    """A published counselling tender on the real clock, at the phase asked for."""
    real_now = utcnow().replace(second=0, microsecond=0)
    if phase == "open":
        published, deadline = real_now - timedelta(days=2), real_now + timedelta(days=10)
    else:
        published, deadline = real_now - timedelta(days=20), real_now - timedelta(days=1)
    tw = make_tender(world, publish=False, now=published, deadline_at=deadline)
    tender_doc = document_service.attach_to_tender(
        tw.tender.id, world.committee, "specification.txt", b"What we need.", now=published
    )
    publication.publish_tender(tw.tender.id, world.committee, now=published)
    answered = clarifications.ask_clarification(
        tw.tender.id, world.provider_user_a, "When do the contracts start?", now=published
    )
    clarifications.answer_clarification(
        tw.tender.id, answered.id, world.committee, "On the date in the notice.", now=published
    )
    open_question = clarifications.ask_clarification(
        tw.tender.id,
        world.provider_user_b,
        "Is supervision included?",
        now=published + timedelta(hours=1),
    )
    ids = {
        "tender_id": tw.tender.id,
        "lot_id": tw.lot.id,
        "question_id": tw.questions[next(iter(tw.questions))],
        "clarification_id": open_question.id,
        "tender_document_id": tender_doc.id,
    }
    if with_bids:
        ids.update(add_bids(tw, published + timedelta(days=1)))
    contract = Contract(
        reference=f"RND-TEST-{tw.tender.id}",
        title="Counselling from a buying round",
        provider_id=world.provider_a.id,
        service_id=world.service.id,
        source=ContractSource.ROUND,
        source_id=1,
        status=ContractStatus.ACTIVE,
        starts_on=real_now.date(),
        ends_on=real_now.date() + timedelta(days=365),
        schools=[ContractSchool(school_id=world.school_a.id)],
    )
    db.session.add(contract)
    db.session.commit()
    ids["contract_id"] = contract.id
    if phase == "opened":
        open_bids(tw, now=real_now - timedelta(hours=20))
    return Scenario(tw=tw, ids=ids)


def add_bids(tw: TenderWorld, when) -> dict[str, int]:
    bid_a, bid_b = submit_both_bids(tw, now=when)
    document = document_service.attach_to_bid(
        tw.tender.id,
        bid_a.id,
        tw.world.provider_user_a,
        "secret-bid-a-plan.pdf",
        PDF,
        now=when + timedelta(hours=1),
    )
    return {"bid_id": bid_a.id, "bid_b_id": bid_b.id, "document_id": document.id}


def user_for(scenario: Scenario, role: str):
    world = scenario.world
    return {
        "sbm": world.sbm_a,
        "head": world.head_a,
        "admin": world.admin,
        "committee": world.committee,
        "provider_a": world.provider_user_a,
        "provider_b": world.provider_user_b,
    }[role]


# --- What each role gets, per route and phase (open, closed, opened) --------------------------

PARTNERSHIP_AND_PROVIDERS = {"committee": 200, "admin": 200, "provider_a": 200, "provider_b": 200}
COMMITTEE_ONLY = {"committee": 200}
EVERYONE = dict.fromkeys(SIGNED_IN, 200)


def per_phase(open_: int, closed: int, opened: int) -> dict[str, int]:
    return dict(zip(PHASES, (open_, closed, opened), strict=True))


# (endpoint, method) -> {role: status or {phase: status}}; roles not listed get 403.
EXPECTED: dict[tuple[str, str], dict[str, object]] = {
    ("procurement.tenders", "GET"): PARTNERSHIP_AND_PROVIDERS,
    ("procurement.tender_new", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_detail", "GET"): PARTNERSHIP_AND_PROVIDERS,
    ("procurement.tender_edit", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_lot_new", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_lot_edit", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_question_new", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_documents", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_cancel", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_answer", "GET"): COMMITTEE_ONLY,
    ("procurement.tender_bid_disqualify", "GET"): {"committee": per_phase(404, 404, 200)},
    ("procurement.tender_declaration", "GET"): {"committee": per_phase(404, 404, 200)},
    ("procurement.tender_lot_evaluation", "GET"): {"committee": per_phase(404, 404, 403)},
    ("procurement.tender_bid_score", "GET"): {"committee": per_phase(404, 404, 403)},
    ("procurement.tender_moderation", "GET"): {"committee": per_phase(404, 404, 403)},
    ("procurement.tender_audit", "GET"): {"committee": 200, "admin": 200},
    ("procurement.tender_document", "GET"): {
        "provider_a": 200,
        "provider_b": 404,
        "committee": 404,
        "admin": 404,
    },
    ("procurement.tender_bid_form", "GET"): {"provider_a": 200, "provider_b": 200},
    ("procurement.tender_bid", "GET"): {
        "provider_a": 200,
        "provider_b": 404,
        "committee": per_phase(404, 404, 403),
        "admin": 404,
    },
    ("procurement.tender_assessment", "GET"): {
        "provider_a": 404,
        "provider_b": 404,
        "committee": per_phase(404, 404, 403),
    },
    ("procurement.tender_notices", "GET"): EVERYONE,
    ("procurement.tender_ocds_all", "GET"): EVERYONE,
    ("procurement.tender_ocds", "GET"): EVERYONE,
    ("procurement.contracts", "GET"): EVERYONE,
    ("procurement.contract_detail", "GET"): {
        "committee": 200,
        "admin": 200,
        "sbm": 200,
        "head": 200,
        "provider_a": 200,
        "provider_b": 404,
    },
    # Posts with nothing filled in: refused, with the right status, and nothing leaks.
    ("procurement.tender_new", "POST"): {"committee": 400},
    ("procurement.tender_edit", "POST"): {"committee": 400},
    ("procurement.tender_lot_new", "POST"): {"committee": 400},
    ("procurement.tender_lot_edit", "POST"): {"committee": 400},
    ("procurement.tender_question_new", "POST"): {"committee": 400},
    ("procurement.tender_documents", "POST"): {"committee": per_phase(400, 409, 409)},
    ("procurement.tender_cancel", "POST"): {"committee": 400},
    ("procurement.tender_lot_remove", "POST"): {"committee": 409},
    ("procurement.tender_question_remove", "POST"): {"committee": 409},
    ("procurement.tender_publish", "POST"): {"committee": 409},
    ("procurement.tender_award", "POST"): {"committee": 409},
    ("procurement.tender_enter_contracts", "POST"): {"committee": 409},
    ("procurement.tender_complete", "POST"): {"committee": 409},
    ("procurement.tender_ask", "POST"): {"provider_a": 400, "provider_b": 400},
    ("procurement.tender_answer", "POST"): {"committee": 400},
    ("procurement.tender_bid_disqualify", "POST"): {"committee": per_phase(404, 404, 400)},
    ("procurement.tender_declaration", "POST"): {"committee": per_phase(404, 404, 400)},
    ("procurement.tender_bid_score", "POST"): {"committee": per_phase(404, 404, 403)},
    ("procurement.tender_moderation", "POST"): {"committee": per_phase(404, 404, 403)},
    ("procurement.tender_bid_form", "POST"): {"provider_a": 400, "provider_b": 400},
    ("procurement.tender_bid_reconfirm", "POST"): {"provider_a": 409, "provider_b": 404},
    ("procurement.tender_bid_document_upload", "POST"): {
        "provider_a": per_phase(400, 409, 409),
        "provider_b": 404,
    },
    # These change state, so they run last.
    ("procurement.tender_confirm_opening", "POST"): {"committee": per_phase(409, 302, 409)},
    ("procurement.tender_start_evaluation", "POST"): {"committee": per_phase(409, 409, 302)},
    ("procurement.tender_bid_withdraw", "POST"): {
        "provider_a": per_phase(302, 409, 409),
        "provider_b": 404,
    },
}
RUN_LAST = [
    ("procurement.tender_confirm_opening", "POST"),
    ("procurement.tender_start_evaluation", "POST"),
    ("procurement.tender_bid_withdraw", "POST"),
]


def expected_status(endpoint: str, method: str, role: str, phase: str) -> int:
    if role == "anonymous":
        return 302
    value = EXPECTED[(endpoint, method)].get(role, 403)
    return value[phase] if isinstance(value, dict) else value


# The tender views and the contract register and page (where an award shows). Contract changes
# and call-offs come after the award, with sweeps of their own
# (tests/procurement/contracts/test_amendment_pages.py, the call-off sweep in
# tests/app/test_access.py).
SWEPT_VIEWS = ("procurement.tenders.views", "procurement.contracts.views.register")


def in_swept_views(module: str) -> bool:
    """A module of the tender views package, or the contract register's."""
    return any(module == views or module.startswith(views + ".") for views in SWEPT_VIEWS)


def swept_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route of the tender and contract view modules."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not in_swept_views(app.view_functions[rule.endpoint].__module__):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, rule.rule))

    def order(route: tuple[str, str, str]) -> tuple[int, int, str]:
        key = (route[0], route[1])
        last = RUN_LAST.index(key) + 1 if key in RUN_LAST else 0
        return (last, route[1] == "POST", route[0])

    return sorted(routes, key=order)


def url_for_route(app: Flask, endpoint: str, ids: dict[str, int]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    # document_id is the sealed bid document, not the tender's own.
    values = {argument: ids[argument] for argument in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **values)


def test_the_sweep_covers_every_tender_and_contract_route(app):
    found = {(endpoint, method) for endpoint, method, _ in swept_routes(app)}
    assert found == set(EXPECTED)


def test_every_tender_url_is_in_the_sweep(app):
    """Every route under /tenders, whichever module of the views package defines it."""
    tender_routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/tenders")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    swept = {(endpoint, method) for endpoint, method, _ in swept_routes(app)}
    assert len({endpoint for endpoint, _ in tender_routes}) == 35
    assert tender_routes <= swept
    modules = {app.view_functions[endpoint].__module__ for endpoint, _ in tender_routes}
    assert modules == {
        "procurement.tenders.views.lists",
        "procurement.tenders.views.drafting",
        "procurement.tenders.views.bids",
        "procurement.tenders.views.evaluation",
    }


def _forbidden(role: str) -> list[str]:
    """What this role must never see: other bidders' prices, capacity, answers, documents."""
    strings = []
    for owner, secrets in SECRETS.items():
        if owner != role:
            strings.extend(secrets)
    return strings


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_no_route_shows_a_sealed_bid_to_anyone_but_its_bidder(
    app, client, auth, world, role, phase
):
    scenario = build(world, phase)
    names = {
        "provider_a": [world.provider_a.name, world.provider_user_a.email],
        "provider_b": [world.provider_b.name, world.provider_user_b.email],
    }
    if role != "anonymous":
        auth.as_user(user_for(scenario, role))
    failures = []
    for endpoint, method, _ in swept_routes(app):
        url = url_for_route(app, endpoint, scenario.ids)
        response = client.open(url, method=method, data={})
        body = response.get_data(as_text=True)
        want = expected_status(endpoint, method, role, phase)
        if response.status_code != want:
            failures.append(f"{method} {url} as {role}: {response.status_code}, expected {want}")
        forbidden = _forbidden(role)
        if phase != "opened" and endpoint.startswith("procurement.tender"):
            # Before opening not even who bid; afterwards the bidders are published.
            forbidden += [n for owner, ns in names.items() if owner != role for n in ns]
        for secret in forbidden:
            if shows(body, secret):
                failures.append(f"{method} {url} as {role} shows {secret!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("phase", ["open", "closed"])
@pytest.mark.parametrize("role", ["admin", "committee", "provider_b", "sbm"])
def test_pages_are_identical_with_or_without_bids_before_opening(
    app, client, auth, world, role, phase
):
    """Not even a count: every page a non-bidder can open reads the same before and after bids."""
    scenario = build(world, phase, with_bids=False)
    if role == "provider_b":
        user = world.provider_user_b
    else:
        user = user_for(scenario, role)
    auth.as_user(user)
    urls = []
    for endpoint, method, _ in swept_routes(app):
        if method != "GET" or endpoint in (
            "procurement.tender_bid",
            "procurement.tender_document",
            "procurement.tender_bid_score",
            "procurement.tender_assessment",
            "procurement.tender_bid_disqualify",
        ):
            continue
        urls.append(url_for_route(app, endpoint, scenario.ids))
    before = {url: client.get(url) for url in urls}
    before = {url: (r.status_code, r.get_data(as_text=True)) for url, r in before.items()}
    when = scenario.tw.tender.published_at + timedelta(days=1)
    if role == "provider_b":  # its own bid would (rightly) show: add only the other bidder's
        bid = bid_service.submit_bid(
            scenario.tw.tender.id,
            scenario.tw.lot.id,
            world.provider_user_a,
            bid_input(scenario.tw),
            now=when,
        )
        bids = {"bid_id": bid.id}
    else:
        bids = add_bids(scenario.tw, when)
    after = {url: client.get(url) for url in urls}
    after = {url: (r.status_code, r.get_data(as_text=True)) for url, r in after.items()}
    assert bids["bid_id"]
    changed = [url for url in urls if before[url] != after[url]]
    assert not changed, changed


def test_a_sealed_bid_reads_exactly_like_one_that_does_not_exist(app, client, auth, world):
    scenario = build(world, "closed")
    missing = scenario.ids["bid_id"] + 1000
    for user in (world.committee, world.admin, world.provider_user_b):
        auth.logout()
        auth.as_user(user)
        client.get("/home")  # shows (and so clears) any message left from signing out
        tender_id = scenario.ids["tender_id"]
        for path in (
            f"/tenders/{tender_id}/bids/{{}}",
            f"/tenders/{tender_id}/bids/{{}}/assessment",
        ):
            real = client.get(path.format(scenario.ids["bid_id"]))
            fake = client.get(path.format(missing))
            if real.status_code == 403 and fake.status_code == 403:
                continue  # the role may not use the page at all
            assert (real.status_code, real.get_data()) == (fake.status_code, fake.get_data())
        real = client.get(f"/tenders/{tender_id}/documents/{scenario.ids['document_id']}")
        fake = client.get(f"/tenders/{tender_id}/documents/{scenario.ids['document_id'] + 1000}")
        assert (real.status_code, real.get_data()) == (fake.status_code, fake.get_data())
        # Refused changes say nothing more than "not found" either.
        real = client.post(f"/tenders/{tender_id}/bids/{scenario.ids['bid_id']}/withdraw")
        fake = client.post(f"/tenders/{tender_id}/bids/{missing}/withdraw")
        assert (real.status_code, real.get_data()) == (fake.status_code, fake.get_data())


def test_an_evaluator_sees_a_lots_bids_only_after_declaring_no_conflict(client, auth, world):
    scenario = build(world, "opened")
    tender_id, lot_id = scenario.ids["tender_id"], scenario.ids["lot_id"]
    auth.as_user(world.committee)
    page = f"/tenders/{tender_id}/lots/{lot_id}/evaluation"
    refused = client.get(page)
    assert refused.status_code == 403
    assert "Declare your interests" in refused.get_data(as_text=True)
    opening.start_evaluation(tender_id, world.committee)
    response = client.post(
        f"/tenders/{tender_id}/lots/{lot_id}/declaration", data={"has_conflict": "no"}
    )
    assert response.status_code == 302
    body = client.get(page).get_data(as_text=True)
    assert "£234.57" in body and "£246.89" in body and SECRET_ANSWER_A in body
    document = client.get(f"/tenders/{tender_id}/documents/{scenario.ids['document_id']}")
    assert document.status_code == 200 and document.data == PDF


def test_a_conflicted_evaluator_cannot_see_or_score_the_lot(client, auth, world):
    scenario = build(world, "opened")
    tender_id, lot_id = scenario.ids["tender_id"], scenario.ids["lot_id"]
    opening.start_evaluation(tender_id, world.committee)
    evaluation_service.declare_interests(
        tender_id, lot_id, world.committee, True, "My sister works for Alpha Counselling"
    )
    auth.as_user(world.committee)
    for path in (
        f"/tenders/{tender_id}/lots/{lot_id}/evaluation",
        f"/tenders/{tender_id}/bids/{scenario.ids['bid_id']}",
        f"/tenders/{tender_id}/bids/{scenario.ids['bid_id']}/score",
    ):
        response = client.get(path)
        assert response.status_code == 403
        assert "234.57" not in response.get_data(as_text=True)
    response = client.post(
        f"/tenders/{tender_id}/bids/{scenario.ids['bid_id']}/score",
        data={"quality": "90", "social_value": "90"},
    )
    assert response.status_code == 403
    assert evaluation_service.scores_for_lot(scenario.tw.lot) == []


def test_a_committee_member_cannot_bid_and_a_provider_cannot_open(client, auth, world):
    scenario = build(world, "closed")
    tender_id = scenario.ids["tender_id"]
    auth.as_user(world.provider_user_a)
    assert client.post(f"/tenders/{tender_id}/opening").status_code == 403
    auth.logout()
    auth.as_user(world.committee)
    assert client.get(f"/tenders/{tender_id}/lots/{scenario.ids['lot_id']}/bid").status_code == 403
    assert bid_service.own_bids(scenario.tw.tender, world.provider_a.id)


def test_a_draft_does_not_exist_for_providers(client, auth, world):
    tw = make_tender(world, publish=False, now=utcnow())
    auth.as_user(world.provider_user_a)
    assert client.get(f"/tenders/{tw.tender.id}").status_code == 404
    assert client.get(f"/tenders/{tw.tender.id}/ocds.json").status_code == 404
    assert tw.tender.title not in client.get("/tenders").get_data(as_text=True)
