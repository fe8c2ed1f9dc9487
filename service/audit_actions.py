"""The audit log's action codes and their names in words.

The log stores a short machine code (``case.approve``); people read "Approved case" / "批准案件".
The names live in the page catalogues (``audit.action.<code>`` in ``service/web/i18n/*.json``) so a
translator finds them beside every other string, and the admin page, the JSON API and the CSV use
this one lookup. A code with no name (one recorded by an older or newer version) is shown as the
code itself rather than hidden, so nothing in the log becomes unreadable or disappears.
"""

from __future__ import annotations

from service.web import i18n

# Every code the service records, grouped as the admin page's action filter lists them. A test
# reads the ``audit.record`` calls in the source and fails when one is missing here.
ACTIONS: tuple[str, ...] = (
    "login",
    "login.failed",
    "login.throttled",
    "user.create",
    "user.update",
    "token.create",
    "token.revoke",
    "camera.create",
    "camera.update",
    "camera.retire",
    "camera.unretire",
    "camera.delete",
    "camera.stream",
    "upload.create",
    "job.cancel",
    "job.retry",
    "job.flight_report",
    "case.approve",
    "case.reject",
    "case.publish",
    "case.withdraw",
    "case.undo",
    "case.reopen",
    "case.plate",
    "case.export",
    "case.unsigned_run",
    "evidence.view",
    "evidence.render",
    "audit.export",
)

KEY_PREFIX = "audit.action."


def action_name(code: str, lang: str) -> str:
    """``code`` in words in ``lang``; the code itself when no catalogue names it."""
    key = KEY_PREFIX + code
    if key not in i18n.catalogue(lang) and key not in i18n.catalogue(
        i18n.DEFAULT_LANGUAGE
    ):
        return code
    return i18n.translate(lang, key)
