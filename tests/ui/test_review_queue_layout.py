"""The review queue's rows keep their shape in both languages: each row's rule colour dot stays a
dot, and the rule's name stays inside its row.

In English the longer rule names ("Pedestrian crossing on red") squeezed the dot, a flex item, to
a sliver or to nothing, so the colour a reviewer sorts the queue by by eye was missing on exactly
those rows, and the name ran under the state badge. The page is rendered by the real router; the
API answers are scripted."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://review-queue-layout.test"
RULES = ("illegal_parking", "red_light_pedestrian", "wrong_way", "litter")


def _case(n: int, rule: str) -> dict:
    return {
        "id": f"J1-demo-crossing-01-{rule}-{n:08d}-1",
        "rule": rule,
        "state": "pending",
        "camera_id": "demo-crossing-01",
        "start_time": "2024-05-01T00:00:12+00:00",
        "created_at": f"2024-05-01T00:01:{n:02d}+00:00",
        "integrity": {"ok": True},
        "evidence": {},
        "history": [],
        "reason": None,
        "reason_code": None,
    }


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", [1440, 1024])
def test_every_row_keeps_its_rule_dot_and_its_name_inside_the_row(browser, locale, width) -> None:
    cases = [_case(n, rule) for n, rule in enumerate(RULES, start=1)]

    def answer(route) -> bool:  # noqa: ANN001
        path = urlsplit(route.request.url).path
        if path == "/api/me":
            harness.fulfil_json(route, {"username": "desk1", "role": "reviewer", "kind": "user"})
        elif path == "/api/cameras":
            harness.fulfil_json(route, [])
        elif path == "/api/cases":
            harness.fulfil_json(route, {"items": cases, "total": len(cases)})
        elif path.startswith("/api/cases/") and any(c["id"] == path.rsplit("/", 1)[1] for c in cases):
            harness.fulfil_json(route, next(c for c in cases if c["id"] == path.rsplit("/", 1)[1]))
        else:
            return False
        return True

    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        harness.serve_pages(page, BASE, locale, answer, undo_window_s=30)
        page.goto(f"{BASE}/review")
        harness.wait_js(page, f"document.querySelectorAll('#queue-list .queue-item').length === {len(cases)}")
        rows = page.evaluate(
            """() => [...document.querySelectorAll('#queue-list .queue-item')].map(item => {
                 const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
                 const name = item.querySelector('.qi-rule');
                 return {rule: name.textContent, dot: box(item.querySelector('.rule-dot')),
                         name: box(name), main: box(item.querySelector('.qi-main')),
                         colour: getComputedStyle(item.querySelector('.rule-dot')).backgroundColor};
               })"""
        )
    finally:
        context.close()
    assert len(rows) == len(RULES)
    assert len({r["colour"] for r in rows}) == len(RULES), rows  # one colour per rule
    for row in rows:
        _, _, dot_w, dot_h = row["dot"]
        assert dot_w == dot_h == 8, f"{row['rule']!r}: the dot is {dot_w} x {dot_h} px"
        name_left, _, name_w, _ = row["name"]
        main_left, _, main_w, _ = row["main"]
        assert name_left + name_w <= main_left + main_w + 0.5, f"{row['rule']!r} runs out of its row"
