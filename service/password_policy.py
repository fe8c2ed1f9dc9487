"""What a password must be: one rule set for the API (create user, change password), the first-admin
bootstrap and ``civicwatch users``.

Minimum length 10, not 8: these accounts approve cases that put people on a public street screen,
NIST SP 800-63B's floor of 8 assumes a blocklist *and* rate limiting, and 10 characters keep an
offline guess of a leaked hash expensive even for lower-case-only passwords (26^10 ~ 1.4e14)
while a pass phrase of two words still fits. Above that length, nothing is demanded about
character classes (NIST advises against composition rules); what is refused is what attackers
try first: the user name itself, one repeated character, the most common passwords, and spaces
at either end (invisible, and usually a paste accident that locks the person out later).

Each refusal has a stable ``code`` the pages translate (``error.<code>`` in service/web/i18n).
"""

from __future__ import annotations

MIN_LENGTH = 10

# The most common passwords of public breach-corpus top lists (lower case; compared case-insensitively)
# that are at least 10 characters long or become so with a digit run: shorter ones fail on length.
COMMON_PASSWORDS = frozenset("""
1234567890 0123456789 12345678910 1234567891 123456789a 123456789q a123456789 qwertyuiop
1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc qwertyuiop123 qwerty1234 qwerty12345 qwerty123456
password12 password123 password1234 password12345 password01 passw0rd12 p@ssw0rd12 p@ssword123
iloveyou12 iloveyou123 abcdefghij abc1234567 abcd123456 0987654321 9876543210 1111111111
1234512345 1234554321 1122334455 1029384756 qazwsxedcrfv zaq12wsxcde asdfghjkl1 asdfghjkl;
zxcvbnm123 football123 baseball123 princess123 sunshine123 superman123 starwars123 welcome123
letmein123 trustno123 monkey1234 dragon1234 master1234 shadow1234 michael123 administrator
admin12345 admin123456 adminadmin root123456 changeme12 changeme123 changeit12 default123
woaini1314 woaini520 5201314520 1314520520 iloveyou1314 aaaaaa1111 a1b2c3d4e5 1a2b3c4d5e
qweasdzxc1 qweasdzxc123 1qazxsw23edc 147258369a 1472583690 159357852456 123123123a 123qweasdzxc
""".split())


class PolicyViolation(ValueError):
    """Why a password is refused: ``code`` for the pages, the message in English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _digits_or_sequence(lowered: str) -> bool:
    """``1234567890``, ``abcdefghijk``, ``9876543210``: one step up or down all the way."""
    steps = {ord(b) - ord(a) for a, b in zip(lowered, lowered[1:])}
    return len(steps) == 1 and steps <= {1, -1}


def check(password: str, username: str | None = None) -> None:
    """Raise ``PolicyViolation`` when ``password`` is not acceptable for ``username``."""
    if password != password.strip():
        raise PolicyViolation("password_spaces", "password must not start or end with a space")
    if len(password) < MIN_LENGTH:
        raise PolicyViolation("password_too_short", f"password must be at least {MIN_LENGTH} characters")
    lowered = password.lower()
    if username and (lowered == username.lower() or (len(username) >= 3 and username.lower() in lowered)):
        raise PolicyViolation("password_contains_username", "password must not be or contain the user name")
    if len(set(lowered)) == 1:
        raise PolicyViolation("password_one_character", "password must not be one character repeated")
    if lowered in COMMON_PASSWORDS or _digits_or_sequence(lowered):
        raise PolicyViolation("password_common", "password is one of the most commonly used passwords")
