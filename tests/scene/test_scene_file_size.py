"""A scene file is read only as far as a scene can go (4 MiB; the service takes 1 MiB): the video
given as the scene (``analyze scene.yaml --scene video.mp4``, the two swapped) was read whole into
memory before it was refused as not UTF-8 text: a 3 GB video took 34 s and 6.5 GB of memory, more
than many machines have (an out-of-memory kill instead of a message)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from detector.scene import SceneError, load_scene

SCENE = Path(__file__).resolve().parents[2] / "samples" / "scenes" / "beijing-overpass.yaml"


def test_a_text_longer_than_any_scene_is_refused_saying_so(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(SCENE.read_text(encoding="utf-8") + "# padding\n" * 450_000, encoding="utf-8")  # 4.5 MB
    with pytest.raises(SceneError, match=r"big.yaml: .*larger than a scene file can be \(4 MiB\)"):
        load_scene(big)


def test_a_large_binary_file_is_refused_without_reading_it_whole(tmp_path):
    video = tmp_path / "flight.mp4"
    with video.open("wb") as f:
        f.write(b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 16)
        f.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(SceneError, match=r"flight.mp4: not a UTF-8 text file \(byte 140\)"):
            load_scene(video)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024  # the file is 64 MiB; read whole, the peak was 3 times that


def test_a_scene_with_windows_line_ends_loads_as_before(tmp_path):
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(SCENE.read_bytes().replace(b"\n", b"\r\n"))
    assert load_scene(crlf) == load_scene(SCENE)
