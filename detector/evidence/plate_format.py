"""Chinese licence-plate text: normalising an OCR string and checking it against the plate format.

Kept apart from the OCR (``plates.py``) because the service validates a reviewer's correction with
the same rules and must not load an OCR model to do so.

Format (GA 36-2018): a province abbreviation, the issuing authority's letter, then
- ordinary plates (blue / yellow / white): 5 characters from the letters without I and O plus the
  digits; the last may instead be a special ending (学 learner, 挂 trailer, 警 police, 港 / 澳
  Hong Kong / Macao cross-border, 领 consulate, 试 test, 超 oversize);
- new-energy plates (green): 6 characters, either a small-car sequence (D/A/B/C/E pure electric,
  F/G/H/J/K other, then a letter or digit, then 4 digits) or a large-vehicle sequence (5 digits,
  then D or F).
The letters I and O never appear after the authority letter, so an OCR "O" or "I" there can only
be a 0 or a 1; nowhere else is a character changed.
"""

from __future__ import annotations

import re

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
AUTHORITY_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # no I; O is issued to some police vehicles
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I, no O
SPECIAL_ENDINGS = "学挂警港澳领试超"
SEPARATORS = "·•・.。-_ :：'\"`"

_P, _A, _S = re.escape(PROVINCES), re.escape(AUTHORITY_LETTERS), re.escape(SERIAL)
ORDINARY = re.compile(rf"^[{_P}][{_A}][{_S}]{{4}}[{_S}{SPECIAL_ENDINGS}]$")
NEW_ENERGY = re.compile(rf"^[{_P}][{_A}](?:[DABCEFGHJK][{_S}][0-9]{{4}}|[0-9]{{5}}[DF])$")


def normalise(text: str) -> str:
    """Upper-case, drop separators and spaces, and turn O/I into 0/1 where only a digit can stand."""
    s = "".join(ch for ch in text.strip().upper() if ch not in SEPARATORS and not ch.isspace())
    if len(s) > 2 and s[0] in PROVINCES:
        s = s[:2] + s[2:].replace("O", "0").replace("I", "1")
    return s


def plate_kind(text: str) -> str | None:
    """'new-energy', 'ordinary' (blue / yellow / white: told apart by colour, not text) or None
    when ``text`` (already normalised) is no valid plate."""
    if NEW_ENERGY.match(text):
        return "new-energy"
    if ORDINARY.match(text):
        return "ordinary"
    return None


def format_ok(text: str) -> bool:
    return plate_kind(text) is not None
