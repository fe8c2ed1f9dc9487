"""``render`` and ``verify`` given a path that is not there (a typo) say so, instead of describing a
folder that exists: "holds no case folders", "missing: manifest.json" sent the user looking inside
a folder they never made. A file where ``render`` wants a folder is named as a file."""

from __future__ import annotations

from civicwatch.cli import main


def test_render_of_a_path_that_is_not_there_says_so(tmp_path, capsys):
    assert main(["render", str(tmp_path / "run-typo")]) == 2
    err = capsys.readouterr().err
    assert "run-typo: no such folder" in err and "holds no case" not in err


def test_render_of_a_file_names_it_as_a_file(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert main(["render", str(clip)]) == 2
    err = capsys.readouterr().err
    assert "clip.mp4 is a file, not a folder" in err and "holds no case" not in err


def test_verify_of_a_path_that_is_not_there_says_so(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "run-typo")]) == 2
    err = capsys.readouterr().err
    assert "run-typo: no such folder or zip file" in err and "missing: manifest.json" not in err
