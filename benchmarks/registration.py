"""Drone registration (detector.register): accuracy on a known motion, cost per frame, and what
happens on the real drone clips in ../shared.

    .venv/bin/python benchmarks/registration.py

1. The Beijing overpass clip warped by a known hovering motion (drift, turn, zoom, tilt; the same
   one tests/register uses) and registered to its first frame: error of ground points in pixels.
2. The Hohhot hovering drone (../shared/footage-more/drone-intersection): registered to its first
   frame (the only clean one; later frames carry the authors' burnt-in tracker boxes).
3. The road-survey flight (../shared/footage-more/drone-road-survey): the drone flies along the
   road, so frames stop overlapping the first; they must be refused, not mis-registered.
Times are per analysis frame on this machine, beside the decode time of the same frames (ratio),
because the machine is shared and noisy.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "register"))

from test_register import hover

from detector.register import ReferenceRegistration, map_points

SHARED = REPO.parent / "shared"


def frames(path: Path, n: int, step: int) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    out, t0 = [], time.perf_counter()
    for i in range(n * step):
        ok, f = cap.read()
        if not ok:
            break
        if i % step == 0:
            out.append(f)
    cap.release()
    return out, (time.perf_counter() - t0) / max(1, len(out))


def main() -> None:
    clip, decode_s = frames(SHARED / "footage/beijing-intersection/uadetrac_overpass.mp4", 40, 3)
    h, w = clip[0].shape[:2]
    reg = ReferenceRegistration((w, h), clip[0])
    grid = np.array([[x, y] for x in range(100, w - 99, 95) for y in range(80, h - 79, 95)], float)
    errors, spent = [], 0.0
    for i, f in enumerate(clip):
        truth = hover(i, w, h)
        moving = cv2.warpPerspective(f, truth, (w, h))
        t0 = time.perf_counter()
        est = reg.update(i / 10, moving)
        spent += time.perf_counter() - t0
        if est is not None:
            errors.append(np.hypot(*(map_points(map_points(grid, truth), est) - grid).T))
    e = np.concatenate(errors)
    per = spent / len(clip)
    print(f"known motion, Beijing 960x540: {reg.stats.registered}/{len(clip)} registered, ground error median "
          f"{np.median(e):.2f} px, 95th {np.percentile(e, 95):.2f} px, max {e.max():.2f} px; "
          f"{per * 1000:.0f} ms/frame = {per / decode_s:.1f}x the decode time of a frame ({decode_s * 1000:.1f} ms)")

    for name, rel, n, step in (("Hohhot hovering drone 856x480", "footage-more/drone-intersection/hohhot_intersection_tracked.mp4", 30, 10),
                               ("road-survey flight 960x540", "footage-more/drone-road-survey/atg_frames_000-131_5fps.mp4", 30, 2)):
        fr, _ = frames(SHARED / rel, n, step)
        hh, ww = fr[0].shape[:2]
        reg = ReferenceRegistration((ww, hh), None)
        t0 = time.perf_counter()
        ok = [reg.update(i / 10, f) is not None for i, f in enumerate(fr)]
        per = (time.perf_counter() - t0) / len(fr)
        first_lost = next((i for i, v in enumerate(ok) if not v), None)
        stats = reg.stats.to_dict()
        print(f"{name}: {sum(ok)}/{len(fr)} frames registered to the first (mean quality {stats['mean_quality']}), "
              f"first refused: frame {first_lost if first_lost is None else first_lost * step}; {per * 1000:.0f} ms/frame")


if __name__ == "__main__":
    main()
