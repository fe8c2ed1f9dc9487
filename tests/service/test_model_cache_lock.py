"""A pool worker with ``--concurrency`` above one runs its jobs on threads that share one analysis
model (``service.jobs.work.default_analyze_fn``) and one redaction verifier
(``service.redaction.default_verifier``). Both caches were filled without a lock: two threads
starting at once each loaded the model (twice the memory of a model that takes hundreds of MB)
and each could be handed a different copy. Now the second waits for the first's load."""

from __future__ import annotations

import threading
import time

from service.config import Settings


class SlowLoad:
    """A stand-in loader that takes a while, counting how often it is called."""

    def __init__(self) -> None:
        self.calls = 0
        self.guard = threading.Lock()

    def __call__(self, *args, **kwargs) -> object:
        with self.guard:
            self.calls += 1
        time.sleep(0.3)  # long enough for the other thread to arrive while this one loads
        return object()


def _race(fn) -> list[object]:
    got: list[object] = []
    start = threading.Barrier(2)

    def go() -> None:
        start.wait()
        got.append(fn())

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return got


def test_two_threads_load_the_analysis_model_once(monkeypatch, tmp_path):
    import detector.detect
    from service.jobs.work import default_analyze_fn

    load = SlowLoad()
    monkeypatch.setattr(detector.detect, "load_analysis_detector", load)
    run, make_options = default_analyze_fn(Settings(data_dir=tmp_path))
    got = _race(run.preload)
    assert load.calls == 1
    assert len(got) == 2 and got[0] is got[1]


def test_two_threads_load_the_redaction_verifier_once(monkeypatch):
    from service import redaction

    load = SlowLoad()
    monkeypatch.setattr(redaction, "_VERIFIER", [])
    monkeypatch.setattr(redaction, "detector_finder", load)
    got = _race(redaction.default_verifier)
    assert load.calls == 1
    assert len(got) == 2 and got[0] is got[1]
