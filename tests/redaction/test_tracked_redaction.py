"""The public clip of a real crossing leaks no bystander on any frame.

A case is written by the real evidence writer from the eye-level New York crossing
(``zebra_crossing.mp4``: many walkers, small faces), its offender the man in a dark suit carrying
a box (boxes written by eye, as in ``test_sheet_redaction``). The published clip is made with the
real finders. Then every published frame is checked against the original frame at the same time:
the project's person detector runs on both, CenterFace on the original, and every person and face
found that is not the offender must be blurred (its detail, the variance of the Laplacian, well
below the original's), or the frame must have been left out.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from detector.detect import load_analysis_detector
from detector.evidence import SignalLog, TrackLog, write_cases
from detector.scene import load_scene_text
from detector.types import SignalColor, TrackObservation, ViolationEvent
from service.redaction import detector_finder, face_finder, make_published_media, offender_box_at, scene_to_video
from service.redaction_track import is_offender

ZEBRA = Path(__file__).resolve().parents[2].parent / "shared" / "footage-more" / "pedestrian-crossing" / "zebra_crossing.mp4"
FRAME_S = 1001 / 30000
SCENE = """\
camera: nyc-zebra
place: New York crossing (redaction test)
start_time: 2024-05-01T08:00:00-04:00
timezone: America/New_York
frame_size: [768, 432]
zones:
  - {name: crossing, kind: crosswalk, signal: ped, polygon: [[0, 340], [768, 340], [768, 432], [0, 432]]}
signals:
  - {name: ped, timeline: [[0, red]]}
"""
# the suit man's body with his box (video px): at 54, 60 and 66 written by eye (as in
# test_sheet_redaction), elsewhere the project's detector's box for him, checked by eye
BY_EYE = {0: (186, 250, 238, 398), 12: (193, 252, 253, 399), 24: (202, 257, 273, 401), 36: (225, 260, 285, 402),
          48: (248, 258, 295, 400), 54: (254, 265, 320, 405), 60: (262, 265, 318, 405), 66: (268, 265, 336, 405),
          72: (264, 260, 347, 406), 84: (288, 261, 354, 407), 96: (297, 258, 371, 410)}
OFFENDER = 7
# blurred: the region keeps less than this share of the original's Laplacian variance
BLURRED = 0.35


def _body(frame: float) -> tuple[float, ...]:
    keys = sorted(BY_EYE)
    frame = min(max(frame, keys[0]), keys[-1])
    lo = max(k for k in keys if k <= frame)
    hi = min(k for k in keys if k >= frame)
    w = 0.0 if hi == lo else (frame - lo) / (hi - lo)
    return tuple(a + (b - a) * w for a, b in zip(BY_EYE[lo], BY_EYE[hi]))


@pytest.fixture(scope="module")
def finders():
    faces, people = face_finder(), detector_finder()
    # the checker is the project's person detector as the analysis runs it (confidence 0.25)
    checker = detector_finder(load=load_analysis_detector)
    assert None not in (faces, people, checker), "CenterFace and the object detector must load"
    return faces, people, checker


@pytest.fixture(scope="module")
def published(tmp_path_factory, finders):
    if not ZEBRA.is_file():
        pytest.fail(f"footage missing: {ZEBRA} (../shared must sit beside the checkout)")
    out = tmp_path_factory.mktemp("zebra-run")
    tracks, signals = TrackLog(), SignalLog()
    for i in range(0, 97):
        t = round(i * FRAME_S, 4)
        tracks.add(t, [TrackObservation(t, OFFENDER, "person", _body(i), 0.9)])
        signals.add(t, {"ped": SignalColor.RED})
    t54, t60, t66 = (round(f * FRAME_S, 4) for f in (54, 60, 66))
    event = ViolationEvent(
        rule="red_light_pedestrian", zone="crossing", start_s=t54, end_s=t66 + 0.2, key_t=t60, object_class="person",
        track_ids=[OFFENDER], confidence=0.9, explanation="walked onto the crossing on red", key_box=BY_EYE[60],
        path=[(round(i * FRAME_S, 4), (_body(i)[0] + _body(i)[2]) / 2, 405.0) for i in range(48, 73)], signal="ped",
        details={"entry_t": t60, "confirmed_t": t60, "exit_t": t66 + 0.2},
    )
    [case] = write_cases(source=ZEBRA, scene=load_scene_text(SCENE), events=[event], track_log=tracks,
                         signal_log=signals, out_dir=out, pre=0.6, post=0.6)
    pub = out / "pub"
    make_published_media(out / "cases" / case["id"], pub, case, "bystanders", finders=list(finders[:2]))
    return out / "cases" / case["id"], pub, case


def _timed_frames(path: Path, t_offset: float) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(t_offset + float(f.pts * f.time_base), f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]


def _detail(img: np.ndarray, box) -> float:
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return -1.0
    gray = cv2.cvtColor(img[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _head(box):
    x1, y1, x2, y2 = box
    return (x1, y1, x2, y1 + (y2 - y1) * 0.4)


def test_no_bystander_is_sharp_on_any_published_frame(published, finders):
    case_dir, pub, case = published
    faces, _, people = finders
    clip_start = float(case.get("clip_start_s") or 0.0)
    originals = _timed_frames(case_dir / "clip.mp4", clip_start)
    shown = _timed_frames(pub / "published.mp4", clip_start)
    assert len(originals) >= 50, "the case clip should span more than a second and a half"
    assert len(shown) >= 0.8 * len(originals), f"{len(originals) - len(shown)} of {len(originals)} frames dropped"

    checked, leaks = 0, []
    for t, frame in shown:
        t0, orig = min(originals, key=lambda o: abs(o[0] - t))
        assert abs(t0 - t) < FRAME_S / 2
        scene_box = offender_box_at(case, t)
        offender = scene_to_video(scene_box, case, frame.shape) if scene_box else None
        found = ([("original", r) for r in people(orig) if r.kind == "person"]
                 + [("published", r) for r in people(frame) if r.kind == "person"]
                 + [("original", r) for r in faces(orig)])
        for where, region in found:
            if is_offender(region, offender):  # his box, a part of him, or a face in his head
                continue
            part = _head(region.box) if region.kind == "person" else region.box
            before, after = _detail(orig, part), _detail(frame, part)
            if before <= 20.0:  # a flat patch (a back in shadow): nothing to identify, nothing to compare
                continue
            checked += 1
            if after > BLURRED * before:
                leaks.append((round(t, 3), where, region.kind, tuple(round(v) for v in region.box), round(after / before, 2)))
    assert checked >= 10 * len(shown), f"too few bystanders checked ({checked}) for a busy crossing"
    assert not leaks, f"{len(leaks)} sharp bystanders, e.g. {leaks[:8]}"


def test_the_offender_stays_sharp_and_outlined(published):
    case_dir, pub, case = published
    clip_start = float(case.get("clip_start_s") or 0.0)
    originals = dict((round(t, 3), f) for t, f in _timed_frames(case_dir / "clip.mp4", clip_start))
    t60 = round(60 * FRAME_S, 3)
    frames = [(t, f) for t, f in _timed_frames(pub / "published.mp4", clip_start) if abs(t - t60) < 0.02]
    assert frames, "the key frame must be published"
    t, frame = frames[0]
    orig = min(originals.items(), key=lambda o: abs(o[0] - t))[1]
    face = (286, 265, 302, 287)  # his face at frame 60
    assert _detail(frame, face) > 0.6 * _detail(orig, face)
    # the red outline around his box
    x1, y1, x2, y2 = BY_EYE[60]
    edge = frame[y1 + 10:y2 - 10, x1 - 1:x1 + 2].reshape(-1, 3).astype(int)
    assert ((edge[:, 2] > 150) & (edge[:, 0] < 110)).mean() > 0.5
