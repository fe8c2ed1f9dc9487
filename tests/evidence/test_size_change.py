"""A recording whose picture size changes part-way (a DVR switching resolution, joined exports).

The later frames used to reach the detector, the snapshot and the annotated render at their own
size, while the zones, the case boxes and the clip were sized for the first frame: a zone drawn
over the road covered the wrong pixels and boxes were drawn off the objects, without a word.
Every reader now scales them to the first size, and the analysis says that it did.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from detector.decode import DecodeReport, iter_frames, probe
from detector.evidence.clips import cut_clip, stills_at
from tests.blind_detector import NoBoxes

SHORT_MP4 = "beijing-intersection/uadetrac_overpass_short.mp4"
BIG, SMALL = (320, 180), (160, 90)
PER_PART = 20  # frames at each size, 30 fps: the size changes at 0.667 s


def _originals(footage_dir) -> list[np.ndarray]:
    with av.open(str(footage_dir / SHORT_MP4)) as src:
        return [f.to_ndarray(format="bgr24") for _, f in zip(range(2 * PER_PART), src.decode(video=0))]


def _part(images, size, first_index, path):
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), format="bgr24")
            frame.pts, frame.time_base = 90000 + (first_index + i) * 3000, Fraction(1, 90000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture
def resized_ts(footage_dir, tmp_path):
    """Real footage as one MPEG-TS: 320x180 for 20 frames, then the same view at 160x90."""
    images = _originals(footage_dir)
    _part(images[:PER_PART], BIG, 0, tmp_path / "a.ts")
    _part(images[PER_PART:], SMALL, PER_PART, tmp_path / "b.ts")
    joined = tmp_path / "dvr.ts"
    joined.write_bytes((tmp_path / "a.ts").read_bytes() + (tmp_path / "b.ts").read_bytes())
    return joined, images


def test_analysis_frames_keep_the_first_size_and_the_change_is_reported(resized_ts):
    source, images = resized_ts
    report = DecodeReport()
    frames = [f for f in iter_frames(source, None, report, all_images=True)]
    assert len(frames) == 2 * PER_PART
    assert {f.image.shape for f in frames} == {(BIG[1], BIG[0], 3)}
    assert [(round(t, 2), w, h) for t, w, h in report.size_changes] == [(0.67, *SMALL)]
    # Scaled, not cropped or padded: the late frame is the camera's view at the first size.
    late = cv2.resize(images[PER_PART + 5], BIG, interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(frames[PER_PART + 5].image.astype(int) - late).mean() < 12


def test_evidence_pictures_after_the_change_have_the_first_size(resized_ts, tmp_path):
    source, _ = resized_ts
    info = probe(source)
    (still,) = stills_at(source, info, [1.0])
    assert still.image_bgr.shape == (BIG[1], BIG[0], 3)
    drawn_shapes = set()

    def draw(image, t):
        drawn_shapes.add(image.shape)
        return image

    result = cut_clip(
        source, tmp_path / "clip.mp4", 0.4, 1.0, draw=draw, annotated_path=tmp_path / "annotated.mp4", key_t=0.9
    )
    assert drawn_shapes == {(BIG[1], BIG[0], 3)} and result.key.image_bgr.shape == (BIG[1], BIG[0], 3)


def test_the_analysis_warns_that_it_scaled_frames(resized_ts, tmp_path):
    from detector.pipeline import AnalyzeOptions, analyze
    from service.job_report import warning_code

    source, _ = resized_ts
    scene = tmp_path / "scene.yaml"
    scene.write_text(
        "camera: x\nframe_size: [320, 180]\nzones:\n  - {name: a, kind: no_parking, polygon: "
        "[[0, 90], [320, 90], [320, 180], [0, 180]]}\n"
    )

    class SizeChecked(NoBoxes):  # the frames' sizes are what is tested, not the model
        def detect(self, frame):
            assert frame.shape == (BIG[1], BIG[0], 3)
            return super().detect(frame)

    result = analyze(
        source,
        scene,
        tmp_path / "out",
        AnalyzeOptions(evidence=False, motion_gate=False, regions="off"),
        detector=SizeChecked(),
    )
    said = [w for w in result.warnings if warning_code(w) == "size_changed"]
    assert len(said) == 1 and "160x90 from 0.67 s" in said[0] and "320x180" in said[0], result.warnings


def test_the_publication_blur_pass_looks_at_the_pictures_it_blurs(resized_ts):
    """The redaction finds faces and plates on the clip's frames and blurs those regions on the
    frames ``transform_video`` writes; both must be the same pixels, or a box found on a 160x90
    frame lands on a quarter of the 320x180 one and leaves the face it found sharp."""
    from service.redaction import detect_timeline

    source, _ = resized_ts
    seen = set()

    def finder(image):
        seen.add(image.shape)
        return []

    detect_timeline(source, 0.0, [finder])
    assert seen == {(BIG[1], BIG[0], 3)}


def test_the_flight_reports_outline_stays_on_the_offender_after_the_change(resized_ts):
    """The flight report's video letterboxed each frame at its own size, so after the change its
    scale doubled and the offender's outline (boxes in the first size's pixels) was drawn twice as
    far from the corner: off the offender, partly off the picture."""
    from detector.evidence.offences import offence_for
    from detector.reports.cases import ReportCase
    from detector.reports.video import _case_frames, _Frames

    source, _ = resized_ts
    box = (100.0, 50.0, 180.0, 120.0)  # first-size pixels
    case = ReportCase(
        number=1, case_id="c1", rule="illegal_parking", object_class="car",
        offence=offence_for("illegal_parking", "car"), place_zh="", place_en="", clip=source, still=source,
        clip_start_s=0.0, span=(0.8, 1.0), key_t=0.9, start_s=0.8, start_time=None,
        offender=tuple((k / 10, box) for k in range(14)),
    )
    frames = _Frames(*BIG, [case])
    outlined = next(_case_frames(case, 10.0, frames))[: BIG[1]]
    plain = next(_case_frames(ReportCase(**{**case.__dict__, "offender": ()}), 10.0, frames))[: BIG[1]]
    ys, xs = np.nonzero(np.abs(outlined.astype(int) - plain.astype(int)).max(axis=2) > 60)
    assert len(xs) > 100
    assert abs(xs.min() - box[0]) <= 4 and abs(xs.max() - box[2]) <= 4, (xs.min(), xs.max())
    assert abs(ys.min() - box[1]) <= 4 and abs(ys.max() - box[3]) <= 4, (ys.min(), ys.max())
