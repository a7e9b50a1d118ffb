"""Bad input gets a clear error and changes nothing (issue 5, item 11)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent
from procurement.contracts.models import Contract
from procurement.tenders import award, drafting, opening, publication
from procurement.tenders import bids as bid_service
from procurement.tenders import documents as document_service
from procurement.tenders import evaluation as evaluation_service
from procurement.tenders.errors import (
    BiddingClosed,
    BidNotFound,
    InvalidBid,
    InvalidDocument,
    OpeningRefused,
    StandstillNotOver,
    TenderError,
    TenderStateConflict,
)
from procurement.tenders.models import (
    Criterion,
    Tender,
    TenderBid,
    TenderBidTier,
    TenderDocument,
    TenderLot,
    TenderNotification,
    TenderOpeningConfirmation,
    TenderRelease,
    TenderScore,
)
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    BEFORE_DEADLINE,
    T0,
    bid_input,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
    tender_input,
)

TABLES = (
    Tender,
    TenderLot,
    TenderBid,
    TenderBidTier,
    TenderDocument,
    TenderNotification,
    TenderOpeningConfirmation,
    TenderRelease,
    TenderScore,
    Contract,
    AuditEvent,
)


def snapshot() -> dict[str, Any]:
    """Everything a refused use case could have touched."""
    db.session.expire_all()
    state: dict[str, Any] = {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in TABLES
    }
    state["tenders"] = [
        (t.status, t.deadline_at, t.opened_at, t.cancelled_at)
        for t in db.session.scalars(sa.select(Tender).order_by(Tender.id))
    ]
    state["bids"] = [
        (b.status, b.capacity, b.submitted_at, b.needs_reconfirmation)
        for b in db.session.scalars(sa.select(TenderBid).order_by(TenderBid.id))
    ]
    state["tiers"] = sorted(
        db.session.execute(
            sa.select(
                TenderBidTier.bid_id, TenderBidTier.min_quantity, TenderBidTier.unit_price_pence
            )
        ).all()
    )
    return state


def refused(action: Callable[[], Any], error: type[DomainError], match: str) -> DomainError:
    before = snapshot()
    with pytest.raises(error, match=match) as caught:
        action()
    assert snapshot() == before, "a refused use case changed something"
    return caught.value


# --- Bids ----------------------------------------------------------------------------------------


def test_a_bid_after_the_deadline_is_refused(world):
    tw = make_tender(world)
    refused(
        lambda: bid_service.submit_bid(
            tw.tender.id, tw.lot.id, world.provider_user_a, bid_input(tw), now=AFTER_DEADLINE
        ),
        BiddingClosed,
        "deadline for bids passed at 16 March 2026 at 12:00",
    )


def test_a_bid_at_the_very_instant_of_the_deadline_is_refused(world):
    tw = make_tender(world)
    refused(
        lambda: bid_service.submit_bid(
            tw.tender.id,
            tw.lot.id,
            world.provider_user_a,
            bid_input(tw),
            now=tw.tender.deadline_at,
        ),
        BiddingClosed,
        "deadline",
    )


def test_changing_or_withdrawing_a_bid_after_the_deadline_is_refused(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    refused(
        lambda: bid_service.submit_bid(
            tw.tender.id,
            tw.lot.id,
            world.provider_user_a,
            bid_input(tw, capacity=999),
            now=AFTER_DEADLINE,
        ),
        BiddingClosed,
        "can no longer be sent, changed or withdrawn",
    )
    refused(
        lambda: bid_service.withdraw_bid(
            tw.tender.id, bid_a.id, world.provider_user_a, now=AFTER_DEADLINE
        ),
        BiddingClosed,
        "deadline",
    )


def test_a_bid_on_a_cancelled_tender_is_refused(world):
    tw = make_tender(world)
    publication.cancel_tender(tw.tender.id, world.committee, "No budget", now=BEFORE_DEADLINE)
    refused(
        lambda: bid_service.submit_bid(
            tw.tender.id, tw.lot.id, world.provider_user_a, bid_input(tw), now=BEFORE_DEADLINE
        ),
        BiddingClosed,
        "cancelled",
    )


@pytest.mark.parametrize("action", ["withdraw", "reconfirm", "document"])
def test_a_provider_cannot_touch_another_providers_bid(world, action):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    intruder = world.provider_user_b
    run = {
        "withdraw": lambda: bid_service.withdraw_bid(
            tw.tender.id, bid_a.id, intruder, now=BEFORE_DEADLINE
        ),
        "reconfirm": lambda: bid_service.reconfirm_bid(
            tw.tender.id, bid_a.id, intruder, now=BEFORE_DEADLINE
        ),
        "document": lambda: document_service.attach_to_bid(
            tw.tender.id, bid_a.id, intruder, "x.txt", b"hello", now=BEFORE_DEADLINE
        ),
    }[action]
    error = refused(run, BidNotFound, "Page not found")
    assert error.http_status == 404


def test_a_provider_editing_another_providers_bid_over_http_gets_not_found(client, auth, world):
    tw = make_tender(
        world,
        now=datetime.now(UTC) - timedelta(days=1),
        deadline_at=datetime.now(UTC) + timedelta(days=10),
    )
    bid_a = bid_service.submit_bid(tw.tender.id, tw.lot.id, world.provider_user_a, bid_input(tw))
    auth.as_user(world.provider_user_b)
    before = snapshot()
    for path in ("withdraw", "reconfirm", "documents"):
        assert client.post(f"/tenders/{tw.tender.id}/bids/{bid_a.id}/{path}").status_code == 404
    assert client.get(f"/tenders/{tw.tender.id}/bids/{bid_a.id}").status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"capacity": 399}, "capacity", "whole expected volume of 400"),
        ({"capacity": 0}, "capacity", "Capacity must be between"),
        ({"tiers": ()}, "tiers", "at least one price"),
        ({"tiers": ((5, 20_000),)}, "tiers", "first price must apply from 0 or 1"),
        ({"tiers": ((0, 20_000), (0, 19_000))}, "tiers", "different"),
        ({"tiers": ((0, 0),)}, "tiers", "between £0.01"),
        ({"answers": {}}, None, "Answer question 1"),
    ],
)
def test_a_bid_that_cannot_be_evaluated_is_refused(world, change, field, message):
    tw = make_tender(world)
    data = bid_input(tw)
    data = bid_service.BidInput(
        capacity=change.get("capacity", data.capacity),
        tiers=change.get("tiers", data.tiers),
        answers=change.get("answers", data.answers),
    )
    error = refused(
        lambda: bid_service.submit_bid(
            tw.tender.id, tw.lot.id, world.provider_user_a, data, now=BEFORE_DEADLINE
        ),
        InvalidBid,
        message,
    )
    if field:
        assert error.field == field


# --- Opening, award, contract -----------------------------------------------------------------


def test_a_second_opening_confirmation_by_the_same_member_is_refused(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    opening.confirm_opening(tw.tender.id, world.committee, now=AFTER_DEADLINE)
    refused(
        lambda: opening.confirm_opening(
            tw.tender.id, world.committee, now=AFTER_DEADLINE + timedelta(hours=1)
        ),
        OpeningRefused,
        "already confirmed",
    )


def test_opening_before_the_deadline_is_refused(world):
    tw = make_tender(world)
    refused(
        lambda: opening.confirm_opening(tw.tender.id, world.committee, now=BEFORE_DEADLINE),
        OpeningRefused,
        "only after the deadline",
    )


def _awarded_at(world, decided_at: datetime):
    deadline = decided_at - timedelta(days=3)
    published = deadline - timedelta(days=14)
    tw = make_tender(world, now=published, deadline_at=deadline)
    bid_a, bid_b = submit_both_bids(tw, now=published + timedelta(days=1))
    open_bids(tw, now=deadline + timedelta(hours=1))
    evaluate(tw, {bid_a.id: (60, 60), bid_b.id: (60, 60)}, now=deadline + timedelta(days=1))
    award.decide_award(tw.tender.id, world.committee, now=decided_at)
    return tw


@pytest.mark.parametrize(
    ("decided_at", "holiday", "last_day", "first_day"),
    [
        # Christmas: 25 and 28 December 2026 and 1 January 2027 are bank holidays.
        (
            datetime(2026, 12, 18, 15, 0, tzinfo=UTC),
            date(2027, 1, 1),
            date(2027, 1, 4),
            date(2027, 1, 5),
        ),
        # Easter 2026: Good Friday 3 April, Easter Monday 6 April.
        (
            datetime(2026, 4, 1, 10, 0, tzinfo=UTC),
            date(2026, 4, 6),
            date(2026, 4, 15),
            date(2026, 4, 16),
        ),
    ],
)
def test_a_contract_one_working_day_early_is_refused_across_bank_holidays(
    world, decided_at, holiday, last_day, first_day
):
    tw = _awarded_at(world, decided_at)
    assert tw.tender.standstill_ends_on == last_day
    # 09:00 London on the last working day of the standstill: one working day early.
    last_morning = datetime(last_day.year, last_day.month, last_day.day, 9, 0, tzinfo=UTC)
    refused(
        lambda: award.enter_into_contracts(tw.tender.id, world.committee, now=last_morning),
        StandstillNotOver,
        f"standstill runs until the end of {last_day:%A %-d %B %Y}",
    )
    # A bank holiday inside the standstill counts for nothing.
    holiday_noon = datetime(holiday.year, holiday.month, holiday.day, 11, 0, tzinfo=UTC)
    refused(
        lambda: award.enter_into_contracts(tw.tender.id, world.committee, now=holiday_noon),
        StandstillNotOver,
        "no contract can be entered into before it ends",
    )
    first_morning = datetime(first_day.year, first_day.month, first_day.day, 9, 0, tzinfo=UTC)
    contracts = award.enter_into_contracts(tw.tender.id, world.committee, now=first_morning)
    assert len(contracts) == 1


# --- Documents -----------------------------------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("plan.pdf", b"%PDF-1.4\n" + b"x" * (5 * 1024 * 1024), "the limit is 5 MB"),
        ("virus.exe", b"MZ\x90\x00", "not a file type we accept"),
        ("plan.pdf", b"MZ pretending to be a PDF", "not really a .pdf file"),
        ("plan.docx", b"%PDF-1.4 not a docx", "not really a .docx file"),
        ("sheet.xlsx", _docx(), "not really a .xlsx file"),
        ("notes.txt", b"\xff\xfe\x00b\x00a\x00d", "not really a .txt file"),
        ("empty.pdf", b"", "is empty"),
        ("", b"%PDF-1.4", "Choose a file"),
    ],
)
def test_an_oversized_or_wrong_type_document_is_refused(world, filename, content, message):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    refused(
        lambda: document_service.attach_to_bid(
            tw.tender.id, bid_a.id, world.provider_user_a, filename, content, now=BEFORE_DEADLINE
        ),
        InvalidDocument,
        message,
    )


def test_an_allowed_document_is_stored_with_its_sha256(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    content = _docx()
    document = document_service.attach_to_bid(
        tw.tender.id,
        bid_a.id,
        world.provider_user_a,
        "Method statement.docx",
        content,
        now=BEFORE_DEADLINE,
    )
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size_bytes == len(content)
    assert document.content_type.endswith("wordprocessingml.document")
    assert bid_a.submitted_at == BEFORE_DEADLINE  # the bid changed: its receipt time moves


def test_a_document_for_a_bid_after_the_deadline_is_refused(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    refused(
        lambda: document_service.attach_to_bid(
            tw.tender.id,
            bid_a.id,
            world.provider_user_a,
            "late.pdf",
            b"%PDF-1.4",
            now=AFTER_DEADLINE,
        ),
        BiddingClosed,
        "deadline",
    )


# --- The tender itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"price_weight": 70}, "price_weight", "add up to 100 \\(they add up to 110\\)"),
        ({"title": "   "}, "title", "Enter a title"),
        ({"min_valid_bids": 0}, "min_valid_bids", "between 1 and 20"),
        ({"contract_ends_on": date(2026, 1, 1)}, "contract_ends_on", "end on or after"),
        ({"contract_starts_on": date(2026, 3, 1)}, "contract_starts_on", "before the deadline"),
        ({"school_ids": ()}, "school_ids", "at least one school"),
    ],
)
def test_a_tender_with_bad_details_is_refused(world, change, field, message):
    change = dict(change)  # the parameter is shared by both backends' runs
    data = tender_input(list(change.pop("school_ids", [world.school_a.id])), **change)
    before = snapshot()
    with pytest.raises(TenderError, match=message) as caught:
        drafting.create_tender(world.committee, data)
    assert caught.value.field == field
    assert snapshot() == before


def test_an_open_tenders_deadline_cannot_be_brought_forward(world):
    tw = make_tender(world)
    data = tender_input(
        [world.school_a.id, world.school_b.id],
        deadline_at=tw.tender.deadline_at - timedelta(days=1),
    )
    refused(
        lambda: drafting.update_tender(
            tw.tender.id,
            world.committee,
            data,
            now=BEFORE_DEADLINE - timedelta(days=8),
            reason="Faster",
        ),
        TenderError,
        "later, not earlier",
    )


def test_a_change_without_a_reason_is_refused_once_open(world):
    tw = make_tender(world)
    data = tender_input([world.school_a.id, world.school_b.id], title="New title")
    refused(
        lambda: drafting.update_tender(
            tw.tender.id, world.committee, data, now=BEFORE_DEADLINE - timedelta(days=8)
        ),
        TenderError,
        "Say why the tender is changing",
    )


def test_a_change_after_the_deadline_is_refused(world):
    tw = make_tender(world)
    data = tender_input([world.school_a.id, world.school_b.id], title="Too late")
    refused(
        lambda: drafting.update_tender(
            tw.tender.id, world.committee, data, now=AFTER_DEADLINE, reason="x"
        ),
        TenderStateConflict,
        "deadline for bids has passed",
    )


def test_scores_out_of_range_are_refused(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    open_bids(tw)
    opening.start_evaluation(tw.tender.id, world.committee, now=AFTER_DEADLINE + timedelta(days=1))
    evaluation_service.declare_interests(tw.tender.id, tw.lot.id, world.committee, False, "")
    refused(
        lambda: evaluation_service.score_bid(
            tw.tender.id,
            bid_a.id,
            world.committee,
            {Criterion.QUALITY: 101, Criterion.SOCIAL_VALUE: 50},
            {},
        ),
        TenderError,
        "from 0 to 100",
    )


def test_bad_tender_form_input_is_shown_on_the_form_and_saves_nothing(client, auth, world):
    auth.as_user(world.committee)
    before = snapshot()
    response = client.post(
        "/tenders/new",
        data={
            "title": "Speech therapy",
            "deadline_on": "2026-02-30",
            "deadline_time": "25:00",
            "contract_starts_on": "2026-09-01",
            "contract_ends_on": "2027-08-31",
            "min_valid_bids": "two",
            "price_weight": "60",
            "quality_weight": "30",
            "social_value_weight": "10",
            "school_ids": [str(world.school_a.id)],
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "enter a real date" in body
    assert "enter a 24-hour time like 12:00" in body
    assert "must be a whole number" in body
    assert snapshot() == before


@pytest.mark.parametrize(
    ("uploaded", "stored"),
    [
        ("invoice\u202etxt.pdf", "invoicetxt.pdf"),  # shows as "invoicefdp.txt"
        ("\u2066plan\u2069\u200e\u200f.pdf", "plan.pdf"),
        ("minutes\x85\u200b.pdf", "minutes.pdf"),
        ("\u202e.pdf", "document.pdf"),
        (".pdf", "document.pdf"),
        ("C:\\Users\\me\\Plan <v2>.pdf", "Plan v2.pdf"),
    ],
)
def test_control_and_bidi_characters_are_stripped_from_stored_names(uploaded, stored):
    assert document_service.clean_filename(uploaded) == stored


def test_a_name_with_nothing_left_is_refused_with_a_reason(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    refused(
        lambda: document_service.attach_to_bid(
            tw.tender.id,
            bid_a.id,
            world.provider_user_a,
            "\u202e\x00",
            b"%PDF-1.4",
            now=BEFORE_DEADLINE,
        ),
        InvalidDocument,
        "rename it",
    )


def test_an_rtl_override_never_reaches_a_stored_name_or_a_download(client, auth, world):
    tw = make_tender(world, publish=False)
    tender_doc = document_service.attach_to_tender(
        tw.tender.id, world.committee, "invoice\u202etxt.pdf", b"%PDF-1.4 spec", now=T0
    )
    publication.publish_tender(tw.tender.id, world.committee, now=T0)
    bid_a, _ = submit_both_bids(tw)
    bid_doc = document_service.attach_to_bid(
        tw.tender.id,
        bid_a.id,
        world.provider_user_a,
        "price\u202exslx.pdf",
        b"%PDF-1.4",
        now=BEFORE_DEADLINE,
    )
    assert (tender_doc.filename, bid_doc.filename) == ("invoicetxt.pdf", "pricexslx.pdf")
    trail = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "tender_document")
    )
    assert all("\u202e" not in str(event.after) for event in trail)
    auth.as_user(world.provider_user_a)
    download = client.get(f"/tenders/{tw.tender.id}/documents/{tender_doc.id}")
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    assert "invoicetxt.pdf" in disposition
    assert "\u202e" not in disposition and "%E2%80%AE" not in disposition.upper()
