"""The public clip says nothing of where, when or with what the footage was shot: made from an
evidence clip that carries a drone's GPS location, creation time and model, ``published.mp4``
reads back (PyAV) with none of them; a public clip that did carry one is not published."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import cv2
import pytest

from detector.media.metadata import identifying_tags
from service import redaction
from service.redaction import PublicationTagError, make_published_media

CASE = {
    "frame_size": [960, 540],
    "clip_start_s": 0.0,
    "start_s": 1.0,
    "key_frame": {"t": 1.0, "clip_index": 10},
    "offender_track": [{"t": 0.2 * i, "box": [400, 300, 480, 420]} for i in range(12)],
    "evidence": {"clip": "cases/x/clip.mp4", "snapshot": "cases/x/snapshot.jpg"},
}


@pytest.fixture()
def tagged_case(tmp_path: Path, tagged_flight: Path) -> Path:
    """A case folder whose clip is real footage still carrying the drone's tags."""
    folder = tmp_path / "case"
    folder.mkdir()
    shutil.copyfile(tagged_flight, folder / "clip.mp4")
    with av.open(str(tagged_flight)) as c:
        cv2.imwrite(str(folder / "snapshot.jpg"), next(c.decode(video=0)).to_ndarray(format="bgr24"))
    assert "location" in identifying_tags(folder / "clip.mp4")
    return folder


def test_the_published_clip_carries_no_source_tags(tagged_case: Path, tmp_path: Path) -> None:
    out = tmp_path / "pub"
    make_published_media(tagged_case, out, CASE, "bystanders", finders=[])
    published = out / "published.mp4"
    with av.open(str(published)) as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
        for stream in c.streams:
            tags.update({k.lower(): v for k, v in stream.metadata.items()})
        assert sum(1 for _ in c.decode(video=0)) > 20  # a real clip, not an empty file
    assert not any(word in key for key in tags for word in ("location", "creation", "make", "model", "xyz"))
    assert identifying_tags(published) == []
    data = published.read_bytes()
    assert b"22.5431" not in data and b"114.0579" not in data and b"Mavic" not in data


def test_a_public_clip_with_source_tags_is_refused(tagged_case: Path, tmp_path: Path, tagged_flight: Path,
                                                    monkeypatch) -> None:
    """Should the encoder ever copy the source's tags, nothing is published."""
    def copying_writer(source, out_tmp, redact, clip_start_s, key_index):
        shutil.copyfile(tagged_flight, out_tmp)  # and no redacted key frame: the snapshot serves

    monkeypatch.setattr(redaction, "_write_video", copying_writer)
    out = tmp_path / "pub"
    with pytest.raises(PublicationTagError, match="location"):
        make_published_media(tagged_case, out, CASE, "bystanders", finders=[])
    assert sorted(p.name for p in out.iterdir()) == []  # no published file, no temporary left
