"""What a new user reads when a scene file is wrong or half-used: the field named, and what to write.

README ("Scene files", "What is checked"): every problem names its field. A zone's ``kind`` missing
or misspelt named only the zone (``zones[0]: Unable to extract tag using discriminator 'kind'``);
and a fixed camera's scene naming a drone's ``reference_image`` or ``mosaic`` was analysed as if
the field were not there, without a word.
"""

from __future__ import annotations

import numpy as np
import pytest

from detector.scene import SceneError, load_scene_text
from tests.blind_detector import NoBoxes

ZONE = "polygon: [[0, 0], [300, 0], [300, 200]], direction: [[10, 10], [10, 100]]"


def scene_text(zone_fields: str, extra: str = "") -> str:
    return f"camera: x\nframe_size: [320, 240]\n{extra}zones:\n  - {{name: a, {zone_fields}}}\n"


@pytest.mark.parametrize(
    "kind, said",
    [
        (None, "zones[0].kind: missing: give the zone's kind, one of crosswalk, lane, no_parking, no_litter"),
        ("lanes", "zones[0].kind: unknown kind 'lanes': use one of crosswalk, lane, no_parking, no_litter"),
    ],
)
def test_a_zone_kind_missing_or_unknown_names_the_kind_field_and_the_kinds(kind, said):
    text = scene_text(ZONE if kind is None else f"kind: {kind}, {ZONE}")
    with pytest.raises(SceneError) as err:
        load_scene_text(text, "s.yaml")
    assert str(err.value) == f"s.yaml: {said}"
    (entry,) = err.value.errors
    assert entry["field"] == "zones[0].kind" and entry["loc"] == ["zones", 0, "kind"]
    # the service's editor translates by type: kept as pydantic names it
    assert entry["type"] == ("union_tag_not_found" if kind is None else "union_tag_invalid")


def test_a_drone_field_in_a_fixed_scene_is_named_in_the_warnings(tmp_path):
    from still_clips import still_clip

    from detector.pipeline import AnalyzeOptions, analyze

    video = tmp_path / "still.mp4"
    still_clip(np.full((240, 320, 3), 90, np.uint8), video, frames=5, fps=10)
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(scene_text(f"kind: lane, {ZONE}", "mosaic: flight/mosaic.json\nreference_image: above.jpg\n"))
    assert [w.split(":")[0] for w in load_scene_text(fixed.read_text()).ignored_fields()] == [
        "reference_image",
        "mosaic",
    ]

    result = analyze(
        video, fixed, tmp_path / "out", AnalyzeOptions(evidence=False, motion_gate=False), detector=NoBoxes()
    )
    ignored = [w for w in result.warnings if "read only for drone scenes" in w]
    assert len(ignored) == 2 and ignored[1].startswith("mosaic: "), result.warnings
    drone = load_scene_text(scene_text(f"kind: lane, {ZONE}", "kind: drone\nreference_image: above.jpg\n"))
    assert drone.ignored_fields() == []


@pytest.mark.parametrize(
    "text, said",
    [
        (
            scene_text("kind: lane, polygon: [[0, 0], [300, 0], [300, 200]], directon: [[10, 10], [10, 100]]"),
            "zones[0].directon: not a scene file field (check the spelling and the indentation); did you mean direction?",
        ),
        (
            scene_text("kind: no_parking, polygon: [[0, 0], [300, 0], [300, 200]], direction: [[10, 10], [10, 100]]"),
            "zones[0].direction: not a field here (direction belongs to another zone kind or section: check the "
            "indentation and kind)",
        ),
        (
            scene_text(f"kind: lane, {ZONE}", "timzone: UTC\n"),
            "timzone: not a scene file field (check the spelling and the indentation); did you mean timezone?",
        ),
    ],
)
def test_a_key_the_format_lacks_says_what_was_probably_meant(text, said):
    """pydantic's "Extra inputs are not permitted" named the key, not the typo or the misplaced field."""
    with pytest.raises(SceneError) as err:
        load_scene_text(text, "s.yaml")
    assert said in str(err.value), str(err.value)
    assert [e["type"] for e in err.value.errors if e["field"] == said.split(":")[0]] == ["extra_forbidden"]


def test_a_yaml_syntax_error_points_at_lines_without_yamls_name_for_the_text():
    """PyYAML calls the text it parsed "<unicode string>" in each place it points at: a user read
    ``in "<unicode string>", line 2, column 13`` after the file's own name."""
    with pytest.raises(SceneError) as err:
        load_scene_text("camera: x\nframe_size: [640, 360\nzones: []\n", "bad.yaml")
    said = str(err.value)
    assert said.startswith("bad.yaml: not valid YAML: ") and "<unicode string>" not in said
    assert "line 2, column 13" in said and "line 3, column 6" in said
    assert err.value.errors[0]["line"] == 3 and "<unicode string>" not in err.value.errors[0]["msg"]
