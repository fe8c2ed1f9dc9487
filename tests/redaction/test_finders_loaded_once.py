"""The redaction models load once per process, whichever threads ask first.

Publication media are made on several threads at once: approve requests on the service's thread
pool where no publication queue runs (``runner: celery``), and a pool worker's thread tasks. The
first redactions after a start each found no finders loaded and loaded their own (the face model
and the object detector, twice in memory), and the last to finish replaced the list the others
had stored: a load that failed in one thread (the detector while another thread converted it)
stayed the process's finders, and every later public clip was made without it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from service import redaction


def test_two_threads_asking_for_the_finders_at_once_load_them_once(monkeypatch):
    loads: list[str] = []
    second_loading = threading.Event()

    def load(name):  # noqa: ANN001, ANN202
        def finder_loader():  # noqa: ANN202
            loads.append(name)
            if len(loads) > 1:
                second_loading.set()
            else:  # the first load is slow: gives a second thread time to start its own
                second_loading.wait(1.5)
            return lambda frame: []

        return finder_loader

    monkeypatch.setattr(redaction, "_DEFAULT_FINDERS", None)
    monkeypatch.setattr(redaction, "face_finder", load("face"))
    monkeypatch.setattr(redaction, "haar_finder", lambda: None)
    monkeypatch.setattr(redaction, "detector_finder", lambda: (lambda frame: []))
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda _: redaction.default_finders(), range(2)))
    assert loads == ["face"]
    assert got[0] is got[1] and len(got[0]) == 2


def test_without_the_object_detector_faces_alone_are_not_used(monkeypatch):
    """Faces alone find no bystander's body and no plate: with CenterFace loaded and the object
    detector not, a bystander car's plate was published sharp. Then nothing is a finder and
    everything but the offender is blurred."""
    monkeypatch.setattr(redaction, "_DEFAULT_FINDERS", None)
    monkeypatch.setattr(redaction, "face_finder", lambda: (lambda frame: []))
    monkeypatch.setattr(redaction, "haar_finder", lambda: None)
    monkeypatch.setattr(redaction, "detector_finder", lambda: None)
    assert redaction.default_finders() == []
