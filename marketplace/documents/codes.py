"""Finance codes (pure): what a school may type, and the DfE CFR code a service usually takes.

Schools code spend to the DfE Consistent Financial Reporting framework (expenditure codes E01 to
E32) or to their own cost centres; either is accepted, as letters, digits, dots, dashes and
slashes, at most 20 characters, kept in capitals.
"""

from __future__ import annotations

import re

MAX_LENGTH = 20
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9./-]*$")

# The CFR expenditure code a category's spend usually goes to (a hint, never applied for them).
_OTHER = ("E28", "Bought-in professional services: other")
SUGGESTED = {
    "supply": ("E26", "Agency supply teaching staff"),
    "insurance": ("E23", "Other insurance premiums"),
    "cpd": ("E09", "Development and training"),
    "hr": _OTHER,
    "payroll": _OTHER,
    "governance": _OTHER,
    "data-assessment": _OTHER,
}
DEFAULT_SUGGESTION = ("E27", "Bought-in professional services: curriculum")


def normalise(text: str) -> str:
    """The code as stored; raises ValueError with a message for people if it is not one."""
    code = text.strip().upper()
    if len(code) > MAX_LENGTH:
        raise ValueError(f"A finance code must be {MAX_LENGTH} characters or fewer")
    if code and not _CODE.match(code):
        raise ValueError(
            "A finance code can only contain letters, numbers, dots, dashes and slashes, like E27"
        )
    return code


def suggestion(category: str) -> tuple[str, str]:
    """(code, meaning) of the CFR code usually used for a service category."""
    return SUGGESTED.get(category, DEFAULT_SUGGESTION)
