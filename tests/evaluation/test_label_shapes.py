"""A label file of the wrong shape (a list at the top, an event that is a text) is named in the
file's own words, JSON objects, not by the classes that read it ("Input should be a valid
dictionary or instance of CaseLabels" sent a person writing labels into the source)."""

from __future__ import annotations

import json

import pytest

from detector.evaluation.labels import LabelError, load_labels

EV = {"rule": "wrong_way", "zone": "lane", "t0": 2.5, "t1": 3.5}


@pytest.mark.parametrize("data, where", [
    ([{"video": "v.mp4", "scene": "s.yaml", "events": [EV]}], "<file>"),  # wrapped in a list
    ("v.mp4", "<file>"),
    ({"video": "v.mp4", "scene": "s.yaml", "events": [EV, "wrong_way at 3 s"]}, "events.1"),
])
def test_a_value_that_should_be_an_object_is_named_as_one(tmp_path, data, where):
    lab = tmp_path / "x.labels.json"
    lab.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LabelError) as err:
        load_labels(lab)
    message = str(err.value)
    assert f"{where}: expected a JSON object" in message
    assert "CaseLabels" not in message and "LabelledEvent" not in message


@pytest.mark.parametrize("field, value, expected", [
    ("scene", "s\x00.yaml", "scene: holds a NUL byte"),  # was a ValueError traceback from the path
    ("video", "  ", "video: must be a path relative to the label file"),
])
def test_a_path_that_cannot_be_opened_is_named(tmp_path, field, value, expected):
    data = {"video": "v.mp4", "scene": "s.yaml", "events": [EV], field: value}
    lab = tmp_path / "x.labels.json"
    lab.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LabelError) as err:
        load_labels(lab)
    assert expected in str(err.value)
