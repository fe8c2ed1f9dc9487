"""``civicwatch demo build --out DIR``: a folder the footage cannot go to is named (no traceback),
and a folder holding files of the same names that no demo build wrote (a user's own
``scene.yaml``) is refused instead of overwritten."""

from __future__ import annotations

import pytest

from civicwatch.cli import main


@pytest.mark.parametrize("under", [False, True])
def test_an_out_that_is_a_file_or_lies_under_one_is_named(tmp_path, capsys, under):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("kept\n", encoding="utf-8")
    assert main(["demo", "build", "--out", str(a_file / "demo" if under else a_file)]) == 2
    assert "notes.txt is a file, not a folder" in capsys.readouterr().err
    assert a_file.read_text(encoding="utf-8") == "kept\n"


def test_a_folder_with_a_scene_no_build_wrote_is_not_overwritten(tmp_path, capsys):
    mine = "camera: my-crossing\n# zones drawn by hand\n"
    (tmp_path / "scene.yaml").write_text(mine, encoding="utf-8")
    assert main(["demo", "build", "--out", str(tmp_path)]) == 2
    assert "scene.yaml" in capsys.readouterr().err
    assert (tmp_path / "scene.yaml").read_text(encoding="utf-8") == mine
    assert not (tmp_path / "demo.mp4").exists()


def test_a_folder_it_may_not_write_in_is_named(tmp_path, capsys, monkeypatch):
    import os

    real = os.access  # as root every folder is writable: seen here as another user would see it
    monkeypatch.setattr(os, "access", lambda p, m, **k: False if os.fspath(p) == str(tmp_path) else real(p, m, **k))
    assert main(["demo", "build", "--out", str(tmp_path / "demo")]) == 2
    assert f"no permission to write in {tmp_path}" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()
