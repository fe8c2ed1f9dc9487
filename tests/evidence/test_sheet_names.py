"""The evidence sheet names the place and the zone as the scene names them for people: the
bilingual place on every caption, the zone's tag by its label (its key only where it has none).
Read back with the real OCR model from a composed sheet."""

from __future__ import annotations

import numpy as np
import pytest

from detector.evidence.sheet import layout_sheet, sheet_caption, sheet_moments, zone_overlay
from detector.evidence.sheet_layout import _panel_lines, zone_tag
from detector.evidence.text import TextStyle
from detector.scene import load_scene_text
from detector.types import ViolationEvent

SCENE_TEXT = """
camera: renmin-rd
place: {place}
frame_size: [640, 480]
zones:
  - {{name: bus-stop, kind: no_parking, max_stop_s: 60, polygon: [[0, 100], [640, 100], [640, 300], [0, 300]]{label}}}
"""
NAMED = load_scene_text(SCENE_TEXT.format(place="{zh-CN: 人民路口, en: Renmin Rd junction}",
                                          label=", label: {zh-CN: 公交站台, en: bus stop}"))
PLAIN = load_scene_text(SCENE_TEXT.format(place="测试路口 Test junction", label=""))


def parked() -> ViolationEvent:
    return ViolationEvent(rule="illegal_parking", zone="bus-stop", start_s=10.0, end_s=80.0, key_t=70.0,
                          object_class="car", track_ids=[4], confidence=0.9, explanation="parked 60 s",
                          key_box=(100.0, 150.0, 200.0, 250.0), details={"max_stop_s": 60.0})


@pytest.fixture(scope="module")
def styles():
    return TextStyle.make(16), TextStyle.make(16, cjk_font=False)


def test_captions_name_the_place_in_both_languages(styles):
    cjk, latin = styles
    ev = parked()
    moments = sheet_moments(ev, NAMED, 0.0, 90.0)
    cap = sheet_caption(ev, NAMED, moments)
    assert (cap.place, cap.place_en) == ("人民路口", "Renmin Rd junction")
    lines = [text for text, *_ in _panel_lines(cjk, cap, 1, "违法时", "offence", moments[1].t)]
    assert any("地点 Place: 人民路口 Renmin Rd junction" in line for line in lines), lines
    latin_lines = [text for text, *_ in _panel_lines(latin, cap, 1, "违法时", "offence", moments[1].t)]
    assert any("Place: Renmin Rd junction" in line for line in latin_lines), latin_lines  # no Chinese to draw
    # a scene with one place text shows it once, as before
    plain = sheet_caption(ev, PLAIN, moments)
    lines = [text for text, *_ in _panel_lines(cjk, plain, 1, "违法时", "offence", moments[1].t)]
    assert any("地点 Place: 测试路口 Test junction ·" in line for line in lines), lines


def test_zone_tag_uses_the_label_not_the_key(styles):
    cjk, latin = styles
    ev = parked()
    named = zone_overlay(NAMED, ev, (480, 640, 3))
    assert zone_tag(cjk, named) == "公交站台 bus stop: 禁止停车区域 no-parking zone"
    assert zone_tag(latin, named) == "bus stop: no-parking zone"
    assert zone_tag(cjk, zone_overlay(PLAIN, ev, (480, 640, 3))) == "bus-stop: 禁止停车区域 no-parking zone"


def test_composed_sheet_shows_the_names(styles):
    from rapidocr import RapidOCR  # the OCR the other sheet tests read captions with

    ev = parked()
    moments = sheet_moments(ev, NAMED, 0.0, 90.0)
    rng = np.random.default_rng(1)
    stills = [(m, np.full((480, 640, 3), 40, np.uint8) + rng.integers(0, 20, (480, 640, 3), dtype=np.uint8))
              for m in moments]
    composed = layout_sheet(stills, stills[1][1][150:250, 100:200], sheet_caption(ev, NAMED, moments),
                            [[(100, 150, 200, 250)]] * 3, zone=zone_overlay(NAMED, ev, (480, 640, 3)))
    assert composed.chinese
    text = " ".join(RapidOCR()(composed.image).txts or ())
    assert "人民路口" in text and "公交站台" in text, text
    assert "bus-stop" not in text, text
