"""Why reviewers reject cases: the reasons the review page offers, and how a stored reason is
told back to one of them.

A rejection stores its reason as text (``Case.reason``): the review page sends the chosen reason's
label in the page's language, with the reviewer's note after ``": "`` when there is one
("Not a violation", "不构成违法: 行人已过街"). The statistics count rejections per reason, so the
text is mapped back to the reason's code by those labels, in every page language.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, literal, or_

from service.web.i18n import LANGUAGES, catalogue

# The choices of the review page's reject dialogs (templates/review.html), in the order shown.
REJECT_REASONS: tuple[str, ...] = (
    "not_violation", "not_identifiable", "wrong_signal", "duplicate", "detector_error", "other")
# What a reason that starts with no listed label counts as: the page's "Other" with its note, and
# a reason written through the API in words of its own, are both "something else".
UNLISTED = "other"
NOTE_SEPARATOR = ": "  # between the label and the note (review.js)


def labels(code: str) -> tuple[str, ...]:
    """The reason's label in every page language (``reject.<code>`` in the catalogues)."""
    return tuple(dict.fromkeys(catalogue(lang)[f"reject.{code}"] for lang in LANGUAGES))


def reason_code(text: str | None) -> str | None:
    """The code of a stored reason (None for no reason): the Python twin of :func:`reason_code_sql`."""
    if text is None:
        return None
    for code in REJECT_REASONS:
        if any(text == label or text.startswith(label + NOTE_SEPARATOR) for label in labels(code)):
            return code
    return UNLISTED


def reason_code_sql(column: ColumnElement) -> ColumnElement:
    """The code of the reason in ``column``, as SQL (a CASE over the labels), so rejections are
    counted per reason by the database. ``startswith(..., autoescape=True)``: a label's own ``%``
    or ``_`` would otherwise be a wildcard."""
    whens = [(or_(*(or_(column == label, column.startswith(label + NOTE_SEPARATOR, autoescape=True))
                    for label in labels(code))), literal(code))
             for code in REJECT_REASONS if code != UNLISTED]
    return case(*whens, else_=literal(UNLISTED))
