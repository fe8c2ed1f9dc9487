"""The audit log on the admin page (issue 8, the operations engineer), in a real browser: filter by
action, read the action in words and the time in the installation's zone, page forward to older
entries with the true total, and export the same filter as CSV."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import harness

sys.path.insert(0, str(Path(__file__).parents[1]))
from service.helpers import SCENE_YAML  # noqa: E402

pytestmark = pytest.mark.browser

DRONES = 57  # token.create entries besides the lobby screen's: 58 in all, two pages of 50


@pytest.fixture(scope="module")
def audit_service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("auditpage")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE_YAML, encoding="utf-8")
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, None)  # users, the lobby screen's token, the camera
        with svc.client("admin") as admin:
            for i in range(DRONES):
                admin.post("/api/tokens", json={"name": f"无人机 {i:02d}", "role": "operator"}).raise_for_status()
        with svc.client("reviewer"):
            pass  # a sign-in: another action the filter must leave out
        yield svc
    finally:
        svc.stop()


def _login(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


ROWS = "Array.from(document.querySelectorAll('#audit-body tr[data-id]'))"


def _rows(page) -> list[dict]:
    return page.evaluate(
        f"""{ROWS}.map(function (tr) {{ return {{id: +tr.getAttribute('data-id'), action: tr.getAttribute('data-action'),
            name: tr.querySelector('.a-name').textContent, when: tr.querySelector('time').textContent}}; }})"""
    )


def test_filter_by_action_and_page_forward(browser, audit_service) -> None:
    base = audit_service.base_url
    page = browser.new_page(locale="zh-CN")
    try:
        _login(page, base, "admin")
        page.goto(f"{base}/admin#audit")
        harness.wait_js(page, f"{ROWS}.length > 0")
        assert "Asia/Shanghai" in page.locator("#audit-zone").inner_text()
        assert len({r["action"] for r in _rows(page)}) > 1  # unfiltered: logins, users, camera, tokens

        page.select_option("#af-action", "token.create")
        page.click("#af-apply")
        harness.wait_js(page, f"{ROWS}.length === 50 && {ROWS}.every(function (tr) {{ return tr.getAttribute('data-action') === 'token.create'; }})")
        first = _rows(page)
        assert page.locator("#audit-range").inner_text() == "第 1–50 条，共 58 条"
        assert {r["name"] for r in first} == {"创建 API 令牌"}
        assert all(r["when"].endswith("(UTC+08:00, Asia/Shanghai)") for r in first)
        assert [r["id"] for r in first] == sorted((r["id"] for r in first), reverse=True)  # newest first
        assert page.is_disabled("#audit-prev") and not page.is_disabled("#audit-next")
        export = page.get_attribute("#audit-export", "href")
        assert "action=token.create" in export and "lang=zh-CN" in export

        # a token made while the admin reads does not shift the pages being read
        with audit_service.client("admin") as admin:
            admin.post("/api/tokens", json={"name": "late", "role": "operator"}).raise_for_status()
        page.click("#audit-next")
        harness.wait_js(page, "document.getElementById('audit-range').textContent.indexOf('第 51') === 0")
        second = _rows(page)
        assert page.locator("#audit-range").inner_text() == "第 51–58 条，共 58 条"
        assert len(second) == 8 and max(r["id"] for r in second) < min(r["id"] for r in first)
        assert page.is_disabled("#audit-next") and not page.is_disabled("#audit-prev")

        page.click("#audit-prev")
        harness.wait_js(page, "document.getElementById('audit-range').textContent.indexOf('第 1–') === 0")
        assert [r["id"] for r in _rows(page)] == [r["id"] for r in first]
        page.click("#af-apply")  # filtering again starts from the newest: the late token is counted
        harness.wait_js(page, "document.getElementById('audit-range').textContent === '第 1–50 条，共 59 条'")

        # the export carries the same filter: BOM, local times with the offset, the name in Chinese
        csv = page.request.get(base + page.get_attribute("#audit-export", "href"))
        body = csv.body()
        assert csv.ok and body.startswith(b"\xef\xbb\xbf")
        lines = body.decode("utf-8-sig").splitlines()
        assert len(lines) == 1 + 59 and all(",token.create,创建 API 令牌," in line for line in lines[1:])
        assert "+08:00," in lines[1] and "无人机 00" in lines[2]

        # dates are local days: nothing from tomorrow on, everything from yesterday to tomorrow
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        page.fill("#af-from", (today + timedelta(days=1)).isoformat())
        page.click("#af-apply")
        harness.wait_js(page, "!!document.querySelector('#audit-body tr.empty')")
        page.fill("#af-from", (today - timedelta(days=1)).isoformat())
        page.fill("#af-to", (today + timedelta(days=1)).isoformat())
        page.click("#af-apply")
        harness.wait_js(page, "document.getElementById('audit-range').textContent === '第 1–50 条，共 59 条'")
    finally:
        page.close()


def test_statistics_tab(browser, audit_service) -> None:
    """The review statistics on their tab: a real table with column headers in the page language,
    one row per group with the totals in its foot, and a CSV link asking for the same span and
    grouping. One case is written into the service's database: the figures are the API's
    (tests/service/test_case_stats.py), here it is the page that reads them."""
    from sqlalchemy import create_engine

    from service.models import Case, Job, Upload

    engine = create_engine(f"sqlite:///{audit_service.data_dir / 'civicwatch.sqlite3'}")
    start = datetime(2026, 5, 1, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with engine.begin() as conn:
        up = conn.execute(Upload.__table__.insert().values(
            path="uploads/s.mp4", filename="s.mp4", sha256="7" * 64, size=1, camera_id="bj-overpass",
            created_at=datetime.now(ZoneInfo("UTC")))).inserted_primary_key[0]
        job = conn.execute(Job.__table__.insert().values(upload_id=up, state="done", progress=100.0, attempts=0,
                                                         cancel_requested=False)).inserted_primary_key[0]
        conn.execute(Case.__table__.insert().values(
            id="stats-1", pipeline_id="stats-1", job_id=job, camera_id="bj-overpass", rule="wrong_way", start_s=0.0,
            end_s=2.0, start_time=start, track_ids=[1], confidence=0.9, explanation="", out_dir="jobs/s",
            evidence_dir="jobs/s/stats-1", evidence={}, evidence_hashes={}, data={}, state="rejected",
            reason="不构成违法: 行人已过街", created_at=start, updated_at=start))
    engine.dispose()
    base = audit_service.base_url
    page = browser.new_page(locale="zh-CN")
    try:
        _login(page, base, "admin")
        page.goto(f"{base}/admin#stats")
        harness.wait_js(page, "document.querySelectorAll('#stats-body tr').length > 0")
        heads = page.locator("#stats-table thead th[scope=col]").all_inner_texts()
        assert heads[:3] == ["规则", "案件数", "待审核"] and "批准率" in heads
        row = page.locator("#stats-body tr").first
        assert row.locator("th[scope=row]").inner_text() == "逆向行驶"
        assert "不构成违法 1" in row.inner_text()
        assert page.locator("#stats-foot th[scope=row]").inner_text() == "合计"

        page.fill("#sf-from", "2026-05-01")
        page.fill("#sf-to", "2026-05-01")
        page.select_option("#sf-group", "day")
        page.click("#sf-apply")
        harness.wait_js(page, "document.querySelector('#stats-body th') && "
                              "document.querySelector('#stats-body th').textContent === '2026-05-01'")
        href = page.get_attribute("#stats-csv", "href")
        assert "date_from=2026-05-01" in href and "group=day" in href and href.endswith("format=csv")
        csv = page.request.get(base + href)
        assert csv.ok and csv.body().startswith(b"\xef\xbb\xbf")
        lines = csv.body().decode("utf-8-sig").splitlines()
        assert lines[0].startswith("day,cases,pending,approved,rejected") and lines[1].startswith("2026-05-01,1,0,0,1")

        page.fill("#sf-from", "2026-05-02")
        page.fill("#sf-to", "2026-05-02")
        page.click("#sf-apply")
        harness.wait_js(page, "!!document.querySelector('#stats-body tr.empty')")
        assert page.locator("#stats-body tr.empty").inner_text() == "该时段内没有案件。"
    finally:
        page.close()
