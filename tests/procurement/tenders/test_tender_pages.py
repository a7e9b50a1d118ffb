"""The tender pages: forms in, clear errors out, one clock per request."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import add_working_days
from app.extensions import db
from app.time import london_date, london_instant, to_london
from procurement.tenders import opening
from procurement.tenders.models import (
    BidStatus,
    Criterion,
    Tender,
    TenderBid,
    TenderDocument,
    TenderStatus,
)
from tests.procurement.tenders.factories import make_tender, submit_both_bids


def _real_now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _open_tender(world):
    now = _real_now()
    return make_tender(world, now=now - timedelta(days=1), deadline_at=now + timedelta(days=10))


def _closed_tender(world, with_bids=True):
    now = _real_now()
    tw = make_tender(world, now=now - timedelta(days=20), deadline_at=now - timedelta(days=1))
    bids = submit_both_bids(tw, now=now - timedelta(days=10)) if with_bids else None
    return tw, bids


def test_the_committee_drafts_and_publishes_a_tender_through_the_forms(client, auth, world):
    auth.as_user(world.committee)
    today = to_london(_real_now()).date()
    deadline_day = add_working_days(today, 10)
    response = client.post(
        "/tenders/new",
        data={
            "title": "Speech and language therapy 2027",
            "description": "Therapist days for member schools.",
            "deadline_on": deadline_day.isoformat(),
            "deadline_time": "12:00",
            "contract_starts_on": (deadline_day + timedelta(days=30)).isoformat(),
            "contract_ends_on": (deadline_day + timedelta(days=395)).isoformat(),
            "min_valid_bids": "1",
            "price_weight": "50",
            "quality_weight": "40",
            "social_value_weight": "10",
            "school_ids": [str(world.school_a.id), str(world.school_b.id)],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    tender = db.session.scalar(sa.select(Tender).where(Tender.title.startswith("Speech")))
    assert tender.status is TenderStatus.DRAFT
    assert tender.deadline_at == london_instant(deadline_day, time(12, 0))  # typed in UK time

    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert "Add at least one lot." in page

    assert (
        client.post(
            f"/tenders/{tender.id}/lots/new",
            data={
                "title": "Therapist days",
                "service_id": str(world.service.id),
                "expected_volume": "250",
                "max_suppliers": "1",
            },
        ).status_code
        == 302
    )
    for criterion, text in (
        ("quality", "How do you train staff?"),
        ("social_value", "Local jobs?"),
    ):
        response = client.post(
            f"/tenders/{tender.id}/questions/new", data={"criterion": criterion, "text": text}
        )
        assert response.status_code == 302
    response = client.post(
        f"/tenders/{tender.id}/documents",
        data={"file": (io.BytesIO(b"%PDF-1.4 spec"), "specification.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    (document,) = db.session.scalars(sa.select(TenderDocument))
    assert document.filename == "specification.pdf" and len(document.sha256) == 64

    response = client.post(f"/tenders/{tender.id}/publish")
    assert response.status_code == 302
    db.session.refresh(tender)
    assert tender.status is TenderStatus.OPEN
    assert [q.criterion for q in tender.questions] == [Criterion.QUALITY, Criterion.SOCIAL_VALUE]
    download = client.get(f"/tenders/{tender.id}/documents/{document.id}")
    assert download.data == b"%PDF-1.4 spec"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_publishing_a_draft_with_problems_says_what_is_missing(client, auth, world):
    tw = make_tender(world, publish=False, now=_real_now())  # deadline in March 2026: past
    auth.as_user(world.committee)
    response = client.post(f"/tenders/{tw.tender.id}/publish")
    assert response.status_code == 400
    assert "Give bidders at least 3 working days" in response.get_data(as_text=True)
    assert tw.tender.status is TenderStatus.DRAFT


def test_a_provider_bids_in_pounds_and_sees_its_receipt_time(client, auth, world):
    tw = _open_tender(world)
    auth.as_user(world.provider_user_a)
    form = client.get(f"/tenders/{tw.tender.id}/lots/{tw.lot.id}/bid")
    assert form.status_code == 200
    data = {
        "tiers-0-min_quantity": "0",
        "tiers-0-unit_price": "234.57",
        "tiers-1-min_quantity": "300",
        "tiers-1-unit_price": "219.83",
        "capacity": "500",
    }
    for index, question_id in enumerate(tw.questions.values()):
        data[f"answers-{index}-question_id"] = str(question_id)
        data[f"answers-{index}-text"] = f"Answer {index}"
    response = client.post(f"/tenders/{tw.tender.id}/lots/{tw.lot.id}/bid", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    bid = db.session.scalar(sa.select(TenderBid))
    assert [(t.min_quantity, t.unit_price_pence) for t in bid.tiers] == [(0, 23_457), (300, 21_983)]
    page = client.get(response.location)
    body = page.get_data(as_text=True)
    assert "£234.57" in body and "Received by the server" in body

    response = client.post(
        f"/tenders/{tw.tender.id}/bids/{bid.id}/documents",
        data={"file": (io.BytesIO(b"Our method."), "method.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    response = client.post(
        f"/tenders/{tw.tender.id}/bids/{bid.id}/documents",
        data={"file": (io.BytesIO(b"MZ..."), "method.exe")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "not a file type we accept" in response.get_data(as_text=True)

    assert client.post(f"/tenders/{tw.tender.id}/bids/{bid.id}/withdraw").status_code == 302
    db.session.refresh(bid)
    assert bid.status is BidStatus.WITHDRAWN


def test_bid_form_errors_are_shown_and_nothing_is_saved(client, auth, world):
    tw = _open_tender(world)
    auth.as_user(world.provider_user_a)
    base = {f"answers-{i}-question_id": str(q) for i, q in enumerate(tw.questions.values())}
    base.update({f"answers-{i}-text": "Yes" for i in range(len(tw.questions))})
    half = {**base, "tiers-0-min_quantity": "0", "capacity": "500"}
    response = client.post(f"/tenders/{tw.tender.id}/lots/{tw.lot.id}/bid", data=half)
    assert response.status_code == 400
    assert "give both the “from” quantity and the price" in response.get_data(as_text=True)
    short = {**base, "tiers-0-min_quantity": "0", "tiers-0-unit_price": "200", "capacity": "10"}
    response = client.post(f"/tenders/{tw.tender.id}/lots/{tw.lot.id}/bid", data=short)
    assert response.status_code == 400
    assert "expected volume of 400" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderBid)) == 0


def test_a_late_bid_over_http_is_refused_with_the_deadline(client, auth, world):
    tw, _ = _closed_tender(world, with_bids=False)
    auth.as_user(world.provider_user_a)
    data = {"tiers-0-min_quantity": "0", "tiers-0-unit_price": "200", "capacity": "500"}
    for index, question_id in enumerate(tw.questions.values()):
        data[f"answers-{index}-question_id"] = str(question_id)
        data[f"answers-{index}-text"] = "Yes"
    response = client.post(f"/tenders/{tw.tender.id}/lots/{tw.lot.id}/bid", data=data)
    assert response.status_code == 409
    assert "The deadline for bids passed at" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderBid)) == 0


def test_changing_an_open_tender_needs_a_reason(client, auth, world):
    tw = _open_tender(world)
    submit_both_bids(tw, now=_real_now() - timedelta(hours=12))
    auth.as_user(world.committee)
    form = {
        "title": "Counselling and wellbeing",
        "description": "",
        "deadline_on": london_date(tw.tender.deadline_at).isoformat(),
        "deadline_time": to_london(tw.tender.deadline_at).strftime("%H:%M"),
        "contract_starts_on": tw.tender.contract_starts_on.isoformat(),
        "contract_ends_on": tw.tender.contract_ends_on.isoformat(),
        "min_valid_bids": "1",
        "price_weight": "60",
        "quality_weight": "30",
        "social_value_weight": "10",
        "school_ids": [str(world.school_a.id), str(world.school_b.id)],
    }
    response = client.post(f"/tenders/{tw.tender.id}/edit", data=form)
    assert response.status_code == 400
    assert "Say why the tender is changing" in response.get_data(as_text=True)
    response = client.post(
        f"/tenders/{tw.tender.id}/edit", data={**form, "reason": "Wellbeing is in scope"}
    )
    assert response.status_code == 302
    flashed = client.get(response.location).get_data(as_text=True)
    assert "Bidders have been told and must re-confirm their bids" in flashed
    assert all(b.needs_reconfirmation for b in db.session.scalars(sa.select(TenderBid)))


def test_two_committee_members_open_the_bids_over_http(client, auth, world):
    tw, _ = _closed_tender(world)
    auth.as_user(world.committee)
    page = client.get(f"/tenders/{tw.tender.id}").get_data(as_text=True)
    assert "Closed – waiting to be opened" in page
    response = client.post(f"/tenders/{tw.tender.id}/opening")
    assert response.status_code == 302
    assert "A second committee member must confirm too" in client.get(response.location).get_data(
        as_text=True
    )
    again = client.post(f"/tenders/{tw.tender.id}/opening")
    assert again.status_code == 409
    assert "a second, different committee member" in again.get_data(as_text=True)
    auth.logout()
    auth.as_user(tw.committee2)
    response = client.post(f"/tenders/{tw.tender.id}/opening")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Bids opened: both confirmations are recorded." in page
    assert world.provider_a.name in page and world.provider_b.name in page
    assert "234.57" not in page  # names, not prices


def test_evaluation_award_and_a_refused_early_contract_through_the_pages(client, auth, world):
    tw, (bid_a, bid_b) = _closed_tender(world)
    opening.confirm_opening(tw.tender.id, world.committee)
    opening.confirm_opening(tw.tender.id, tw.committee2)
    auth.as_user(world.committee)
    base = f"/tenders/{tw.tender.id}"
    assert client.post(f"{base}/evaluation").status_code == 302
    assert client.get(f"{base}/lots/{tw.lot.id}/evaluation").status_code == 403
    declared = client.post(f"{base}/lots/{tw.lot.id}/declaration", data={"has_conflict": "no"})
    assert declared.status_code == 302
    evaluation = client.get(f"{base}/lots/{tw.lot.id}/evaluation").get_data(as_text=True)
    assert "£87,932.00" in evaluation  # A's evaluated price: 400 × £219.83
    bad = client.post(f"{base}/bids/{bid_a.id}/score", data={"quality": "120", "social_value": "5"})
    assert bad.status_code == 400 and "from 0 to 100" in bad.get_data(as_text=True)
    for bid, quality in ((bid_a, "70"), (bid_b, "80")):
        response = client.post(
            f"{base}/bids/{bid.id}/score", data={"quality": quality, "social_value": "60"}
        )
        assert response.status_code == 302
    moderation = client.get(f"{base}/lots/{tw.lot.id}/moderation").get_data(as_text=True)
    assert 'value="70"' in moderation and 'value="80"' in moderation  # the evaluators' means
    response = client.post(
        f"{base}/lots/{tw.lot.id}/moderation",
        data={
            "rows-0-bid_id": str(bid_a.id),
            "rows-0-quality": "70",
            "rows-0-social_value": "60",
            "rows-1-bid_id": str(bid_b.id),
            "rows-1-quality": "80",
            "rows-1-social_value": "60",
        },
    )
    assert response.status_code == 302
    assert "Ranking from the moderated scores" in client.get(response.location).get_data(
        as_text=True
    )
    response = client.post(f"{base}/award")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The standstill runs until the end of" in page
    early = client.post(f"{base}/contracts")
    assert early.status_code == 409
    assert "no contract can be entered into before it ends" in early.get_data(as_text=True)
    db.session.refresh(tw.tender)
    assert tw.tender.status is TenderStatus.STANDSTILL


def test_cancelling_over_http_discards_unopened_bids(client, auth, world):
    tw, _ = _closed_tender(world)
    auth.as_user(world.committee)
    response = client.post(f"/tenders/{tw.tender.id}/cancel", data={"reason": "Budget cut"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "every bid was discarded unopened" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderBid)) == 0


def test_the_tenders_list_shows_the_stage_at_this_moment(client, auth, world):
    closed, _ = _closed_tender(world, with_bids=False)
    auth.as_user(world.admin)
    body = client.get("/tenders").get_data(as_text=True)
    assert closed.tender.title in body and "Closed – waiting to be opened" in body
    assert "Start a new tender" not in body  # the admin reads, the committee runs tenders
