"""A scene file nested hundreds of brackets deep (a generated or hostile file) is a bad scene,
refused with a message, not a RecursionError traceback (a 500 from the service's scene upload)."""

from __future__ import annotations

import pytest

from detector.scene import SceneError, load_scene_text

BASE = "camera: x\nframe_size: [320, 240]\nzones:\n  - {name: a, kind: no_parking, polygon: [[0, 0], [300, 0], [300, 200]]}\n"


@pytest.mark.parametrize("text", [
    "[" * 2000 + "]" * 2000,  # the YAML reader's own recursion
    BASE + "place: " + "[" * 400 + "]" * 400 + "\n",  # read, then validated
    "camera: x\nframe_size: " + "[" * 400 + "]" * 400 + "\nzones: []\n",
], ids=["yaml", "place", "frame_size"])
def test_a_deeply_nested_scene_is_refused_with_a_message(text):
    with pytest.raises(SceneError) as err:
        load_scene_text(text, "s.yaml")
    assert "nested too deeply" in str(err.value)
    assert err.value.errors[0]["type"] == "too_deep"
