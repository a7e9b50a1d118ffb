"""The vacancies board's feeds: schema.org `JobPosting` objects for the JSON feed, and the
entries of the Atom feed. Pure functions of vacancies already loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time
from typing import Any

from marketplace.supply.models import ContractType, Vacancy

EMPLOYMENT_TYPE = {
    ContractType.PERMANENT: "FULL_TIME",
    ContractType.FIXED_TERM: "TEMPORARY",
    ContractType.MATERNITY_COVER: "TEMPORARY",
}


def _pounds(pence: int) -> float | int:
    return pence // 100 if pence % 100 == 0 else pence / 100


def job_posting(vacancy: Vacancy, url: str) -> dict[str, Any]:
    """One vacancy as a schema.org JobPosting (validThrough: the end of its closing date)."""
    school = vacancy.school
    closes = datetime.combine(vacancy.closing_on, time(23, 59, 59), UTC)
    return {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "identifier": {"@type": "PropertyValue", "name": "Pooled", "value": str(vacancy.id)},
        "url": url,
        "title": vacancy.title,
        "description": vacancy.description,
        "datePosted": vacancy.published_at.date().isoformat(),
        "validThrough": closes.isoformat(),
        "employmentType": EMPLOYMENT_TYPE[vacancy.contract_type],
        "occupationalCategory": vacancy.role.label,
        "educationRequirements": vacancy.phase or None,
        "hiringOrganization": {
            "@type": "EducationalOrganization",
            "name": school.name,
            "identifier": str(school.urn),
        },
        "jobLocation": {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": school.town,
                "addressRegion": school.area or school.la_name,
                "postalCode": school.postcode,
                "addressCountry": "GB",
            },
        },
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "GBP",
            "value": {
                "@type": "QuantitativeValue",
                "minValue": _pounds(vacancy.salary_min_pence),
                "maxValue": _pounds(vacancy.salary_max_pence),
                "unitText": "YEAR",
            },
        },
    }


def json_feed(
    vacancies: Iterable[Vacancy], url_for_vacancy: Callable[[int], str]
) -> dict[str, Any]:
    """Every open vacancy as JSON-LD: an ItemList of JobPostings."""
    postings = [job_posting(v, url_for_vacancy(v.id)) for v in vacancies]
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "numberOfItems": len(postings),
        "itemListElement": [
            {"@type": "ListItem", "position": n, "item": posting}
            for n, posting in enumerate(postings, start=1)
        ],
    }
