"""Published media: bystanders blurred, the offender kept, valid H.264, files never rewritten."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from detector.types import Detections
from service import redaction
from service.redaction import Region, boxes_to_blur, make_published_media, offender_box_at
from still_clips import still_clip

W, H, FPS, FRAMES = 320, 240, 10, 12
# Scene pixels are twice the video's: the offender box (scene) maps to (20,20)-(100,100) in video.
CASE = {
    "frame_size": [640, 480],
    "clip_start_s": 5.0,
    "start_s": 5.5,
    "key_frame": {"t": 5.5, "clip_index": 5},
    "offender_track": [{"t": 4.0 + 0.5 * i, "box": [40, 40, 200, 200]} for i in range(9)],
    "evidence": {"clip": "cases/x/clip.mp4", "snapshot": "cases/x/snapshot.jpg"},
}
OFFENDER_VIDEO = (20, 20, 100, 100)
OFFENDER_FACE = Region((40.0, 30.0, 70.0, 60.0), "face")
BYSTANDER_FACE = Region((200.0, 120.0, 280.0, 200.0), "face")


def _texture() -> np.ndarray:
    """A checkerboard: detail that blurring destroys and H.264 keeps."""
    yy, xx = np.mgrid[0:H, 0:W]
    board = (((xx // 8) + (yy // 8)) % 2 * 200 + 28).astype(np.uint8)
    return np.dstack([board, board, board])


@pytest.fixture()
def case_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "case"
    folder.mkdir()
    frame = _texture()
    still_clip(frame, folder / "clip.mp4", FRAMES, FPS, crf=12)
    cv2.imwrite(str(folder / "snapshot.jpg"), frame)
    return folder


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def _crop(img: np.ndarray, box: tuple) -> np.ndarray:
    x1, y1, x2, y2 = (int(v) for v in box)
    return img[y1:y2, x1:x2].astype(np.float32)


def _fake_finder(frame: np.ndarray) -> list[Region]:
    return [OFFENDER_FACE, BYSTANDER_FACE]


def _is_blurred(out: np.ndarray, box: tuple) -> bool:
    return _crop(out, box).std() < 0.35 * _crop(_texture(), box).std()


def _is_kept(out: np.ndarray, box: tuple) -> bool:
    return np.abs(_crop(out, box) - _crop(_texture(), box)).mean() < 8


def test_bystanders_policy_blurs_bystanders_and_keeps_offender(case_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "pub"
    hashes = make_published_media(case_dir, out_dir, CASE, "bystanders", finders=[_fake_finder])
    assert set(hashes) == {"published.mp4", "published.jpg"}
    for name, sha in hashes.items():
        assert hashlib.sha256((out_dir / name).read_bytes()).hexdigest() == sha
    frames = _frames(out_dir / "published.mp4")
    assert len(frames) == FRAMES
    for f in frames:
        assert _is_blurred(f, BYSTANDER_FACE.box)
        assert _is_kept(f, OFFENDER_FACE.box)
    still = cv2.imread(str(out_dir / "published.jpg"))
    assert _is_blurred(still, BYSTANDER_FACE.box)
    assert _is_kept(still, OFFENDER_FACE.box)
    # no temporary files left behind
    assert sorted(p.name for p in out_dir.iterdir()) == ["published.jpg", "published.mp4"]


def test_published_video_is_browser_ready_h264(case_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "pub"
    make_published_media(case_dir, out_dir, CASE, "bystanders", finders=[_fake_finder])
    data = (out_dir / "published.mp4").read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat"), "moov atom must precede mdat (faststart)"
    with av.open(str(out_dir / "published.mp4")) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264"
        assert v.codec_context.pix_fmt == "yuv420p"
        assert not c.streams.audio


def test_policy_all_blurs_the_offender_face_too(case_dir: Path, tmp_path: Path) -> None:
    make_published_media(case_dir, tmp_path / "pub", CASE, "all", finders=[_fake_finder])
    f = _frames(tmp_path / "pub" / "published.mp4")[3]
    assert _is_blurred(f, OFFENDER_FACE.box)
    assert _is_blurred(f, BYSTANDER_FACE.box)


def test_policy_none_blurs_nothing(case_dir: Path, tmp_path: Path) -> None:
    make_published_media(case_dir, tmp_path / "pub", CASE, "none", finders=[_fake_finder])
    f = _frames(tmp_path / "pub" / "published.mp4")[3]
    assert _is_kept(f, OFFENDER_FACE.box)
    assert _is_kept(f, BYSTANDER_FACE.box)


def test_without_any_finder_everything_but_the_offender_is_blurred(case_dir: Path, tmp_path: Path) -> None:
    make_published_media(case_dir, tmp_path / "pub", CASE, "bystanders", finders=[])
    f = _frames(tmp_path / "pub" / "published.mp4")[3]
    assert _is_kept(f, (30, 30, 90, 90))
    assert _is_blurred(f, (150, 110, 310, 230))


def test_existing_published_file_is_never_rewritten(case_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "pub"
    out_dir.mkdir()
    (out_dir / "published.jpg").write_bytes(b"earlier file")
    hashes = make_published_media(case_dir, out_dir, CASE, "bystanders", finders=[_fake_finder])
    assert (out_dir / "published.jpg").read_bytes() == b"earlier file"
    assert hashes["published.jpg"] == hashlib.sha256(b"earlier file").hexdigest()


def test_snapshot_is_used_when_the_clip_is_missing(case_dir: Path, tmp_path: Path) -> None:
    (case_dir / "clip.mp4").unlink()
    hashes = make_published_media(case_dir, tmp_path / "pub", CASE, "bystanders", finders=[_fake_finder])
    assert list(hashes) == ["published.jpg"]
    assert _is_blurred(cv2.imread(str(tmp_path / "pub" / "published.jpg")), BYSTANDER_FACE.box)


def test_a_key_frame_left_out_of_the_clip_gives_a_still_from_the_clip_not_the_annotated_snapshot(
        case_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The snapshot is the analysis's annotated key frame: every track's "car #4" label and the
    zone's key are drawn on it. When the public clip leaves its key frame out, the still was the
    redacted snapshot, labels and all; it is the same frame from the clip, redacted on its own."""
    label = (150, 20, 300, 60)  # where nothing is blurred: the label would reach the screen as drawn
    annotated = _texture()
    cv2.rectangle(annotated, label[:2], label[2:], (255, 0, 255), -1)
    cv2.putText(annotated, "car #4", (155, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    cv2.imwrite(str(case_dir / "snapshot.jpg"), annotated)
    real = redaction.transform_video

    def dropping_the_key_frame(source, out, draw, *, t_offset, keep_index):
        seen = []

        def draw_or_drop(image, t):
            seen.append(t)
            done = draw(image, t)
            return None if len(seen) - 1 == keep_index else done

        return real(source, out, draw_or_drop, t_offset=t_offset, keep_index=keep_index)

    monkeypatch.setattr(redaction, "transform_video", dropping_the_key_frame)
    hashes = make_published_media(case_dir, tmp_path / "pub", CASE, "bystanders", finders=[_fake_finder])
    assert set(hashes) == {"published.mp4", "published.jpg"}
    assert len(_frames(tmp_path / "pub" / "published.mp4")) == FRAMES - 1  # the key frame is left out
    still = cv2.imread(str(tmp_path / "pub" / "published.jpg"))
    assert _is_kept(still, label)  # the clip's clean picture there, no label
    assert _is_blurred(still, BYSTANDER_FACE.box) and _is_kept(still, OFFENDER_FACE.box)


def test_a_key_frame_past_the_frames_the_clip_decodes_gives_a_still_from_the_clip_not_the_annotated_snapshot(
        case_dir: Path, tmp_path: Path) -> None:
    """The key frame's index counts the clip's packets (``detector.evidence.writer._frame_index``);
    a clip whose damaged packets do not decode has fewer pictures, and a key frame near its end then
    lay past the last one. Nothing was kept for the still, and it was the annotated snapshot,
    redacted, with the bystanders' track labels and the zone's key drawn where nothing is blurred.
    It is the clip's picture nearest the key frame (its last), redacted on its own."""
    label = (150, 20, 300, 60)
    annotated = _texture()
    cv2.rectangle(annotated, label[:2], label[2:], (255, 0, 255), -1)
    cv2.putText(annotated, "car #4", (155, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    cv2.imwrite(str(case_dir / "snapshot.jpg"), annotated)
    case = {**CASE, "key_frame": {"t": 6.3, "clip_index": FRAMES + 3}}
    hashes = make_published_media(case_dir, tmp_path / "pub", case, "bystanders", finders=[_fake_finder])
    assert set(hashes) == {"published.mp4", "published.jpg"}
    still = cv2.imread(str(tmp_path / "pub" / "published.jpg"))
    assert _is_kept(still, label)  # the clip's clean picture there, no label
    assert _is_blurred(still, BYSTANDER_FACE.box) and _is_kept(still, OFFENDER_FACE.box)


def test_unknown_policy_is_refused(case_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="policy"):
        make_published_media(case_dir, tmp_path / "pub", CASE, "some")


def test_offender_box_interpolates_and_expires() -> None:
    case = {"offender_track": [{"t": 1.0, "box": [0, 0, 10, 10]}, {"t": 2.0, "box": [10, 0, 20, 10]}]}
    assert offender_box_at(case, 1.5) == (5.0, 0.0, 15.0, 10.0)
    assert offender_box_at(case, 2.5) == (10.0, 0.0, 20.0, 10.0)
    assert offender_box_at(case, 3.5) is None  # the track ended long ago: no offender to spare


def test_whole_person_boxes_spare_only_the_offender() -> None:
    offender = (100.0, 100.0, 200.0, 300.0)
    me = Region((105.0, 98.0, 198.0, 305.0), "person")
    other = Region((300.0, 100.0, 380.0, 300.0), "person")
    assert boxes_to_blur([me, other], offender, "bystanders") == [other.box]
    blurred_all = boxes_to_blur([me, other], offender, "all")
    assert other.box in blurred_all
    head = [b for b in blurred_all if b != other.box][0]
    assert head[3] < me.box[3] and head[1] == me.box[1]  # only the head part of the offender


def test_detector_finder_maps_classes() -> None:
    class FakeDetector:
        def detect(self, frame: np.ndarray) -> Detections:
            return Detections(np.array([[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 1, 1]], np.float32),
                              np.array([0.9, 0.8, 0.7], np.float32), np.array([0, 2, 16]),
                              {0: "person", 2: "car", 16: "dog"})

    find = redaction.detector_finder(load=FakeDetector)
    regions = find(np.zeros((10, 10, 3), np.uint8))
    assert [(r.kind, r.box) for r in regions] == [("person", (1.0, 2.0, 3.0, 4.0)), ("vehicle", (5.0, 6.0, 7.0, 8.0))]


def test_detector_finder_is_none_when_model_cannot_load() -> None:
    def broken():
        raise RuntimeError("no model")

    assert redaction.detector_finder(load=broken) is None
