"""The review page's reject reasons as codes, in both languages: the dialogs send the chosen
reason's code and the note (not the label in the page's language, which the statistics had to
read back by the labels), and a rejected case shows its code's label in the viewer's language,
then the note. The page is rendered by the real router; the API answers are scripted."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://review-reject-reason.test"
LABELS = {
    "en-US": {"duplicate": "Duplicate of another case", "not_violation": "Not a violation"},
    "zh-CN": {"duplicate": "与其他案件重复", "not_violation": "不构成违法"},
}
OTHER = {"en-US": "zh-CN", "zh-CN": "en-US"}


def _case(n: int, state: str = "pending", **decision) -> dict:  # noqa: ANN003
    case_id = f"J1-cam1-wrong_way-{n:08d}-1"
    history = []
    if state == "rejected":
        details = {"from_state": "pending", "reason": decision.get("reason"), "reason_code": decision["reason_code"]}
        history = [{"at": "2026-12-05T02:00:00Z", "actor": "desk1", "action": "case.reject", "details": details}]
    return {
        "id": case_id,
        "rule": "wrong_way",
        "state": state,
        "camera_id": "cam1",
        "start_time": "2026-12-05T01:30:12+00:00",
        "created_at": f"2026-12-05T01:30:{n:02d}+00:00",
        "integrity": {"ok": True},
        "evidence": {},
        "history": history,
        "reason": None,
        "reason_code": None,
        **decision,
    }


@pytest.fixture(params=["en-US", "zh-CN"])
def review(browser, request):
    cases = [
        _case(1),
        _case(2),
        _case(3),
        _case(4, "rejected", reason_code="duplicate", reason="J12-3"),
        # written as "label: note" by the page before the code was stored (code filled in since)
        _case(5, "rejected", reason_code="not_violation", reason=f"{LABELS[request.param]['not_violation']}: gone"),
        # the same by a reviewer whose page was in the other language
        _case(6, "rejected", reason_code="not_violation", reason=f"{LABELS[OTHER[request.param]]['not_violation']}: gone"),
    ]
    sent: list[tuple[str, dict]] = []

    def answer(route) -> bool:  # noqa: ANN001
        path, method = urlsplit(route.request.url).path, route.request.method
        if path == "/api/me":
            harness.fulfil_json(route, {"username": "desk1", "role": "reviewer", "kind": "user"})
        elif path == "/api/cameras":
            harness.fulfil_json(route, [])
        elif path == "/api/cases" and method == "GET":
            harness.fulfil_json(route, {"items": cases, "total": len(cases)})
        elif method == "GET" and path.count("/") == 3 and path.startswith("/api/cases/"):
            harness.fulfil_json(route, next(c for c in cases if c["id"] == path.rsplit("/", 1)[1]))
        elif method == "POST" and (path == "/api/cases/bulk" or path.endswith("/reject")):
            body = json.loads(route.request.post_data or "{}")
            sent.append((path, body))
            if path == "/api/cases/bulk":
                harness.fulfil_json(
                    route,
                    {
                        "action": "reject",
                        "done": len(body["ids"]),
                        "failed": 0,
                        "results": [{"id": i, "ok": True, "state": "rejected"} for i in body["ids"]],
                    },
                )
            else:
                decided = next(c for c in cases if c["id"] == path.split("/")[3])
                harness.fulfil_json(route, {**decided, "state": "rejected", "reason_code": body.get("reason_code")})
        else:
            return False
        return True

    context = browser.new_context(locale=request.param)
    page = context.new_page()
    harness.serve_pages(page, BASE, request.param, answer, undo_window_s=30)
    page.goto(f"{BASE}/review")
    harness.wait_js(page, "!!(CW.review && CW.review.current())", timeout=10_000)
    page.sent, page.locale_labels, page.cases = sent, LABELS[request.param], cases
    yield page
    context.close()


def test_the_reject_dialogs_send_the_code_and_the_note(review) -> None:
    first = review.cases[0]["id"]
    review.keyboard.press("r")
    harness.wait_js(review, "CW.$('reject-dialog').open", timeout=5_000)
    review.select_option("#reject-reason", "duplicate")
    review.fill("#reject-note", " J12-3 ")
    review.keyboard.press("Enter")
    harness.wait_js(review, f"CW.review.queue().length === {len(review.cases) - 1}", timeout=5_000)
    assert review.sent == [(f"/api/cases/{first}/reject", {"reason_code": "duplicate", "reason": "J12-3"})]

    second = review.cases[1]["id"]  # opens by itself
    harness.wait_js(review, f"CW.review.current() && CW.review.current().id === '{second}'", timeout=5_000)
    review.keyboard.press("r")  # a reason with no note: the code alone
    harness.wait_js(review, "CW.$('reject-dialog').open", timeout=5_000)
    review.keyboard.press("Enter")
    harness.wait_js(review, f"CW.review.queue().length === {len(review.cases) - 2}", timeout=5_000)
    assert review.sent[1][1] == {"reason_code": "not_violation", "reason": None}

    third = review.cases[2]["id"]
    review.check(f"#queue-list .queue-item[data-case='{third}'] .pick")
    review.click("#bulk-reject")
    harness.wait_js(review, "CW.$('bulk-reject-dialog').open", timeout=5_000)
    review.select_option("#bulk-reject-reason", "duplicate")
    review.click("#bulk-reject-confirm")
    for _ in range(100):
        if len(review.sent) == 3:
            break
        review.wait_for_timeout(50)
    assert review.sent[2] == (
        "/api/cases/bulk",
        {"ids": [third], "action": "reject", "reason": None, "reason_code": "duplicate"},
    )


def test_a_rejected_case_shows_its_label_in_the_viewers_language_then_the_note(review) -> None:
    labels = review.locale_labels
    for case, shown in (
        (review.cases[3], f"{labels['duplicate']}: J12-3"),
        (review.cases[4], f"{labels['not_violation']}: gone"),
        (review.cases[5], f"{labels['not_violation']}: gone"),
    ):  # the label not twice, nor in the other language before it
        review.evaluate(f"CW.review.openId('{case['id']}')")
        harness.wait_js(review, f"CW.review.current() && CW.review.current().id === '{case['id']}'", timeout=10_000)
        harness.wait_js(review, "!CW.$('c-reason-panel').hidden", timeout=5_000)
        assert review.text_content("#c-reason") == shown
        assert review.text_content("#c-history .h-reason") == " — " + shown
