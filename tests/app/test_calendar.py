from datetime import date

import pytest

from app.calendar import AcademicYear, Term, TermName, add_working_days, is_working_day


def test_an_academic_year_runs_from_september_to_august():
    year = AcademicYear.containing(date(2027, 3, 1))
    assert year.start_year == 2026
    assert (year.starts_on, year.ends_on) == (date(2026, 9, 1), date(2027, 8, 31))
    assert year.label == "2026/27"
    assert AcademicYear.containing(date(2026, 9, 1)).start_year == 2026
    assert AcademicYear.containing(date(2026, 8, 31)).start_year == 2025


@pytest.mark.parametrize("label", ["2026/27", "2026-27", "2026"])
def test_academic_years_parse_from_what_people_type(label):
    assert AcademicYear.parse(label) == AcademicYear(2026)


@pytest.mark.parametrize("label", ["2026/29", "twenty", "1850/51"])
def test_nonsense_years_are_refused(label):
    with pytest.raises(ValueError, match="not an academic year"):
        AcademicYear.parse(label)


def test_terms_cover_the_year_and_round_trip_by_key():
    year = AcademicYear(2026)
    terms = year.terms()
    assert [t.name for t in terms] == [TermName.AUTUMN, TermName.SPRING, TermName.SUMMER]
    assert terms[0].starts_on == year.starts_on and terms[-1].ends_on == year.ends_on
    assert Term.containing(date(2027, 2, 14)) == Term(2026, TermName.SPRING)
    assert Term.parse("2026-summer").label == "Summer 2026/27"


def test_bank_holidays_and_weekends_are_not_working_days():
    assert not is_working_day(date(2026, 12, 25))  # Christmas Day
    assert not is_working_day(date(2026, 12, 28))  # Boxing Day (substitute)
    assert not is_working_day(date(2027, 3, 29))  # Easter Monday 2027
    assert not is_working_day(date(2026, 11, 21))  # Saturday
    assert is_working_day(date(2026, 11, 23))


def test_eight_working_days_skip_christmas_and_new_year():
    # Tue 22 Dec 2026 + 8 working days: 23, 24, 29, 30, 31 Dec, 4, 5, 6 Jan
    assert add_working_days(date(2026, 12, 22), 8) == date(2027, 1, 6)
    assert add_working_days(date(2026, 11, 23), 0) == date(2026, 11, 23)
