"""``civicwatch report flight --force`` replaces an earlier report, and nothing else: not the folder
that holds the run (``--out`` one level too high deleted the run and everything beside it), not a
folder that is no report, not a file; and an earlier report stays when the new one cannot be made.

The runs here are case lists whose media cannot be reported (no clip, no still), so every report
fails after the checks of ``--out``: what a failing run leaves is what these tests look at.
"""

from __future__ import annotations

import json
from pathlib import Path

from civicwatch.cli import main


def _run(folder: Path) -> Path:
    """An analysis folder whose one case has no media: any report of it fails."""
    folder.mkdir(parents=True)
    case = {"id": "c1", "evidence": {"clip": "cases/c1/clip.mp4", "snapshot": "cases/c1/snapshot.jpg"}}
    (folder / "cases.json").write_text(json.dumps([case]), encoding="utf-8")
    return folder


def _report(folder: Path) -> Path:
    """An earlier flight report (its record and page)."""
    folder.mkdir(parents=True)
    (folder / "report.json").write_text('{"cases": []}\n', encoding="utf-8")
    (folder / "report.html").write_text("<p>earlier</p>\n", encoding="utf-8")
    return folder


def _flight(run_dir: Path, out: Path) -> int:
    return main(["report", "flight", str(run_dir), "--all", "--out", str(out), "--force"])


def test_force_never_replaces_the_folder_that_holds_the_run(tmp_path, capsys):
    project = tmp_path / "project"
    run_dir = _run(project / "run")
    (project / "notes.txt").write_text("kept\n", encoding="utf-8")
    assert _flight(run_dir, project) == 2
    assert (run_dir / "cases.json").is_file() and (project / "notes.txt").read_text() == "kept\n"
    err = capsys.readouterr().err
    assert "holds the run folder" in err and "Traceback" not in err


def test_force_replaces_only_a_report_folder(tmp_path, capsys):
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "manifest.json").write_text("{}\n", encoding="utf-8")
    assert _flight(_run(tmp_path / "run"), other) == 2
    assert (other / "manifest.json").read_text() == "{}\n"
    assert "not a flight report" in capsys.readouterr().err


def test_force_on_a_file_is_refused_and_keeps_it(tmp_path, capsys):
    a_file = tmp_path / "report.pdf"
    a_file.write_bytes(b"%PDF-1.4 earlier\n")
    assert _flight(_run(tmp_path / "run"), a_file) == 2
    assert a_file.read_bytes() == b"%PDF-1.4 earlier\n"
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err


def test_an_out_folder_under_a_file_is_named(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("kept\n", encoding="utf-8")
    assert main(["report", "flight", str(_run(tmp_path / "run")), "--all", "--out", str(a_file / "report")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_report_that_cannot_be_made_keeps_the_earlier_one(tmp_path, capsys):
    earlier = _report(tmp_path / "run-flight-report")
    assert _flight(_run(tmp_path / "run"), earlier) == 2
    assert (earlier / "report.html").read_text() == "<p>earlier</p>\n"
    assert (earlier / "report.json").read_text() == '{"cases": []}\n'
    assert "clip_start_s" in capsys.readouterr().err  # why the new report failed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-flight-report"]  # nothing set aside is left
