"""Values YAML itself cannot build are scene errors naming the line, as every malformed value is.

An unquoted date and time (``start_time: 2015-06-01T08:00:00+08:00``, which loads like the quoted
one) that is no date (a 13th month, February 30th) ended in a traceback from YAML's own date
parser; so did a number of thousands of digits (YAML's integer limit), and one of hundreds in
``frame_size`` (the frame check's floats)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detector.scene import SceneError, load_scene_text

SCENE = (Path(__file__).resolve().parents[2] / "samples" / "scenes" / "beijing-overpass.yaml").read_text(encoding="utf-8")
QUOTED = 'start_time: "2015-06-01T08:00:00+08:00"'


@pytest.mark.parametrize("when", ["2015-13-01T08:00:00+08:00", "2015-02-30 08:00:00+08:00"])
def test_an_unquoted_start_time_that_is_no_date_names_its_line(when):
    assert QUOTED in SCENE
    line = SCENE.splitlines().index(QUOTED) + 1
    with pytest.raises(SceneError, match=rf"(?s)x.yaml: .*{re.escape(when)} is not a date and time .*line {line}, column 13"):
        load_scene_text(SCENE.replace(QUOTED, f"start_time: {when}"), "x.yaml")


def test_an_unquoted_start_time_that_is_a_date_loads_as_the_quoted_one():
    unquoted = load_scene_text(SCENE.replace(QUOTED, "start_time: 2015-06-01T08:00:00+08:00"))
    assert unquoted == load_scene_text(SCENE)


@pytest.mark.parametrize("old, new", [
    ("[960, 540]", "[9" + "0" * 400 + ", 540]"),
    ("max_stop_s: 5", "max_stop_s: 5" + "0" * 5000),
])
def test_a_number_with_hundreds_of_digits_is_a_scene_error(old, new):
    assert old in SCENE
    with pytest.raises(SceneError, match="too large|too many digits|at most 65535 pixels"):
        load_scene_text(SCENE.replace(old, new, 1), "x.yaml")


@pytest.mark.parametrize("old, new, field", [
    ("[960, 540]", "[99999999999999999999999, 540]", "frame_size"),
    ("max_stop_s: 5", "max_stop_s: 1e38", "max_stop_s"),
    ("max_stop_s: 5", "max_stop_s: 6000000", "max_stop_s"),  # 60 with zeros too many
])
def test_a_number_far_past_any_real_scene_is_refused_naming_it(old, new, field):
    """A frame 1e23 px wide loaded with a warning that the zones were squeezed to nothing, and a
    parking limit of 1e38 s loaded and could never fire: both analysed without a case, rc 0."""
    assert old in SCENE
    with pytest.raises(SceneError, match=field):
        load_scene_text(SCENE.replace(old, new, 1), "x.yaml")
    load_scene_text(SCENE.replace(old, "[65535, 540]" if field == "frame_size" else "max_stop_s: 86400", 1), "x.yaml")
