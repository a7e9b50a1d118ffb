"""Dashboard fixtures: the marketplace's committed world, so orders can be placed, and a year
of membership for it."""

import pytest
import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.extensions import db
from app.models import Membership, MembershipTerm
from tests import factories
from tests.marketplace.conftest import login, market, term_key  # noqa: F401


@pytest.fixture
def year(market) -> AcademicYear:  # noqa: F811
    """The year orders go into, with both schools members: A 300 pupils, B 1,000 (capped)."""
    year = Term.parse(term_key()).academic_year
    term = db.session.scalar(
        sa.select(MembershipTerm).where(MembershipTerm.start_year == year.start_year)
    ) or factories.make_membership_term(year.start_year)
    term.rate_per_pupil_pence, term.default_cap_pence, term.council_match_bp = (
        1_400,
        1_250_000,
        5_000,
    )
    for school, pupils in ((market.school_a, 300), (market.school_b, 1_000)):
        membership = db.session.scalar(
            sa.select(Membership).where(
                Membership.term_id == term.id, Membership.school_id == school.id
            )
        ) or factories.make_membership(school, term)
        membership.pupils_counted, membership.cap_pence = pupils, None
    db.session.commit()
    return year
