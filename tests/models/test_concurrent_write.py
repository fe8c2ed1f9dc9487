"""Two threads of one process writing one converted model at once (the service's job worker and
its publication thread each load the detector on first use, and a model not yet cached is
converted by both). Each must write its own temporary file: both wrote ``<model>.<pid>.partial``,
one rename found it gone (ModelFetchError, and the redaction went on without its detector) and
two writers of one file could rename a mixture of both into the cache."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx

from detector.models import fetch

from .onnx_builders import constant_output_model


def test_two_threads_writing_one_model_both_succeed(tmp_path, monkeypatch):
    model = onnx.load(str(constant_output_model(tmp_path / "src.onnx", np.zeros((1, 6, 4), np.float32))))
    target = tmp_path / "cache" / "model.onnx"
    both_written = threading.Barrier(2, timeout=10)
    replace = fetch.os.replace

    def replace_together(src, dst):  # both have saved their file before either renames it
        both_written.wait()
        return replace(src, dst)

    monkeypatch.setattr(fetch.os, "replace", replace_together)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: fetch._write_model(model, target), range(2)))
    assert onnx.load(str(target)).graph.name == "constant"
    assert [p.name for p in target.parent.iterdir()] == ["model.onnx"]  # no temporary file left
