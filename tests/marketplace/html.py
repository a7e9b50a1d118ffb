"""Reading pages in tests: the text of a table row, an error summary, a flash message."""

from __future__ import annotations

import html as html_lib
import re


def text(fragment: str) -> str:
    """Tags removed, entities decoded, whitespace collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(html_lib.unescape(without_tags).split())


def row_cells(page: str, label: str) -> list[str]:
    """The cells' text of the first table row that mentions `label`."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S):
        if label in text(row):
            return [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    raise AssertionError(f"no table row mentions {label!r}")


def error_summary(page: str) -> list[str]:
    """The messages in the page's error summary (empty if there is none)."""
    match = re.search(r'class="govuk-error-summary".*?<ul[^>]*>(.*?)</ul>', page, flags=re.S)
    if not match:
        return []
    return [text(item) for item in re.findall(r"<li>(.*?)</li>", match.group(1), flags=re.S)]


def banners(page: str) -> list[str]:
    """The text of notification banners (flashed messages)."""
    return [
        text(body)
        for body in re.findall(
            r'class="govuk-notification-banner__heading">(.*?)</p>', page, flags=re.S
        )
    ]


def summary_value(page: str, key: str) -> str:
    """The value of a summary-list row by its key."""
    pattern = (
        r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*'
        r'<dd class="govuk-summary-list__value">(.*?)</dd>'
    )
    for row_key, value in re.findall(pattern, page, flags=re.S):
        if text(row_key) == key:
            return text(value)
    raise AssertionError(f"no summary row {key!r}")
