"""A scene saved in another encoding than UTF-8 (GBK, what Windows editors in China long saved
"ANSI" text as, with a place named in Chinese; UTF-16, Notepad's "Unicode") is told to be saved as
UTF-8; a binary file (the video given as the scene) is told to be no scene. All were "not a UTF-8
text file (byte N); a scene file is YAML text"."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.scene import SceneError, load_scene

SCENE = Path(__file__).resolve().parents[2] / "samples" / "scenes" / "beijing-overpass.yaml"


@pytest.mark.parametrize("encoding, named", [("gbk", "GBK"), ("utf-16", "UTF-16")])  # utf-16: Notepad's "Unicode"
def test_a_scene_saved_in_another_encoding_is_told_to_be_saved_as_utf8(tmp_path, encoding, named):
    saved = tmp_path / "saved.yaml"
    saved.write_bytes(SCENE.read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(SceneError, match=rf"saved.yaml: not a UTF-8 text file \(byte \d+\).*save it as UTF-8.*{named}") as err:
        load_scene(saved)
    assert "video" not in str(err.value)


def test_a_binary_file_is_told_to_be_no_scene(tmp_path):
    video = tmp_path / "scene.yaml"
    video.write_bytes(b"\x00\x00\x00\x18ftypisom\xf6\xff binary")
    with pytest.raises(SceneError, match=r"scene.yaml: not a UTF-8 text file \(byte 12\).*not text") as err:
        load_scene(video)
    assert "save it as UTF-8" not in str(err.value)
