"""YAML reads an unquoted yes/no/on/off/true/false as a flag. Where a scene field holds no flag the
refusal says what the field wants instead (before, every such field was said to want "a number":
``slicing: off`` and ``place: yes`` too) and names the field by its whole path."""

from __future__ import annotations

import pytest

from detector.scene import SceneError, load_scene_text

BASE = """\
camera: cam
frame_size: [960, 540]
zones:
  - {name: a, kind: lane, polygon: [[150, 300], [560, 300], [560, 540]], direction: [[350, 520], [350, 320]]}
signals:
  - {name: s, roi: [5, 5, 10, 10]}
"""
TEXT = "a text (in quotes: YAML reads an unquoted yes/no/on/off as true/false)"


@pytest.mark.parametrize(("old", "new", "field", "expected"), [
    ("camera: cam", "camera: cam\nslicing: off", "slicing", "a mapping ({enabled: false} to turn it off)"),
    ("camera: cam", "camera: cam\nplace: yes", "place", TEXT),
    ("camera: cam", "camera: on", "camera", TEXT),
    ("name: a,", "name: no,", "zones[0].name", TEXT),
    ("name: a,", "name: a, label: off,", "zones[0].label", TEXT + " or a mapping"),
    ("name: a,", "name: a, classes: [car, no],", "zones[0].classes", TEXT),
    ("name: a,", "name: a, trigger: on,", "zones[0].trigger", "one of point, footprint"),
    ("name: a,", "name: a, window_s: yes,", "zones[0].window_s", "a number"),
    ("[560, 540]]", "[560, yes]]", "zones[0].polygon", "a number"),
    ("[350, 320]]", "yes]", "zones[0].direction", "a list"),
    ("roi: [5, 5, 10, 10]", "timeline: [[0, red], [yes, green]]", "signals[0].timeline", "a number"),
    ("camera: cam", "camera: cam\nkind: on", "kind", "one of fixed, drone"),
    ("[960, 540]", "[true, 540]", "frame_size", "a number"),
])
def test_a_flag_where_none_belongs_is_refused_saying_what_belongs_there(old, new, field, expected):
    with pytest.raises(SceneError) as err:
        load_scene_text(BASE.replace(old, new, 1), "s.yaml")
    msg = f"true/false (or yes/no, on/off) where {expected} is expected"
    assert str(err.value) == f"s.yaml: {field}: {msg}"
    assert [(e["field"], e["msg"]) for e in err.value.errors] == [(field, msg)]


def test_fields_that_are_flags_still_take_them():
    assert load_scene_text(BASE + "slicing: {enabled: no}\n", "s.yaml").slicing.enabled is False
