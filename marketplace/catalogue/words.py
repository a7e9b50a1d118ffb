"""What a school types into the catalogue's search, as a full-text query (pure: no database).

A query is a list of terms that must all match; each term is one or more alternatives (the
words typed, or a school synonym for them), and an alternative is words that must all match.
`postgres_tsquery` and `fts5_query` write the same query for each database's own full-text
search; both stem with an English (Porter/Snowball) stemmer, so "counseling", "counselling"
and "counsellor" already meet at "counsel".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_WORDS = 8
PREFIX_FROM = 3  # words this long or longer also match as a prefix ("couns" → counselling)

# Words that carry no meaning in a search (PostgreSQL's English configuration drops them too).
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is of on or the to with our your".split()
)

# School words → what the catalogue calls them. Keys are one or two words, lower case.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "salt": ("speech language therapy",),
    "slt": ("speech language therapy",),
    "speech therapy": ("speech language therapy",),
    "ep": ("educational psychology",),
    "eps": ("educational psychology",),
    "psychologist": ("educational psychology",),
    "nqt": ("ect", "early career teacher"),
    "nqts": ("ect", "early career teacher"),
    "induction": ("ect",),
    "hr": ("human resources",),
    "human resources": ("hr",),
    "personnel": ("hr",),
    "salaries": ("payroll",),
    "salary": ("payroll",),
    "pay": ("payroll",),
    "pensions": ("payroll",),
    "cover": ("supply",),
    "agency": ("supply",),
    "counseling": ("counselling",),
    "counselor": ("counselling",),
    "therapist": ("therapy",),
    "mental health": ("counselling",),
    "wellbeing": ("counselling",),
    "well being": ("counselling",),
    "clerk": ("clerking",),
    "governors": ("governor",),
}

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Term:
    """One thing the school asked for: any alternative matches; an alternative's words all must."""

    alternatives: tuple[tuple[str, ...], ...]


def words(text: str) -> list[str]:
    """The searchable words of `text`: lower case letters and digits, no stop words."""
    found = [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]
    return found[:MAX_WORDS]


def parse(text: str) -> list[Term]:
    """`text` as terms, with a synonym matched on two words before one."""
    typed = words(text.replace("-", " "))
    terms: list[Term] = []
    index = 0
    while index < len(typed):
        pair = " ".join(typed[index : index + 2])
        if index + 1 < len(typed) and pair in SYNONYMS:
            key, width = pair, 2
        else:
            key, width = typed[index], 1
        alternatives = [tuple(key.split())]
        for synonym in SYNONYMS.get(key, ()):
            alternative = tuple(words(synonym))
            if alternative not in alternatives:
                alternatives.append(alternative)
        terms.append(Term(tuple(alternatives)))
        index += width
    return terms


def _prefix(word: str) -> bool:
    return len(word) >= PREFIX_FROM


def postgres_tsquery(terms: list[Term]) -> str:
    """For `to_tsquery('english', …)`: `(a:* & b) | c` per term, terms joined by `&`."""

    def alternative(ws: tuple[str, ...]) -> str:
        return " & ".join(f"{w}:*" if _prefix(w) else w for w in ws)

    return " & ".join(
        "(" + " | ".join(f"({alternative(a)})" for a in term.alternatives) + ")" for term in terms
    )


def fts5_query(terms: list[Term]) -> str:
    """For SQLite FTS5's MATCH: `("a"* AND "b") OR "c"` per term, terms joined by AND."""

    def alternative(ws: tuple[str, ...]) -> str:
        return " AND ".join(f'"{w}"*' if _prefix(w) else f'"{w}"' for w in ws)

    return " AND ".join(
        "(" + " OR ".join(f"({alternative(a)})" for a in term.alternatives) + ")" for term in terms
    )
