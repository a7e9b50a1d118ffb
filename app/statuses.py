"""One vocabulary of statuses: for each status enum, the words people read and the colour of
its tag, the same on every page and in every email.

Each domain declares its own in its `labels` module (`marketplace/orders/labels.py`, …) with
`vocabulary()`; the core knows no domain, so the domains feed this register and templates read
it through the `status_label` and `status_colour` globals (and the `status_tag` macro).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

# GOV.UK tag colours (govuk-tag--<colour>; "blue" is the plain tag).
COLOURS = frozenset(
    {"grey", "green", "teal", "turquoise", "blue", "purple", "magenta", "pink", "red", "orange"}
    | {"yellow"}
)

E = TypeVar("E", bound=StrEnum)

_LABELS: dict[type[StrEnum], dict[StrEnum, str]] = {}
_COLOURS: dict[type[StrEnum], dict[StrEnum, str]] = {}


class VocabularyError(ValueError):
    """A status enum's words are incomplete or declared twice differently."""


def vocabulary(enum: type[E], words: Mapping[E, tuple[str, str]]) -> dict[E, str]:
    """Register `enum`'s words: {member: (label, tag colour)} for every member; returns
    {member: label} for messages written in Python."""
    missing = [member.value for member in enum if member not in words]
    if missing:
        raise VocabularyError(f"{enum.__name__} has no words for {', '.join(missing)}")
    bad = {colour for _, colour in words.values()} - COLOURS
    if bad:
        raise VocabularyError(f"{enum.__name__}: unknown tag colours {sorted(bad)}")
    labels = {member: words[member][0] for member in enum}
    known = _LABELS.get(enum)
    if known is not None and known != labels:
        raise VocabularyError(f"{enum.__name__} is declared twice with different words")
    _LABELS[enum] = {member: label for member, label in labels.items()}
    _COLOURS[enum] = {member: words[member][1] for member in enum}
    return labels


def registered() -> dict[type[StrEnum], dict[StrEnum, str]]:
    """Every status enum declared so far, with its labels (for tests and checks)."""
    return {enum: dict(labels) for enum, labels in _LABELS.items()}


def status_label(status: object) -> str | None:
    """The words for a status enum member, or None when its enum has no vocabulary."""
    if not isinstance(status, StrEnum):
        return None
    return _LABELS.get(type(status), {}).get(status)


def status_colour(status: object) -> str | None:
    """The tag colour for a status enum member, or None when its enum has no vocabulary."""
    if not isinstance(status, StrEnum):
        return None
    return _COLOURS.get(type(status), {}).get(status)
