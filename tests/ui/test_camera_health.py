"""The cameras page's health line of a live camera, in Chromium, in Chinese: online with its last
segment while the recorder's heartbeat says connected; offline, "down since" and the gap count once
the stream dropped. The state is written the way a recorder writes it (service.live.segments:
heartbeat, segment and gap registration), into a real service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import harness
import pytest

from detector.media.recorder import Gap, Segment
from service.live import segments as live
from service.models import utcnow

pytestmark = pytest.mark.browser

SCENE = Path(__file__).resolve().parents[2] / "benchmarks" / "dev-set" / "beijing-overpass-drill.scene.yaml"


def _line(page, base: str, cam: str) -> tuple[str, str]:
    page.goto(f"{base}/cameras")
    line = page.locator(f'a.camera-card[data-camera="{cam}"] .camera-health')
    line.wait_for()
    return line.get_attribute("data-health"), line.inner_text()


def test_health_line_online_then_offline_in_chinese(browser, tmp_path) -> None:
    svc = harness.start_service(tmp_path / "data", runner="none")
    try:
        harness.seed(svc, SCENE, None)
        cam, app = svc.camera_id, svc.server.config.app
        factory, settings = app.state.session_factory, app.state.settings
        with svc.client("admin") as admin:
            r = admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://127.0.0.1:8554/cam"})
            assert r.status_code == 200, r.text
        start = utcnow() - timedelta(seconds=70)
        folder = live.segments_dir(settings, cam)
        folder.mkdir(parents=True)
        segment = Segment(folder / "seg-1.mp4", start, start + timedelta(seconds=60), 60.0, 1, 1, 1800, 10_000_000,
                          "length")
        live.register_segment(factory, settings, cam, segment, "run1")
        live.heartbeat(factory, cam, True, utcnow(), None, "rec-host")

        page = browser.new_page(locale="zh-CN")
        page.goto(f"{svc.base_url}/login")
        page.fill("#username", "operator")
        page.fill("#password", harness.PASSWORDS["operator"])
        page.click("#login-submit")
        page.wait_for_url(lambda url: "/login" not in url)
        state, text = _line(page, svc.base_url, cam)
        assert state == "online" and text.startswith("在线"), text
        assert "最近片段" in text and "中断 0 次" in text and "落后实时：录制" in text, text

        # the stream drops: the recorder's heartbeat says so and the gap is open
        live.register_gap(factory, cam, Gap(segment.end, None, "the stream ended"))
        live.heartbeat(factory, cam, False, segment.end, "the stream ended", "rec-host")
        state, text = _line(page, svc.base_url, cam)
        assert state == "offline" and text.startswith("离线"), text
        assert "最近片段" in text and "起中断" in text, text
        # closed again: one gap of 5 s counted
        live.register_gap(factory, cam, Gap(segment.end, segment.end + timedelta(seconds=5), "the stream ended"))
        live.heartbeat(factory, cam, True, utcnow(), None, "rec-host")
        state, text = _line(page, svc.base_url, cam)
        assert state == "online" and "中断 1 次（共 5 秒）" in text and "起中断" not in text, text
        page.close()
    finally:
        svc.stop()

