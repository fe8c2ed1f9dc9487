"""A key given twice in one mapping of a scene file (a second ``zones:`` block pasted under the first,
a zone's ``max_stop_s`` twice) is refused naming the key and both lines: plain YAML keeps the last
one, so earlier versions dropped the first zones without a word. YAML merge keys still override."""

from __future__ import annotations

import pytest

from detector.scene import SceneError, load_scene_text

ZONES = """\
camera: cam
frame_size: [960, 540]
zones:
  - {name: kerb, kind: no_parking, polygon: [[0, 0], [100, 0], [100, 100]]}
zones:
  - {name: box, kind: no_parking, polygon: [[200, 0], [300, 0], [300, 100]]}
"""


def test_a_second_zones_block_is_refused_naming_the_key_and_both_lines():
    with pytest.raises(SceneError) as err:
        load_scene_text(ZONES, "s.yaml")
    assert str(err.value).startswith("s.yaml: zones: given twice (lines 3 and 5); YAML keeps only the last one")
    assert [(e["type"], e["line"]) for e in err.value.errors] == [("duplicate_key", 5)]


def test_a_field_given_twice_in_a_zone_is_refused():
    text = ZONES.replace("zones:\n  - {name: box", "  - {name: box").replace("[300, 100]]}", "[300, 100]], max_stop_s: 5,\n     max_stop_s: 50}")
    with pytest.raises(SceneError, match=r"s\.yaml: max_stop_s: given twice \(lines 5 and 6\)"):
        load_scene_text(text, "s.yaml")


def test_merge_keys_and_one_of_each_still_load():
    one_block = ZONES.replace("zones:\n  - {name: box", "  - {name: box")
    assert [z.name for z in load_scene_text(one_block, "s.yaml").zones] == ["kerb", "box"]
    merged = one_block.replace(
        "  - {name: kerb, kind: no_parking,", "  - &kerb {name: kerb, kind: no_parking, max_stop_s: 30,").replace(
        "  - {name: box, kind: no_parking,", "  - {<<: *kerb, name: box,")
    kerb, box = load_scene_text(merged, "s.yaml").zones
    assert (box.name, box.max_stop_s, box.polygon[0]) == ("box", 30.0, (200.0, 0.0))
