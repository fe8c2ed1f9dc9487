"""A litter case's object is named in Chinese wherever Chinese is shown: the rule's Chinese
explanation, the evidence sheet's subject and the pages' object label say 瓶子, not "bottle"
(a no-litter zone judges any object a COCO detector names)."""

from __future__ import annotations

import re

import pytest

from detector.evidence.sheet import sheet_caption
from detector.models.metadata import COCO_NAMES
from detector.rules._common import PERSON_CLASSES, VEHICLE_CLASSES
from detector.scene import load_scene_text
from service.web import i18n

from .test_litter import dropper, make_rule, run, static_object

LATIN = re.compile(r"[A-Za-z]")
SCENE = """\
camera: square-cam
frame_size: [640, 480]
zones:
  - {name: square, kind: no_litter, polygon: [[0, 200], [640, 200], [640, 480], [0, 480]]}
"""


def test_the_chinese_explanation_names_the_object_in_chinese() -> None:
    [ev] = run(make_rule(), dropper(7), t_end=40.0, static=static_object(12.3, 13.0, 30.0, label="bottle"))
    assert "a bottle" in ev.explanation
    assert "物品（瓶子）" in ev.explanation_zh and not LATIN.search(ev.explanation_zh.replace("square", "")), ev.explanation_zh
    cap = sheet_caption(ev, load_scene_text(SCENE, "square-cam"), [])
    assert cap.subject_zh == "瓶子 #7" and cap.subject_en == "bottle #7"


@pytest.mark.parametrize("name", [n for n in COCO_NAMES if n not in PERSON_CLASSES | VEHICLE_CLASSES])
def test_every_object_a_detector_names_has_a_chinese_page_label(name: str) -> None:
    zh, en = i18n.translate("zh-CN", f"object.{name}"), i18n.translate("en", f"object.{name}")
    assert not LATIN.search(zh) and zh != f"object.{name}", zh
    assert en.lower() == name and en != f"object.{name}"
