"""Finding a case by its plate: the search key of a plate text, and the key of the plate in force.

A reviewer handed a complaint ("my car 京A12345 was flagged") types the plate as it was given:
with the dot of a printed plate (京A·12345), spaces, a hyphen, full-width characters from a
Chinese input method, lower case, or only the part they know ("A123"). Both the plate and the
query are reduced to the same key, and a case matches when the query's key is a substring of its
plate's key.

The plate *in force* is the newest reviewer correction if there is one, else the pipeline's read
(``service.plates.plate_view`` shows the same). Its key is kept on the case (``Case.plate_key``,
migration 0009) so the queue filters on one indexed column instead of reading every case's plate
JSON and its corrections; whatever changes a case's plate (ingest, a correction) sets it again
with :func:`key_in_force`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# What a written plate may carry between its characters: spaces (any whitespace), dots (ASCII,
# ideographic), middle dots (the printed plate's ·, bullets, katakana ・) and hyphens / dashes.
SEPARATORS = frozenset(".。·•・‧-‐‑‒–—―_")
# Letters no plate serial holds (GA 36-2018 leaves out I and O): whoever reads a plate aloud or
# types it from a photo mixes them up with the digits, so both sides fold them the same way.
FOLD = str.maketrans({"O": "0", "I": "1"})
KEY_MAX = 64  # Case.plate_key's width: far beyond any plate (8) or correction (32)
QUERY_MIN, QUERY_MAX = 2, 32  # a query's key: two characters at least, no longer than a correction


class PlateQueryError(ValueError):
    """A plate query that cannot find anything; the message names the ``plate`` parameter."""


def plate_key(text: str | None) -> str | None:
    """The search key of a plate text: NFKC (full-width Ａ１ to A1), upper case, separators and
    spaces dropped, O and I folded to 0 and 1. None for no text or nothing left."""
    if not text:
        return None
    s = unicodedata.normalize("NFKC", text).upper()
    s = "".join(ch for ch in s if not ch.isspace() and ch not in SEPARATORS).translate(FOLD)
    return s[:KEY_MAX] or None


def query_key(raw: str) -> str:
    """The key a ``plate=`` query searches for; :class:`PlateQueryError` when it is too short to
    mean anything (one character matches half the queue), longer than any plate, or holds
    characters no plate has (``%`` and ``_`` would otherwise be LIKE wildcards)."""
    key = plate_key(raw) or ""
    if len(key) < QUERY_MIN:
        raise PlateQueryError(f"plate: give at least {QUERY_MIN} letters or digits of the plate "
                              f"(spaces, dots and hyphens do not count; got {len(key)})")
    if len(key) > QUERY_MAX:
        raise PlateQueryError(f"plate: longer than any plate ({len(key)} characters; at most {QUERY_MAX})")
    if not key.isalnum():
        odd = "".join(dict.fromkeys(ch for ch in key if not ch.isalnum()))
        raise PlateQueryError(f"plate: a plate has letters and digits only, not {odd!r}")
    return key


def text_in_force(machine: dict[str, Any] | None, corrections: list[Any]) -> str | None:
    """The plate text that counts: the newest correction's (``corrections`` oldest first, as
    ``Case.plate_corrections``), else the machine read's."""
    if corrections:
        return corrections[-1].text
    text = (machine or {}).get("text")
    return text if isinstance(text, str) else None


def key_in_force(case: Any) -> str | None:
    """The key to store in ``case.plate_key`` (a ``Case``: its read and its corrections)."""
    return plate_key(text_in_force(case.plate, case.plate_corrections))
