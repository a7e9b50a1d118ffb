"""Full-text search on each database's own index: stems, school synonyms, ranking, triggers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.calendar import AcademicYear
from app.demo.catalogue import seed_catalogue
from app.extensions import db
from app.time import london_today
from marketplace.catalogue import editing, words
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.services import CatalogueFilters
from marketplace.offers.models import Offer, OfferStatus
from tests import factories


@pytest.fixture
def demo_catalogue(db_session):
    """The demo partnership's services, providers and live offers, as the issue saw them."""
    seed_catalogue(AcademicYear.containing(london_today()))
    db.session.commit()


def slugs(q: str) -> list[str]:
    return [e.service.slug for e in catalogue.search(CatalogueFilters(q=q), london_today())]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("counsel", "counselling"),
        ("counselling", "counselling"),
        ("counseling", "counselling"),
        ("mental health", "counselling"),
        ("wellbeing", "counselling"),
        ("SALT", "speech-language-therapy"),
        ("speech therapy", "speech-language-therapy"),
        ("EP", "educational-psychology"),
        ("educational psychologist", "educational-psychology"),
        ("ECT", "ect-appropriate-body"),
        ("NQT", "ect-appropriate-body"),
        ("HR", "hr-advisory"),
        ("human resources", "hr-advisory"),
        ("payroll", "payroll"),
        ("salaries", "payroll"),
        ("cover", "supply-teachers"),
        ("supply", "supply-teachers"),
        ("West London", "counselling"),  # a provider's name
    ],
)
def test_each_school_word_ranks_the_right_service_first(demo_catalogue, typed, first):
    found = slugs(typed)
    assert found, f"nothing found for {typed!r}"
    assert found[0] == first, f"{typed!r} ranked {found}"


def test_a_word_in_a_name_ranks_above_the_same_word_in_a_description(demo_catalogue):
    # "cover" is in the insurance description; supply (its synonym) is the supply service's name.
    found = slugs("cover")
    assert found.index("supply-teachers") < found.index("risk-protection")


def test_every_term_must_match(demo_catalogue):
    assert slugs("counselling payroll") == []
    assert slugs("school counselling") == ["counselling"]


@pytest.mark.parametrize(
    "typed", ['"counsel', "counsel*", "(counselling OR", "NEAR(a b)", "a:b & !c | d", "''", "-"]
)
def test_query_syntax_typed_into_the_box_is_searched_as_words(demo_catalogue, typed):
    found = slugs(typed)  # never a database syntax error
    if words.parse(typed) and "counsel" in typed:
        assert found[0] == "counselling"


def test_words_with_nothing_to_search_for_show_everything(demo_catalogue):
    assert len(slugs("the and of")) == len(slugs(""))


def test_the_index_follows_services_offers_and_providers_as_they_change(db_session):
    service = factories.make_service(name="Forest school sessions", description="Outdoor learning")
    db.session.commit()
    assert slugs("forest") == [service.slug]

    service.name = "Outdoor education days"
    db.session.commit()
    assert slugs("forest") == []
    assert slugs("outdoor education") == [service.slug]

    provider = factories.make_provider("Woodland Ways Ltd")
    offer = factories.make_offer(provider, service, title="Woodland days")
    db.session.commit()
    assert slugs("woodland") == [service.slug]

    provider.name = "Treetop Learning"
    db.session.commit()
    assert slugs("treetop") == [service.slug]

    offer.status = OfferStatus.WITHDRAWN
    db.session.commit()
    assert slugs("treetop") == []

    db.session.delete(db.session.get(Offer, offer.id))
    db.session.delete(service)
    db.session.commit()
    assert slugs("outdoor") == []


def test_a_renamed_category_is_found_by_its_new_name(db_session, world):
    category = editing.create_category(
        editing.CategoryInput("wellbeing-hub", "Pupil wellbeing", "Pastoral support"), None
    )
    service = factories.make_service(name="Lunchtime club", category=category)
    other = factories.make_service(name="Another club", category="payroll")
    db.session.commit()
    assert slugs("pastoral") == [service.slug]

    editing.update_category(
        category.id,
        editing.CategoryInput("wellbeing-hub", "Mindfulness and calm", "Quiet spaces"),
        world.admin,
    )
    assert slugs("mindfulness") == [service.slug]
    assert slugs("quiet spaces") == [service.slug]
    assert slugs("pastoral") == []
    assert other.slug not in slugs("mindfulness")


def test_the_catalogue_page_lists_the_best_match_first(client, auth, world, demo_catalogue):
    auth.as_user(world.sbm_a)
    page = client.get("/services?q=wellbeing").get_data(as_text=True)
    results = page[page.index('id="result-count"') :]
    first_link = results[results.index("<h3") : results.index("</h3>")]
    assert "School counselling" in first_link


def test_postgresql_searches_through_its_gin_index(demo_catalogue, backend):
    if backend != "postgresql":
        pytest.skip("the GIN index is PostgreSQL's; SQLite's FTS5 table is its own index")
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        db.session.scalars(
            sa.text(
                "EXPLAIN SELECT service_id FROM service_search"
                " WHERE document @@ to_tsquery('english', 'counsel:*')"
            )
        )
    )
    assert "ix_service_search_document" in plan


def test_synonyms_add_alternatives_and_pairs_match_before_single_words():
    assert words.parse("mental health") == [words.Term((("mental", "health"), ("counselling",)))]
    assert words.parse("SALT") == [words.Term((("salt",), ("speech", "language", "therapy")))]
    assert words.postgres_tsquery(words.parse("EP")) == "((ep) | (educational:* & psychology:*))"
    assert words.fts5_query(words.parse("hr")) == '(("hr") OR ("human"* AND "resources"*))'
    assert words.parse('"; DROP TABLE services; --') == [
        words.Term((("drop",),)),
        words.Term((("table",),)),
        words.Term((("services",),)),
    ]
