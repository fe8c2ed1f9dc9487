"""An upload whose header claims far more video than the file holds.

A 1.5 s clip whose MKV Duration says 31 years was stored with that length; the job runner splits
a job by the stored length, so it planned 16 million 60-second segments of nothing (minutes of
work and millions of rows before the first frame). The stored length is now what the file holds.
"""

from __future__ import annotations

import struct


from footage_clips import reencode
from service.jobs.segments import split_spans

from .conftest import upload_clip
from .helpers import SHORT_CLIP


def _mkv_claiming(footage_dir, path, claimed_ms: float):
    """45 frames of real footage in MKV, its Segment Info Duration set to ``claimed_ms``."""
    reencode(footage_dir, path, "matroska", 45)
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Duration element, an 8-byte float (in ms at the default scale)
    assert at > 0
    struct.pack_into(">d", data, at + 3, claimed_ms)
    path.write_bytes(bytes(data))


def test_upload_claiming_decades_is_stored_with_the_length_it_holds(env, camera, footage_dir, tmp_path):
    clip = tmp_path / "flight.mkv"
    _mkv_claiming(footage_dir, clip, 1e12)
    up = upload_clip(env.operator, clip)
    assert 1.3 < up["duration_s"] < 1.6, up["duration_s"]
    assert split_spans(up["duration_s"], env.app.state.settings) == []  # short: analysed whole
    stored = env.operator.get(f"/api/uploads/{up['upload_id']}").json()
    assert stored["duration_s"] == up["duration_s"]


def test_an_honest_length_is_stored_as_the_container_says(env, camera, footage_dir):
    from detector.decode import probe

    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    assert up["duration_s"] == probe(footage_dir / SHORT_CLIP).duration_s
