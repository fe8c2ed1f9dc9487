"""Why reviewers reject cases: the reasons the review page offers, their codes, and how a reason
stored as text only is told back to one of them.

A rejection stores the reason's code (``Case.reject_reason_code``, one of :data:`REJECT_REASONS`)
beside the reviewer's words (``Case.reason``). The review page sends the code of the chosen
reason and the note; the statistics count by the code, so rewording a label in a catalogue
changes nothing that was counted. A client that sends only text (the API before the code, in
words of its own or the page's old "label: note", e.g. "Not a violation", "不构成违法: 行人已过街")
gets the code its text maps to by the labels, in every page language (:func:`reason_code`), as
the rows from before the code were filled in (migration 0010).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, get_args

from sqlalchemy import ColumnElement, case, literal, or_

from service.web.i18n import LANGUAGES, catalogue

# The choices of the review page's reject dialogs (templates/review.html), in the order shown.
# The request bodies and the case schema take these as an enum: an unknown code is a 422.
RejectReason = Literal["not_violation", "not_identifiable", "wrong_signal", "duplicate", "detector_error", "other"]
REJECT_REASONS: tuple[str, ...] = get_args(RejectReason)
# What a reason that starts with no listed label counts as: the page's "Other" with its note, and
# a reason written through the API in words of its own, are both "something else".
UNLISTED = "other"
NOTE_SEPARATOR = ": "  # between the label and the note in a reason given as text (the page before the code)


def labels(code: str) -> tuple[str, ...]:
    """The reason's label in every page language (``reject.<code>`` in the catalogues)."""
    return tuple(dict.fromkeys(catalogue(lang)[f"reject.{code}"] for lang in LANGUAGES))


def reason_code(text: str | None) -> str | None:
    """The code of a reason given as text only (None for no reason): the Python twin of
    :func:`reason_code_sql`."""
    if text is None:
        return None
    for code in REJECT_REASONS:
        if any(text == label or text.startswith(label + NOTE_SEPARATOR) for label in labels(code)):
            return code
    return UNLISTED


def reason_code_sql(column: ColumnElement, label_table: Mapping[str, Sequence[str]] | None = None) -> ColumnElement:
    """The code of the reason in ``column``, as SQL (a CASE over the labels), so rejections are
    counted per reason by the database. ``label_table`` (code -> labels) replaces today's labels:
    a migration gives the labels of its own time, so that rewording one later does not change
    what an upgrade from before it fills in. ``startswith(..., autoescape=True)``: a label's own
    ``%`` or ``_`` would otherwise be a wildcard."""
    def labels_of(code: str) -> Sequence[str]:
        return label_table.get(code, ()) if label_table is not None else labels(code)

    whens = [(or_(*(or_(column == label, column.startswith(label + NOTE_SEPARATOR, autoescape=True))
                    for label in labels_of(code))), literal(code))
             for code in REJECT_REASONS if code != UNLISTED and labels_of(code)]
    return case(*whens, else_=literal(UNLISTED))
