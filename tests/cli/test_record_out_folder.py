"""``civicwatch record --out``: a folder the segments cannot go to is named before the stream is
opened (one line on stderr, exit code 2), not a traceback from the recorder's first mkdir."""

from __future__ import annotations

import subprocess
import sys

import pytest


def record(out) -> subprocess.CompletedProcess:
    # port 1: nothing listens there; the refusal must come before any connection is tried
    return subprocess.run([sys.executable, "-m", "civicwatch.cli", "record", "--url", "rtsp://127.0.0.1:1/cam",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("where, said", [("file", "is a file, not a folder"),
                                         ("under-file", "cannot make the folder")])
def test_an_out_folder_that_cannot_be_made_is_named(tmp_path, where, said):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("kept\n", encoding="utf-8")
    run = record(a_file if where == "file" else a_file / "segments")
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.startswith("civicwatch record: --out ") and said in run.stderr
    assert "Traceback" not in run.stderr
    assert a_file.read_text(encoding="utf-8") == "kept\n"


def test_an_out_folder_it_may_not_write_in_is_named(tmp_path):
    # as root every folder is writable: the check is made to see this one as another user would
    segments = tmp_path / "segments"
    segments.mkdir()
    code = ("import os, sys; real = os.access; "
            f"os.access = lambda p, m, **k: False if os.fspath(p) == {str(segments)!r} else real(p, m, **k); "
            "from civicwatch.cli import main; "
            f"sys.exit(main(['record', '--url', 'rtsp://127.0.0.1:1/cam', '--out', {str(segments)!r}]))")
    # the old code went on to record: its lock file refused (a traceback), or, as root, retrying for ever
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "civicwatch record: --out " in run.stderr and "no permission to write" in run.stderr
