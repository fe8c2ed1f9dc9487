"""Throughput of the analysis pipeline, split by stage, against a naive detect-every-frame baseline.

Usage (from the repo root, after scripts/setup.sh):

    .venv/bin/python benchmarks/throughput.py ../shared/footage/beijing-intersection/uadetrac_overpass.mp4

Prints a table and writes JSON (``--json FILE``). Figures are seconds of video per second of wall
time ("x real time"); decode-only speed is the physical limit on this machine, so each result is
also given as a share of it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detector.decode import DecodeReport, iter_frames, probe  # noqa: E402
from detector.detect import load_analysis_detector  # noqa: E402
from detector.pipeline import AnalyzeOptions, analyze  # noqa: E402
from detector.track import ObjectTracker  # noqa: E402

SCENES = [ROOT / "samples" / "scenes" / "beijing-overpass.yaml",
          ROOT / "samples" / "scenes" / "beijing-overpass-wrong-way-drill.yaml"]


def decode_only(path: Path) -> float:
    report = DecodeReport()
    t0 = time.perf_counter()
    for _ in iter_frames(path, None, report, all_images=True):
        pass
    return time.perf_counter() - t0


def naive(path: Path, detector) -> dict:
    """Detect and track every frame, sequentially: the baseline the recipe improves on."""
    info = probe(path)
    tracker = ObjectTracker(info.fps)
    report = DecodeReport()
    t_detect = t_track = 0.0
    t0 = time.perf_counter()
    for frame in iter_frames(path, None, report, all_images=True):
        a = time.perf_counter()
        dets = detector.detect(frame.image)
        b = time.perf_counter()
        tracker.update(frame.t, dets)
        t_detect += b - a
        t_track += time.perf_counter() - b
    wall = time.perf_counter() - t0
    return {"wall": wall, "detect": t_detect, "track": t_track, "frames": report.frames_decoded}


def whole_process(video: Path, scene: Path, analysis_fps: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "civicwatch.cli", "analyze", str(video), "--scene", str(scene),
               "--out", str(Path(tmp) / "out"), "--analysis-fps", str(analysis_fps), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--scene", type=Path, action="append",
                        help="scene file (repeatable); default: the Beijing scene and its wrong-way drill")
    parser.add_argument("--analysis-fps", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    info = probe(args.video)
    video_s = info.duration_s or 0.0
    detector = load_analysis_detector()  # the model the pipeline uses by default
    detector.detect(__import__("numpy").zeros((info.height, info.width, 3), "uint8"))  # warm-up

    results: dict = {"video": args.video.name, "video_s": video_s, "cores": len(os.sched_getaffinity(0)),
                     "model": detector.name}
    dec = decode_only(args.video)
    results["decode_only"] = {"wall": dec, "speed": video_s / dec}

    results["pipeline"] = []
    scenes = args.scene or SCENES
    # The first scene again without the stages the real-streets work added (zone tiles, camera
    # motion, low light), to show what they cost.
    runs = [(scene, {}) for scene in scenes] + [(scenes[0], {"regions": "off", "stabilise": False, "lowlight": "off"})]
    for scene, extra in runs:
        with tempfile.TemporaryDirectory() as tmp:
            res = analyze(args.video, scene, Path(tmp) / "out",
                          AnalyzeOptions(analysis_fps=args.analysis_fps, **extra), detector=detector)
        t = res.timings
        results["pipeline"].append({
            "scene": scene.name + (" (whole frame only, no stabilisation)" if extra else ""), "wall": t.wall, "speed": t.speed,
            "share_of_decode_limit": t.speed / results["decode_only"]["speed"],
            "stages_s": {"decode": t.decode, "detect": t.detect, "track": t.track, "rules": t.rules,
                         "evidence": t.evidence},
            "analysis_frames": t.analysis_frames, "cases": len(res.cases),
        })
    # The same default runs as a user starts them: a fresh `civicwatch analyze` process, so model
    # loading, imports, hashing and signing are included.
    results["whole_process"] = []
    for scene in scenes:
        wall = whole_process(args.video, scene, args.analysis_fps)
        results["whole_process"].append({"scene": scene.name, "wall": wall, "speed": video_s / wall,
                                         "share_of_decode_limit": video_s / wall / results["decode_only"]["speed"]})
    if not args.skip_naive:
        nv = naive(args.video, detector)
        results["naive_every_frame"] = {**nv, "speed": video_s / nv["wall"]}

    print(f"{args.video.name}: {video_s:.1f} s of video, {results['cores']} cores, model {detector.name}")
    print(f"  decode only          {results['decode_only']['speed']:6.2f}x real time")
    for p in results["pipeline"]:
        print(f"  pipeline ({args.analysis_fps:g} fps)   {p['speed']:6.2f}x real time "
              f"({p['share_of_decode_limit']:.0%} of decode-only), {p['cases']} case(s), scene {p['scene']}")
        for stage, secs in p["stages_s"].items():
            print(f"      {stage:<26}{secs:7.2f} s")
    for p in results["whole_process"]:
        print(f"  whole process        {p['speed']:6.2f}x real time ({p['share_of_decode_limit']:.0%} of decode-only, "
              f"{p['wall']:.1f} s), civicwatch analyze, scene {p['scene']}")
    if "naive_every_frame" in results:
        n = results["naive_every_frame"]
        print(f"  naive every frame    {n['speed']:6.2f}x real time (detect {n['detect']:.2f} s, track {n['track']:.2f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
