"""Uploaded files' names: what an upload is stored and shown under, whatever was typed.

Pure: the standard library only.
"""

from __future__ import annotations

import re
import unicodedata

FILENAME_MAX = 200

# Unicode categories never kept in a stored name: controls (C0, DEL, C1), format characters
# (the bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069, the marks
# U+200E/U+200F, zero-width characters), surrogates, and line and paragraph separators.
# "invoice\u202etxt.pdf" shows as "invoicefdp.txt": it is stored as "invoicetxt.pdf".
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
FALLBACK_STEM = "document"


def clean_filename(filename: str) -> str:
    """The name an upload is stored and shown under: its last path part, without control,
    format or reserved characters; "document.pdf" when nothing but the extension is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _UNSAFE_CATEGORIES)
    name = re.sub(r'["<>|:*?]', "", name).strip()
    stem, dot, extension = name.rpartition(".")
    if dot and extension.strip() and not stem.strip(" ."):
        name = f"{FALLBACK_STEM}.{extension.strip()}"  # ".pdf", or only controls before it
    name = name.strip(".").strip()
    return name[-FILENAME_MAX:]
