"""Every error code the service gives a person has its sentence in both catalogues, so a Chinese
page says what went wrong in Chinese instead of a translated status with the API's English words
in brackets (CW.errorMessage: "此操作与当前状态冲突。（the decision can only be undone within 30 s
of making it）"). Left out: the generic per-status codes (service.errors.DEFAULT_CODES), whose
page text is the status's meaning followed by the server's details, and the few named below."""

from __future__ import annotations

import re
from pathlib import Path

from service.errors import DEFAULT_CODES
from service.web import i18n

SERVICE = Path(i18n.__file__).parents[1]
# codes no page shows as its own sentence: why
NOT_FOR_PAGES = {
    "plate_format": "the plate form shows the API's reason for the refusal and adds its own hint (plate.js)",
    "metrics_token": "answered to Prometheus on /metrics, never to a page",
    "not_rendered": "evidence API for scripts; the review page renders the annotated clip before asking for it",
    "reference_size": "a warning of a saved camera, not an error: said by camera.notice.reference_size (CW.cameraNotices)",
}


def _raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in SERVICE.rglob("*.py"):
        codes |= set(re.findall(r"""\bcode=["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    return codes


def test_every_code_a_page_can_show_has_a_sentence() -> None:
    codes = _raised_codes()
    assert {"undo_expired", "last_admin", "integrity_failed"} <= codes  # the scan finds the raises
    wanted = codes - set(DEFAULT_CODES.values()) - set(NOT_FOR_PAGES)
    for lang in i18n.LANGUAGES:
        missing = sorted(c for c in wanted if f"error.{c}" not in i18n.catalogue(lang))
        assert missing == [], (lang, missing)


def test_every_case_action_the_history_panel_lists_has_a_name() -> None:
    """The review page's history lists the case's ``case.*`` audit entries (a one-case export is
    one of them: its object is the case) by ``history.action.<code>``; without a name the panel
    showed the code itself ("case.export") in either language."""
    from service.audit_actions import ACTIONS

    case_actions = [a for a in ACTIONS if a.startswith("case.")]
    assert "case.export" in case_actions
    for lang in i18n.LANGUAGES:
        missing = [a for a in case_actions if f"history.action.{a}" not in i18n.catalogue(lang)]
        assert missing == [], (lang, missing)
