"""How every page writes a time (``CW.formatTime``, common.js): in the given zone, as the evidence
sheet and the exports write it in both languages (``2024-05-02 00:00:30``, not the English locale's
``05/02/2024, 00:00:30``), and with the zone also its UTC offset, so the hour a DST change repeats
reads as two different times, as it does on the sheet."""

from __future__ import annotations

from datetime import datetime

import pytest

import harness
from detector.evidence.sheet import local_time
from detector.scene import load_scene_text

pytestmark = pytest.mark.browser

BASE = "http://times.test"
SCENE = """\
camera: via-roma
start_time: 2024-10-27T02:59:59+02:00
timezone: Europe/Rome
frame_size: [640, 360]
zones:
  - {name: lane, kind: lane, polygon: [[0, 0], [640, 0], [640, 360], [0, 360]], direction: [[0, 0], [0, 100]]}
"""


@pytest.fixture(scope="module", params=["en-US", "zh-CN"])
def page(browser, request):
    context = browser.new_context(locale=request.param, timezone_id="America/Los_Angeles")
    p = context.new_page()
    harness.serve_pages(p, BASE, request.param)
    p.goto(f"{BASE}/login")
    harness.wait_js(p, "!!(window.CW && CW.formatTime)", timeout=10_000)
    assert p.evaluate("CW.lang") == request.param.replace("en-US", "en")
    yield p
    context.close()


def _fmt(page, when: str, zone: str, with_zone: bool = False) -> str:
    return page.evaluate("([w, z, f]) => CW.formatTime(w, z, f)", [when, zone, with_zone])


def test_one_date_format_in_every_language(page) -> None:
    assert _fmt(page, "2024-05-01T16:00:30Z", "Asia/Shanghai") == "2024-05-02 00:00:30"
    assert _fmt(page, "2024-05-01T12:00:00Z", "America/New_York", True) == \
        "2024-05-01 08:00:00 (UTC-04:00, America/New_York)"
    assert _fmt(page, "2024-05-01T12:00:00Z", "Asia/Kolkata", True) == "2024-05-01 17:30:00 (UTC+05:30, Asia/Kolkata)"


def test_the_repeated_dst_hour_reads_as_two_times(page) -> None:
    first = _fmt(page, "2024-10-27T00:30:00Z", "Europe/Rome", True)
    second = _fmt(page, "2024-10-27T01:30:00Z", "Europe/Rome", True)
    assert first == "2024-10-27 02:30:00 (UTC+02:00, Europe/Rome)"
    assert second == "2024-10-27 02:30:00 (UTC+01:00, Europe/Rome)"


def test_the_page_writes_the_time_the_sheet_writes(page) -> None:
    scene = load_scene_text(SCENE, "via-roma")
    for t in (0.5, 1.5):  # either side of 03:00 CEST -> 02:00 CET
        sheet = local_time(scene, t)[1]  # "2024-10-27 02:00:00 CET (UTC+01:00, Europe/Rome), video 1.50 s"
        when = (scene.start_time.timestamp() + t)
        shown = _fmt(page, datetime.fromtimestamp(when).astimezone().isoformat(), "Europe/Rome", True)
        day_time, zone_part = shown.split(" (")
        assert sheet.startswith(day_time + " ") and f"({zone_part}" in sheet, (shown, sheet)


@pytest.mark.parametrize(("typed", "zone", "expected"), [
    ("2024-05-01T08:00", "Asia/Shanghai", "2024-05-01T08:00:00+08:00"),
    # the morning Rome's clocks go forward at 02:00 (01:00 UTC): before the jump it is still +01:00
    ("2024-03-31T01:30", "Europe/Rome", "2024-03-31T01:30:00+01:00"),
    ("2024-03-31T03:30", "Europe/Rome", "2024-03-31T03:30:00+02:00"),
    # and back at 03:00 (01:00 UTC): 01:30 is still summer time, 02:30 twice (the first taken)
    ("2024-10-27T01:30", "Europe/Rome", "2024-10-27T01:30:00+02:00"),
    ("2024-10-27T02:30", "Europe/Rome", "2024-10-27T02:30:00+02:00"),
    ("2024-10-27T03:30", "Europe/Rome", "2024-10-27T03:30:00+01:00"),
    # New York goes forward at 02:00 (07:00 UTC): 03:30 to 06:59 are already -04:00
    ("2024-03-10T03:30", "America/New_York", "2024-03-10T03:30:00-04:00"),
    ("2024-03-10T06:30:15", "America/New_York", "2024-03-10T06:30:15-04:00"),
    ("2024-03-10T01:30", "America/New_York", "2024-03-10T01:30:00-05:00"),
])
def test_a_typed_recording_time_gets_the_cameras_offset_at_that_moment(page, typed, zone, expected) -> None:
    """The upload form's "recording started at" is read in the camera's zone (upload.js)."""
    assert page.evaluate("([t, z]) => CW.zonedIso(t, z)", [typed, zone]) == expected
