"""A tender that was never published stays the committee's, whatever happens to it next.

Cancelling a draft marks it cancelled; that must not make it public (the status is no longer
"draft", but visibility follows whether it was ever published).
"""

from __future__ import annotations

import pytest

from procurement.tenders import documents as document_service
from tests.procurement.tenders.factories import T0, make_tender

SECRET_DOCUMENT = b"Committee-only: our budget ceiling is 41,237 pounds."
TITLE = "School counselling 2026"  # make_tender's title, "School counselling 2026–28"


@pytest.fixture
def cancelled_draft(client, auth, world):
    """A draft with a committee-only document, cancelled over HTTP by the committee."""
    tw = make_tender(world, publish=False)
    document = document_service.attach_to_tender(
        tw.tender.id, world.committee, "budget.txt", SECRET_DOCUMENT, now=T0
    )
    auth.as_user(world.committee)
    response = client.post(f"/tenders/{tw.tender.id}/cancel", data={"reason": "Not needed"})
    assert response.status_code == 302
    auth.logout()
    return tw.tender.id, document.id


def test_a_provider_cannot_find_a_cancelled_draft_anywhere(client, auth, world, cancelled_draft):
    tender_id, document_id = cancelled_draft
    auth.as_user(world.provider_user_a)
    assert client.get(f"/tenders/{tender_id}").status_code == 404
    assert client.get(f"/tenders/{tender_id}/documents/{document_id}").status_code == 404
    assert client.get(f"/tenders/{tender_id}/ocds.json").status_code == 404
    listed = client.get("/tenders").get_data(as_text=True)
    notices = client.get("/tenders/notices").get_data(as_text=True)
    for page in (listed, notices):
        assert TITLE not in page
        assert f"/tenders/{tender_id}" not in page
    asked = client.post(f"/tenders/{tender_id}/clarifications", data={"question": "Budget?"})
    assert asked.status_code == 404


def test_a_school_cannot_see_a_cancelled_draft(client, auth, world, cancelled_draft):
    tender_id, document_id = cancelled_draft
    auth.as_user(world.sbm_a)
    notices = client.get("/tenders/notices").get_data(as_text=True)
    assert TITLE not in notices and f"/tenders/{tender_id}" not in notices
    # Schools never read tender pages: the same refusal as for a tender that does not exist.
    missing = client.get("/tenders/999999").status_code
    assert missing in (403, 404)
    assert client.get(f"/tenders/{tender_id}").status_code == missing
    download = client.get(f"/tenders/{tender_id}/documents/{document_id}")
    assert download.status_code == missing
    assert SECRET_DOCUMENT not in download.data


def test_the_committee_and_admin_still_see_the_cancelled_draft(
    client, auth, world, cancelled_draft
):
    tender_id, document_id = cancelled_draft
    for user in (world.committee, world.admin):
        auth.as_user(user)
        assert client.get(f"/tenders/{tender_id}").status_code == 200
        assert TITLE in client.get("/tenders").get_data(as_text=True)
        download = client.get(f"/tenders/{tender_id}/documents/{document_id}")
        assert download.status_code == 200 and download.data == SECRET_DOCUMENT
        auth.logout()


def test_a_cancelled_published_tender_stays_public(client, auth, world):
    tw = make_tender(world)
    auth.as_user(world.committee)
    client.post(f"/tenders/{tw.tender.id}/cancel", data={"reason": "Budget cut"})
    auth.logout()
    auth.as_user(world.provider_user_a)
    assert client.get(f"/tenders/{tw.tender.id}").status_code == 200
    assert TITLE in client.get("/tenders/notices").get_data(as_text=True)
