"""Does int8 quantisation pay for the analysis model on this CPU? Measured, not assumed.

Usage (from the repo root, after scripts/setup.sh):

    .venv/bin/python benchmarks/quantise.py [--model centernet] [--frames 32] [--runs 30]

Quantises the model statically (onnxruntime's ``quantize_static``, per-channel int8 weights,
uint8 activations, convolutions only, so the graph's own decoder stays float) with calibration
frames from four development-set videos in ``../shared``, in both of onnxruntime's formats (QDQ
and QOperator), and times each against the float model, interleaved in one run with two threads.
Prints the milliseconds per inference and the largest score difference on the calibration frames.
The quantised files are written to a temporary folder and deleted: nothing is kept unless it pays.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static  # noqa: E402
from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: E402

from detector.detect import load_detector  # noqa: E402
from detector.models.letterbox import letterbox  # noqa: E402

SHARED = ROOT.parent / "shared"
VIDEOS = [
    "footage/beijing-intersection/uadetrac_overpass.mp4",
    "footage-more/vn-intersection/danang_cctv_1.mp4",
    "footage/night-crosswalk/crosswalk.mp4",
    "footage-more/pedestrian-crossing/zebra_crossing.mp4",
]


def calibration_blobs(size: int, per_video: int) -> list[np.ndarray]:
    blobs = []
    for rel in VIDEOS:
        with av.open(str(SHARED / rel)) as container:
            stream = container.streams.video[0]
            step = max(1, (stream.frames or 300) // per_video)
            taken = 0
            for i, frame in enumerate(container.decode(stream)):
                if i % step == 0:
                    blobs.append(letterbox(frame.to_ndarray(format="bgr24"), (size, size))[0])
                    taken += 1
                if taken >= per_video:
                    break
    return blobs


class _Reader(CalibrationDataReader):
    def __init__(self, name: str, blobs: list[np.ndarray]):
        self._items = iter([{name: b} for b in blobs])

    def get_next(self):
        return next(self._items, None)


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="centernet")
    ap.add_argument("--frames", type=int, default=32, help="calibration frames in all")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    model = Path(load_detector(args.model).model_path)
    base = _session(model)
    inp = base.get_inputs()[0]
    blobs = calibration_blobs(int(inp.shape[2]), max(1, args.frames // len(VIDEOS)))
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(model), str(pre), skip_symbolic_shape=True)
        sessions = {"float32": base}
        for fmt in (QuantFormat.QDQ, QuantFormat.QOperator):
            out = Path(tmp) / f"int8-{fmt.name}.onnx"
            quantize_static(str(pre), str(out), _Reader(inp.name, blobs), quant_format=fmt, per_channel=True,
                            op_types_to_quantize=["Conv"], activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8)
            sessions[f"int8 {fmt.name}"] = _session(out)
        output = base.get_outputs()[0].name
        spent = {name: 0.0 for name in sessions}
        worst = {name: 0.0 for name in sessions}
        for i in range(args.runs):
            x = blobs[i % len(blobs)]
            reference = None
            for name, sess in sessions.items():  # interleaved: load changes hit all alike
                t0 = time.perf_counter()
                y = sess.run([output], {inp.name: x})[0]
                spent[name] += time.perf_counter() - t0
                if reference is None:
                    reference = y
                else:
                    worst[name] = max(worst[name], float(np.abs(y[:, 4:] - reference[:, 4:]).max()))
    print(f"model {model.name}, {len(blobs)} calibration frames, {args.runs} interleaved runs, 2 threads")
    ref_ms = spent["float32"] / args.runs * 1000
    for name in sessions:
        ms = spent[name] / args.runs * 1000
        print(f"{name:15s} {ms:7.1f} ms  {ms / ref_ms:4.2f}x float time  max score change {worst[name]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
