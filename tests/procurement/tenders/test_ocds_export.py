"""OCDS export: every package validates offline against release-package 1.1.5 with the bid and
UK extensions merged in (JSON Merge Patch), closed codelists checked, no field outside the
schema; one ocid per tender, a release per published change, bids only after opening."""

from __future__ import annotations

import copy
import csv
import json
import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from app.config import Config
from procurement.tenders import award as award_service
from procurement.tenders import drafting, ocds, opening, publication
from procurement.tenders.errors import TenderError
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    BEFORE_DEADLINE,
    T0,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)

OCDS = Path(Config.DEMO_DATA_DIR) / "ocds"
STANDARD = OCDS / "standard-1.1.5"
RELEASE_URI = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def release_schema() -> dict[str, Any]:
    schema = json.loads((STANDARD / "release-schema.json").read_text())
    for extension in ("bid", "uk"):
        patch = json.loads((OCDS / "extensions" / extension / "release-schema.json").read_text())
        schema = merge_patch(schema, patch)
    return schema


@cache
def codelists() -> dict[str, frozenset[str]]:
    lists = {}
    for folder in (STANDARD / "codelists", OCDS / "extensions" / "bid" / "codelists"):
        for path in folder.glob("*.csv"):
            with path.open(encoding="utf-8") as fh:
                lists[path.name] = frozenset(row["Code"] for row in csv.DictReader(fh))
    return lists


def _codelist(validator: Any, codelist: str, instance: Any, schema: dict[str, Any]) -> Any:
    """Closed codelists: every value must be a code of the CSV."""
    if schema.get("openCodelist", True) or instance is None:
        return
    codes = codelists().get(codelist)
    if codes is None:
        yield ValidationError(f"closed codelist {codelist} is not available offline")
        return
    for value in instance if isinstance(instance, list) else [instance]:
        if value not in codes:
            yield ValidationError(f"{value!r} is not in the closed codelist {codelist}")


formats = FormatChecker(formats=())


@formats.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@formats.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlparse(value).scheme)


OcdsValidator = validators.extend(Draft4Validator, {"codelist": _codelist})


def _strict(schema: Any) -> Any:
    """The same schema, refusing any field it does not define."""
    if isinstance(schema, dict):
        result = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def validator(strict: bool = False) -> Any:
    # Without "$schema", jsonschema keeps this validator class (and its codelist check) when it
    # follows the package's $ref into the release schema, instead of a plain Draft 4 one.
    release = {k: v for k, v in release_schema().items() if k != "$schema"}
    package = json.loads((STANDARD / "release-package-schema.json").read_text())
    package.pop("$schema")
    if strict:
        release, package = _strict(release), _strict(package)
    registry = Registry().with_resource(
        RELEASE_URI, Resource.from_contents(release, default_specification=DRAFT4)
    )
    return OcdsValidator(package, registry=registry, format_checker=formats)


def assert_valid(package: dict[str, Any]) -> None:
    for strict in (False, True):
        errors = sorted(validator(strict).iter_errors(package), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


def export(tender_id: int | None = None) -> dict[str, Any]:
    return ocds.release_package(tender_id, uri="https://pooled.example/ocds.json")


# --- The validator itself can fail -------------------------------------------------------------


def test_the_validator_catches_a_value_outside_a_closed_codelist(world):
    tw = make_tender(world)
    package = export(tw.tender.id)
    assert_valid(package)
    package["releases"][0]["tender"]["status"] = "pending"  # not in tenderStatus.csv
    messages = [e.message for e in validator().iter_errors(package)]
    assert "'pending' is not in the closed codelist tenderStatus.csv" in messages
    package["releases"][0]["tender"]["status"] = "active"
    package["releases"][0]["tag"] = ["tender", "notice"]
    messages = [e.message for e in validator().iter_errors(package)]
    assert "'notice' is not in the closed codelist releaseTag.csv" in messages


def test_the_validator_catches_a_field_the_schema_does_not_define(world):
    tw = make_tender(world)
    package = export(tw.tender.id)
    package["releases"][0]["tender"]["sealedBidCount"] = 2
    assert list(validator(strict=True).iter_errors(package))
    assert not list(validator().iter_errors(package))  # OCDS itself allows extra fields


@pytest.mark.parametrize("bad", ["2026-03-02", "2026-03-02 10:00:00", "yesterday"])
def test_the_validator_checks_date_times(world, bad):
    tw = make_tender(world)
    package = export(tw.tender.id)
    package["releases"][0]["date"] = bad
    assert list(validator().iter_errors(package))


# --- Releases through a tender's life -----------------------------------------------------------


def test_a_full_tender_publishes_a_release_per_change_and_every_package_validates(world):
    tw = make_tender(world)
    assert_valid(export(tw.tender.id))
    drafting.update_tender(
        tw.tender.id,
        tw.committee,
        drafting.TenderInput(
            **{
                **_tender_values(tw),
                "description": "Counselling days, with clinical supervision included.",
            }
        ),
        now=T0 + timedelta(days=2),
        reason="Supervision was missing from the description",
    )
    bid_a, bid_b = submit_both_bids(tw, now=T0 + timedelta(days=3))
    assert_valid(export(tw.tender.id))
    open_bids(tw)
    assert_valid(export(tw.tender.id))
    evaluate(tw, {bid_a.id: (70, 60), bid_b.id: (80, 90)})
    award_service.decide_award(tw.tender.id, tw.committee, now=AFTER_DEADLINE + timedelta(days=2))
    assert_valid(export(tw.tender.id))
    award_service.enter_into_contracts(
        tw.tender.id, tw.committee, now=datetime.fromisoformat("2026-04-01T09:00:00+00:00")
    )
    award_service.complete_tender(
        tw.tender.id, tw.committee, now=datetime.fromisoformat("2026-04-02T09:00:00+00:00")
    )
    package = export(tw.tender.id)
    assert_valid(package)

    releases = package["releases"]
    assert {r["ocid"] for r in releases} == {f"ocds-pooled-{tw.tender.id}"}
    assert len({r["id"] for r in releases}) == len(releases)
    assert [r["tag"] for r in releases] == [
        ["tender"],
        ["tenderAmendment"],
        ["tenderUpdate"],  # bids opened
        ["tenderUpdate"],  # evaluation started
        ["award"],
        ["contract"],
        ["tenderUpdate"],  # complete
    ]
    notice_types = {
        r["tag"][0]: [d["noticeType"] for d in _documents(r) if "noticeType" in d] for r in releases
    }
    assert "UK4" in notice_types["tender"]
    assert "UK6" in notice_types["award"]
    assert "UK7" in notice_types["contract"]

    award_release = releases[4]
    (award,) = award_release["awards"]
    assert award["status"] == "pending"
    assert award["suppliers"] == [
        {"id": f"pooled-provider-{world.provider_a.id}", "name": world.provider_a.name}
    ]
    assert award["standstillPeriod"] == {
        "startDate": "2026-03-18T13:00:00Z",
        "endDate": "2026-03-30T23:00:00Z",  # midnight after Monday 30 March, London (BST)
    }
    assert award["value"] == {"amount": 87932, "currency": "GBP"}  # 400 × £219.83
    roles = {p["name"]: p["roles"] for p in award_release["parties"]}
    assert roles[world.provider_a.name] == ["tenderer", "supplier"]
    assert roles[world.provider_b.name] == ["tenderer"]
    assert "buyer" in roles["Ealing Learning Partnership"]

    contract_release = releases[5]
    (contract,) = contract_release["contracts"]
    assert contract["awardID"] == award["id"]
    assert contract["status"] == "active"
    assert contract_release["awards"][0]["status"] == "active"
    assert releases[-1]["tender"]["status"] == "complete"
    amendment = releases[1]["tender"]["amendments"][0]
    assert amendment["rationale"] == "Supervision was missing from the description"


def test_no_release_before_opening_mentions_a_bid_or_a_bidder(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    drafting.update_tender(
        tw.tender.id,
        tw.committee,
        drafting.TenderInput(**{**_tender_values(tw), "min_valid_bids": 2}),
        now=BEFORE_DEADLINE - timedelta(days=5),
        reason="Two bids needed",
    )
    open_bids(tw)
    releases = export(tw.tender.id)["releases"]
    sealed = [r for r in releases if r["date"] < "2026-03-16T13:00:00Z"]
    assert [r["tag"] for r in sealed] == [["tender"], ["tenderAmendment"]]
    for release in sealed:
        text = json.dumps(release)
        assert "bids" not in release and "tenderers" not in release["tender"]
        assert world.provider_a.name not in text and world.provider_b.name not in text
        assert "234.57" not in text and "23457" not in text
    opened = releases[-1]
    assert opened["bids"]["statistics"][0] == {
        "id": "lot-1-bids",
        "measure": "bids",
        "value": 2,
        "date": "2026-03-16T13:05:00Z",
        "relatedLot": "lot-1",
    }
    # Bids are listed from opening, but their values only from the award decision.
    assert all("value" not in bid for bid in opened["bids"]["details"])
    assert {bid["status"] for bid in opened["bids"]["details"]} == {
        "disqualified"
    }  # not re-confirmed


def test_cancelling_releases_the_uk12_termination_notice(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    publication.cancel_tender(tw.tender.id, tw.committee, "Budget withdrawn", now=BEFORE_DEADLINE)
    package = export(tw.tender.id)
    assert_valid(package)
    last = package["releases"][-1]
    assert last["tag"] == ["tenderCancellation"]
    assert last["tender"]["status"] == "cancelled"
    (uk12,) = [d for d in last["tender"]["documents"] if d.get("noticeType") == "UK12"]
    assert uk12["documentType"] == "cancellationDetails"
    assert uk12["description"] == "Budget withdrawn"
    assert "bids" not in last  # discarded unopened


def test_an_unsuccessful_tender_says_so(world):
    tw = make_tender(world, min_valid_bids=3)
    submit_both_bids(tw)
    open_bids(tw)
    opening.start_evaluation(tw.tender.id, tw.committee, now=AFTER_DEADLINE + timedelta(days=1))
    package = export(tw.tender.id)
    assert_valid(package)
    assert package["releases"][-1]["tender"]["status"] == "unsuccessful"


def test_a_draft_publishes_nothing(world):
    tw = make_tender(world, publish=False)
    with pytest.raises(TenderError, match="Nothing has been published"):
        export(tw.tender.id)


def test_the_demo_tenders_export_validates(app, db_session):
    from app.demo import seed as demo

    demo.seed(Path(Config.DEMO_DATA_DIR))
    package = export()
    assert_valid(package)
    tags = {tag for release in package["releases"] for tag in release["tag"]}
    assert {"tender", "award", "contract", "contractAmendment"} <= tags  # the demo's UK10
    ocids = {release["ocid"] for release in package["releases"]}
    assert len(ocids) == 2


# --- The command and the download ---------------------------------------------------------------


def test_flask_ocds_export_writes_a_valid_package_to_stdout(runner, world):
    tw = make_tender(world)
    other = make_tender(world)
    result = runner.invoke(args=["ocds", "export"])
    assert result.exit_code == 0, result.output
    package = json.loads(result.output)
    assert_valid(package)
    assert {r["ocid"] for r in package["releases"]} == {tw.tender.ocid, other.tender.ocid}

    result = runner.invoke(args=["ocds", "export", "--tender", str(tw.tender.id)])
    assert result.exit_code == 0, result.output
    assert {r["ocid"] for r in json.loads(result.output)["releases"]} == {tw.tender.ocid}


def test_flask_ocds_export_refuses_an_unknown_or_unpublished_tender(runner, world):
    draft = make_tender(world, publish=False)
    result = runner.invoke(args=["ocds", "export", "--tender", str(draft.tender.id)])
    assert result.exit_code != 0 and "Nothing has been published" in result.output
    result = runner.invoke(args=["ocds", "export", "--tender", "999999"])
    assert result.exit_code != 0 and "no tender 999999" in result.output


def test_the_download_page_serves_the_same_releases(client, auth, world):
    tw = make_tender(world)
    auth.as_user(world.sbm_a)
    response = client.get(f"/tenders/{tw.tender.id}/ocds.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    package = response.get_json()
    assert_valid(package)
    assert package["releases"] == export(tw.tender.id)["releases"]
    page = client.get("/tenders/notices")
    assert tw.tender.ocid in page.get_data(as_text=True)


def _documents(release: dict[str, Any]) -> list[dict[str, Any]]:
    documents = list(release.get("tender", {}).get("documents", []))
    for award in release.get("awards", []):
        documents += award.get("documents", [])
    for contract in release.get("contracts", []):
        documents += contract.get("documents", [])
    return documents


def _tender_values(tw) -> dict[str, Any]:
    tender = tw.tender
    return {
        "title": tender.title,
        "description": tender.description,
        "deadline_at": tender.deadline_at,
        "contract_starts_on": tender.contract_starts_on,
        "contract_ends_on": tender.contract_ends_on,
        "min_valid_bids": tender.min_valid_bids,
        "price_weight": tender.price_weight,
        "quality_weight": tender.quality_weight,
        "social_value_weight": tender.social_value_weight,
        "school_ids": tuple(s.school_id for s in tender.schools),
    }
