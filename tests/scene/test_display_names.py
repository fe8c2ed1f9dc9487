"""Display names in scene files: a zone's ``label`` and the ``place``, in one text or per language.

Scene files are kept by their users: a file without labels must load exactly as before, and a
plain text keeps meaning "the same in every language".
"""

from __future__ import annotations

import pytest

from detector.scene import SceneError, load_scene_text

BASE = """\
camera: renmin-rd
frame_size: [100, 100]
{place}
zones:
  - {{name: crossing_n, kind: no_parking, polygon: [[0, 0], [10, 0], [10, 10]]{label}}}
"""


def scene(place: str = "", label: str = ""):
    return load_scene_text(BASE.format(place=place, label=label))


def test_bilingual_place_and_zone_label():
    s = scene("place: {zh-CN: 人民路与解放路口, en: Renmin Rd at Jiefang Rd}",
              ", label: {zh-CN: 北侧人行横道, en: north crossing}")
    # the single-text place (stored with the camera, copied to uploads) is the primary language's
    assert s.place == "人民路与解放路口"
    assert s.place_in("zh-CN") == "人民路与解放路口" and s.place_in("en") == "Renmin Rd at Jiefang Rd"
    assert s.zone_label("crossing_n", "zh-CN") == "北侧人行横道"
    assert s.zone_label("crossing_n", "en") == "north crossing"
    assert s.zones[0].name == "crossing_n"  # the key is untouched


def test_one_language_serves_both():
    s = scene("place: {en: Renmin Rd}", ", label: {zh-CN: 北侧人行横道}")
    assert s.place == "Renmin Rd" and s.place_in("zh-CN") == "Renmin Rd"
    assert s.zone_label("crossing_n", "en") == "北侧人行横道"


def test_plain_texts_as_before():
    s = scene("place: 人民路口", ", label: 北侧人行横道")
    assert s.place == "人民路口" and s.place_names is None and s.place_in("en") == "人民路口"
    assert s.zone_label("crossing_n", "en") == s.zone_label("crossing_n", "zh-CN") == "北侧人行横道"


def test_without_names_nothing_changes():
    s = scene()
    assert s.place is None and s.place_names is None and s.place_in("en") is None
    assert s.zones[0].label is None and s.zone_label("crossing_n", "zh-CN") is None
    assert s.zone_label("no-such-zone", "en") is None


def test_a_parsed_scene_dumps_to_a_scene_that_parses_the_same():
    s = scene("place: {zh-CN: 人民路, en: Renmin Rd}", ", label: {zh-CN: 北侧, en: north}")
    again = type(s).model_validate(s.model_dump(mode="json"))
    assert again == s


@pytest.mark.parametrize(("place", "label", "message"), [
    ("", ", label: {fr: nord}", r"zones\[0\]\.label: unknown language 'fr': use zh-CN and/or en"),
    ("", ", label: {zh-CN: ''}", r"zones\[0\]\.label: zh-CN: give a non-empty text"),
    ("", ", label: [north]", r"zones\[0\]\.label: give a text or a mapping"),
    ("", ", label: " + "x" * 65, r"zones\[0\]\.label: zh-CN: at most 64 characters"),
    ("place: {de: Renmin}", "", r"place: unknown language 'de'"),
    ("place: {}", "", r"place: give a text or a mapping"),
    ("place: {en: " + "x" * 256 + "}", "", r"place: en: at most 255 characters \(got 256\)"),
    ("place: {en: 5}", "", r"place: en: give a non-empty text"),
])
def test_bad_names_are_refused_naming_the_field(place, label, message):
    with pytest.raises(SceneError, match=message):
        scene(place, label)
