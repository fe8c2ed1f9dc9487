"""Zones and places by their names, in the page's language: a Chinese review page, job page and
street screen for a scene that names its zone and place in Chinese and English show the Chinese
names, object classes, clock source and integrity problems in Chinese, and never the zone's key,
an English class code or the API's English integrity sentences; the English pages show the
English names.

Cases are written by the real evidence writer from a real CCPD photo of a parked car (filmed as a
still H.264 video), with the wall clock from the upload's entered start time, and ingested as the
worker would; the published media are made by the real redaction.
"""

from __future__ import annotations

import re

import pytest

import harness
from plate_photos import CCPD, photo_row, still_video

pytestmark = pytest.mark.browser

ZONE_KEY = "zone-k1"
SCENE = f"""\
camera: hefei-cam-07
place: {{zh-CN: 合肥市望江路路边, en: "Wangjiang Rd kerbside, Hefei"}}
start_time: 2024-05-01T08:00:00+08:00
frame_size: [720, 1160]
zones:
  - name: {ZONE_KEY}
    label: {{zh-CN: 路边禁停区, en: kerbside no-parking}}
    kind: no_parking
    max_stop_s: 1
    polygon: [[0, 0], [720, 0], [720, 1160], [0, 1160]]
"""
PLACE_ZH, PLACE_EN = "合肥市望江路路边", "Wangjiang Rd kerbside, Hefei"
ZONE_ZH, ZONE_EN = "路边禁停区", "kerbside no-parking"
# What a Chinese page must not show: the zone's key, English class codes, the API's English
# integrity sentences (service.integrity) and the English names.
ENGLISH = re.compile(r"\b(car|person|pedestrian|truck|bus|bicycle|motorcycle|rider)\b|differs|file missing|"
                     r"not listed|recorded at ingest|manifest\.json:|kerbside|Wangjiang", re.IGNORECASE)


def _make_run(video, row: dict, out, scene_path) -> list[dict]:
    from detector.evidence import SignalLog, TrackLog, write_cases
    from detector.evidence.manifest import write_manifest
    from detector.scene import load_scene_text
    from detector.types import TrackObservation, ViolationEvent

    scene = load_scene_text(SCENE)
    zone = scene.zone(ZONE_KEY)  # sentences name it as the rules do (detector.rules: zone.shown)
    x1, y1, x2, y2 = (float(row[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
    car = (max(0.0, x1 - 150), max(0.0, y1 - 320), min(720.0, x2 + 150), min(1160.0, y2 + 80))
    tracks = TrackLog()
    for i in range(20):
        t = round(i * 0.1, 3)
        tracks.add(t, [TrackObservation(t, 5, "car", car, 0.9), TrackObservation(t, 8, "person", (20, 900, 80, 1100), 0.8)])
    parked = ViolationEvent(rule="illegal_parking", zone=ZONE_KEY, start_s=0.2, end_s=1.6, key_t=1.0, object_class="car",
                            track_ids=[5], confidence=0.9, explanation=f"car #5 stood in {zone.shown('en')} for 1.4 s",
                            explanation_zh=f"汽车 #5 在禁停区 {zone.shown('zh-CN')} 停留 1.4 秒", key_box=car)
    walker = ViolationEvent(rule="litter", zone=ZONE_KEY, start_s=0.5, end_s=0.8, key_t=0.5, object_class="person",
                            track_ids=[8], confidence=0.8, explanation=f"an object was left in {zone.shown('en')} by person #8",
                            explanation_zh=f"行人 #8 于 0.5 秒在 {zone.shown('zh-CN')} 遗留物品")
    # the wall clock from the start time the operator entered with the upload
    cases = write_cases(source=video, scene=scene, events=[parked, walker], track_log=tracks,
                        signal_log=SignalLog(), out_dir=out, pre=0.2, post=0.2, clock_source="upload")
    write_manifest(out, source=video, scene_path=scene_path, model_path=None, software_version="test")
    return cases


@pytest.fixture(scope="module")
def named_service(tmp_path_factory):
    row = photo_row()
    tmp = tmp_path_factory.mktemp("bilingual")
    video = tmp / "kerb.mp4"
    still_video(CCPD / row["file"], video)
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE, encoding="utf-8")
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, harness.reference_frame(video, tmp / "reference.png"))
        job_id = harness.upload(svc, video, started_at="2024-05-01T08:00:00+08:00")
        with harness.finished_job(svc, job_id, lambda out: _make_run(video, row, out, scene_path)) as done:
            rows = {r.rule: r.id for r in done.rows}
            done.job.seen = {"frames_decoded": 30, "duration_s": 2.0, "tracks": {"car": 1, "person": 1},
                             "tracks_per_zone": {ZONE_KEY: 2}}
        cases, run_dir = done.written, done.run_dir
        # the walker's snapshot is altered and its crop removed: its integrity problems are shown
        walker = next(c for c in cases if c["rule"] == "litter")
        snapshot = run_dir / walker["evidence"]["snapshot"]
        snapshot.write_bytes(snapshot.read_bytes() + b"edited")
        (run_dir / walker["evidence"]["crop"]).unlink()
        with svc.client("reviewer") as api:
            assert api.post(f"/api/cases/{rows['illegal_parking']}/approve").status_code == 200
            published = api.post(f"/api/cases/{rows['illegal_parking']}/publish")
            assert published.status_code == 200, published.text
            number = api.get(f"/api/cases/{rows['illegal_parking']}").json()["public_number"]
        svc.extra.update(parked=rows["illegal_parking"], walker=rows["litter"], number=number, job=job_id)
        yield svc
    finally:
        svc.stop()


def _login(browser, svc, role: str, lang: str):  # noqa: ANN001
    ctx = browser.new_context(locale=lang, viewport={"width": 1440, "height": 1000},
                              extra_http_headers={"Accept-Language": lang})
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/(upload|review)$"))
    return ctx, page


def _visible_text(page) -> str:  # noqa: ANN001
    """What the page shows: the body's rendered text and the zone map's SVG labels."""
    return page.evaluate("document.body.innerText + '\\n' + Array.from(document.querySelectorAll('svg text'))"
                         ".map(function (t) { return t.textContent; }).join('\\n')")


def _open_case(page, case_id: str, state: str) -> None:  # noqa: ANN001
    page.select_option("#f-state", state)
    page.wait_for_selector(f".queue-item[data-case='{case_id}']")
    if page.get_attribute("#case", "data-case") != case_id:
        page.click(f".queue-item[data-case='{case_id}']")
    page.wait_for_selector(f"#case[data-case='{case_id}']")
    harness.wait_js(page, "document.querySelectorAll('#c-map svg text').length > 0")  # the map is drawn


def test_chinese_review_page_names_zone_place_class_clock_and_problems(browser, named_service) -> None:
    svc = named_service
    ctx, page = _login(browser, svc, "reviewer", "zh-CN")
    try:
        _open_case(page, svc.extra["parked"], "published")
        assert page.text_content("#c-zone") == ZONE_ZH
        assert page.text_content("#c-place") == PLACE_ZH
        assert page.text_content("#c-object") == "汽车"
        assert page.text_content("#c-clock") == "时间来源：上传时填写的录制开始时间"
        assert page.get_attribute("#c-clock", "data-source") == "upload"
        assert page.text_content("#c-map svg text") == ZONE_ZH
        assert ZONE_ZH in page.text_content(f".queue-item[data-case='{svc.extra['parked']}'] .qi-sub")
        shown = _visible_text(page)
        assert ZONE_KEY not in shown
        assert not ENGLISH.search(shown), ENGLISH.search(shown)

        _open_case(page, svc.extra["walker"], "pending")
        page.wait_for_selector("#c-problems-panel:not([hidden])")
        assert page.text_content("#c-integrity") == "证据被改动"
        problems = page.eval_on_selector_all("#c-problems li", "ls => ls.map(function (l) { return l.textContent; })")
        assert any(p.endswith("snapshot.jpg：内容与清单不符（SHA-256 不同）") for p in problems), problems
        assert any(p.endswith("crop.jpg：文件缺失") for p in problems), problems
        assert page.text_content("#c-object") == "行人" and page.text_content("#c-zone") == ZONE_ZH
        shown = _visible_text(page)
        assert ZONE_KEY not in shown
        assert not ENGLISH.search(shown), ENGLISH.search(shown)
    finally:
        ctx.close()

    # the same case on the English page: the English names and words
    ctx, page = _login(browser, svc, "reviewer", "en")
    try:
        _open_case(page, svc.extra["parked"], "published")
        assert page.text_content("#c-zone") == ZONE_EN and page.text_content("#c-place") == PLACE_EN
        assert page.text_content("#c-object") == "Car"
        assert page.text_content("#c-clock") == "Time from the recording start entered with the upload"
        assert ZONE_KEY not in _visible_text(page)
    finally:
        ctx.close()


def test_chinese_job_page_counts_zones_by_name(browser, named_service) -> None:
    svc = named_service
    ctx, page = _login(browser, svc, "operator", "zh-CN")
    try:
        page.goto(f"{svc.base_url}/jobs")
        page.wait_for_selector(f"tr[data-job-details='{svc.extra['job']}'] .job-seen")
        seen = page.text_content(f"tr[data-job-details='{svc.extra['job']}'] .job-seen")
        assert f"{ZONE_ZH} 2" in seen and "汽车 1" in seen and "行人 1" in seen, seen
        assert ZONE_KEY not in seen and not ENGLISH.search(seen), seen
    finally:
        ctx.close()


@pytest.mark.parametrize(("lang", "place"), [("zh-CN", f"{PLACE_ZH} · {ZONE_ZH}"), ("en", f"{PLACE_EN} · {ZONE_EN}")])
def test_street_screen_names_place_and_zone_never_the_key(browser, named_service, lang, place) -> None:
    svc = named_service
    ctx = browser.new_context(locale=lang, viewport={"width": 1600, "height": 900},
                              extra_http_headers={"Accept-Language": lang})
    ctx.add_cookies([{"name": "cw_display", "value": svc.display_token, "url": svc.base_url}])
    try:
        page = ctx.new_page()
        page.goto(f"{svc.base_url}/display/{harness.SCREEN}")
        page.wait_for_selector(f"#display[data-showing='{svc.extra['number']}']", timeout=15_000)
        assert page.text_content("#d-place") == place
        shown = page.evaluate("document.getElementById('display').innerText")
        for internal in (ZONE_KEY, svc.extra["parked"], "#5", "track"):
            assert internal not in shown, internal
        if lang == "zh-CN":
            assert not ENGLISH.search(shown), ENGLISH.search(shown)
    finally:
        ctx.close()
