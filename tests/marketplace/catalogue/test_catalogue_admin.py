"""The admin keeps the catalogue: categories and services as data, retiring, and the services
CSV (import and export)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from marketplace.catalogue import editing, transfer
from marketplace.catalogue.errors import InvalidCatalogueEntry, ServiceRetired
from marketplace.catalogue.models import Service, ServiceCategory, ServiceKind, Unit, VatTreatment
from marketplace.offers import services as offers
from marketplace.offers.models import OfferStatus
from marketplace.orders import drafting
from tests import factories
from tests.marketplace.conftest import term_key


def count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def service_input(**changes: object) -> editing.ServiceInput:
    values: dict[str, object] = {
        "slug": "forest-school",
        "name": "Forest school",
        "kind": ServiceKind.TRADED,
        "category_slug": "cpd",
        "unit": Unit.SESSION,
        "vat": VatTreatment.EXEMPT,
        "description": "Outdoor learning sessions",
    }
    values.update(changes)
    return editing.ServiceInput(**values)  # type: ignore[arg-type]


# --- Use cases


def test_a_category_needs_a_well_formed_unique_short_name_and_name(world):
    editing.create_category(editing.CategoryInput("wellbeing", "Wellbeing"), world.admin)
    for values, message in (
        (editing.CategoryInput("Well Being", "X"), "lower-case letters"),
        (editing.CategoryInput("wellbeing", "Other"), "already a category with the short name"),
        (editing.CategoryInput("other", "WELLBEING"), "already a category called"),
        (editing.CategoryInput("other", "  "), "Enter the category’s name"),
    ):
        with pytest.raises(InvalidCatalogueEntry, match=message):
            editing.create_category(values, world.admin)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceCategory)) == 3


def test_a_service_is_created_in_an_existing_live_category(world):
    factories.make_category("cpd")
    service = editing.create_service(service_input(includes=""), world.admin)
    assert service.category.slug == "cpd" and service.active
    retired = factories.make_category("old-things")
    retired.retired = True
    db.session.commit()
    with pytest.raises(InvalidCatalogueEntry, match="is retired"):
        editing.create_service(service_input(slug="x", category_slug="old-things"), world.admin)
    with pytest.raises(InvalidCatalogueEntry, match="no category with the short name"):
        editing.create_service(service_input(slug="y", category_slug="nope"), world.admin)
    with pytest.raises(InvalidCatalogueEntry, match="already a service"):
        editing.create_service(service_input(), world.admin)


def test_a_retired_service_takes_no_new_offers_or_orders_but_keeps_its_history(world):
    service = world.offer_a.service
    editing.set_service_retired(service.id, True, world.admin)
    draft = factories.make_offer(world.provider_a, service, status=OfferStatus.DRAFT)
    db.session.commit()
    with pytest.raises(ServiceRetired, match="has been retired"):
        offers.publish_offer(draft.id, world.provider_a.id, world.provider_user_a)
    with pytest.raises(ServiceRetired, match="takes no new offers or orders"):
        drafting.create_draft(
            school_id=world.school_a.id,
            offer_id=world.offer_a.id,
            term_key=term_key(),
            quantity=1,
            po_number="PO-1",
            actor=world.sbm_a,
        )
    assert db.session.get(Service, service.id) is not None
    assert world.offer_a.status is OfferStatus.LIVE  # existing offers are left as they are
    editing.set_service_retired(service.id, False, world.admin)
    order = drafting.create_draft(
        school_id=world.school_a.id,
        offer_id=world.offer_a.id,
        term_key=term_key(),
        quantity=1,
        po_number="PO-1",
        actor=world.sbm_a,
    )
    assert order.id is not None


# --- Pages


def test_the_admin_adds_a_category_and_a_service_from_the_pages(client, auth, world):
    auth.as_user(world.admin)
    assert client.get("/admin/catalogue").status_code == 200
    response = client.post(
        "/admin/catalogue/categories/new",
        data={"slug": "outdoor", "name": "Outdoor learning", "description": "Forest school"},
    )
    assert response.status_code == 303
    response = client.post(
        "/admin/catalogue/services/new",
        data={
            "slug": "forest-school",
            "name": "Forest school",
            "kind": "core",
            "category": "outdoor",
            "unit": "session",
            "vat": "exempt",
            "description": "Sessions in the woods",
            "includes": "Two sessions a year",
        },
    )
    assert response.status_code == 303
    service = editing.service_by_slug("forest-school")
    assert service is not None and service.kind is ServiceKind.CORE
    assert service.includes == "Two sessions a year"
    page = client.get("/admin/catalogue").get_data(as_text=True)
    assert "Forest school" in page and "Outdoor learning" in page


def test_a_bad_service_is_refused_with_a_named_error(client, auth, world):
    auth.as_user(world.admin)
    response = client.post(
        "/admin/catalogue/services/new",
        data={
            "slug": "Bad Slug",
            "name": "X",
            "kind": "traded",
            "category": "counselling",
            "unit": "day",
            "vat": "exempt",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page and "lower-case letters and digits" in page


def test_renaming_a_category_and_retiring_a_service_from_the_pages(client, auth, world):
    auth.as_user(world.admin)
    category = world.offer_a.service.category
    response = client.post(
        f"/admin/catalogue/categories/{category.id}",
        data={"name": "Pupil counselling", "description": ""},
    )
    assert response.status_code == 303
    assert db.session.get(ServiceCategory, category.id).name == "Pupil counselling"
    service_id = world.offer_a.service_id
    response = client.post(f"/admin/catalogue/services/{service_id}/retire", data={"retired": "1"})
    assert response.status_code == 303
    assert db.session.get(Service, service_id).retired
    assert client.get(f"/admin/catalogue/services/{service_id}").status_code == 200


# --- CSV


CSV_HEADER = "slug,name,kind,category,unit,vat,description,includes,retired\n"


def test_services_export_and_import_back_unchanged(runner, world):
    factories.make_category("cpd")
    editing.create_service(service_input(), world.admin)
    result = runner.invoke(args=["services", "export"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(CSV_HEADER.strip())
    assert "forest-school,Forest school,traded,cpd,session,exempt" in result.output
    everything = count(Service)
    report = transfer.import_csv(result.output.encode(), None)
    assert report == transfer.ImportReport(created=0, updated=0, unchanged=everything)


def test_services_import_creates_and_updates_by_slug(runner, world, tmp_path):
    factories.make_category("cpd")
    db.session.commit()
    path = tmp_path / "services.csv"
    path.write_text(
        CSV_HEADER
        + "forest-school,Forest school,traded,cpd,session,exempt,Woods,,\n"
        + f"{world.service.slug},School counselling (weekly),traded,counselling,day,exempt,,,yes\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["services", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created: 1" in result.output and "updated: 1" in result.output
    assert editing.service_by_slug("forest-school") is not None
    counselling = editing.service_by_slug(world.service.slug)
    assert counselling.name == "School counselling (weekly)" and counselling.retired


def test_services_import_names_every_problem_by_line_and_writes_nothing(runner, world, tmp_path):
    db.session.commit()
    before = count(Service)
    path = tmp_path / "bad.csv"
    path.write_text(
        CSV_HEADER
        + "ok-one,Fine,traded,counselling,day,exempt,,,\n"
        + "Bad Slug,X,traded,counselling,day,exempt,,,\n"
        + "two,Two,sometimes,counselling,day,exempt,,,\n"
        + "three,Three,traded,astrology,day,exempt,,,\n"
        + "ok-one,Again,traded,counselling,fortnight,exempt,,,maybe\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["services", "import", str(path)])
    assert result.exit_code != 0
    for expected in (
        "Line 3: The short name must be lower-case",
        "Line 4: kind must be one of core, traded",
        "Line 5: There is no category with the short name astrology",
        "Line 6: the slug ok-one is also on line 2",
    ):
        assert expected in result.output
    assert count(Service) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"slug,name\nx,y\n", "lacks the column(s) kind, category, unit, vat"),
        (b"\xff\xfe\x00s", "not UTF-8"),
        (CSV_HEADER.encode(), "no services under its header row"),
        (CSV_HEADER.replace("retired", "colour").encode() + b"a,b,c,d,e,f,,,\n", "unknown column"),
    ],
)
def test_a_file_that_is_not_a_services_csv_is_refused(runner, world, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = runner.invoke(args=["services", "import", str(path)])
    assert result.exit_code != 0 and message in result.output


def test_a_missing_file_is_refused(runner, world):
    result = runner.invoke(args=["services", "import", "/nonexistent/services.csv"])
    assert result.exit_code != 0 and "Cannot read" in result.output
