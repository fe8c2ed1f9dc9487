"""Two workers making one live connection's anchor still at once.

Every window of an unbroken recording measures camera sway against the recording's first
picture, kept as ``live/<camera>/anchor-<connection>.png`` and made by the first window's job that
needs it. After a restart (or any backlog) a worker pool takes several windows of one connection
at the same moment; each decoded the picture into the one temporary name ``anchor-<c>.part.png``,
and the second rename found the file gone: that window's job stopped with FileNotFoundError.
"""

from __future__ import annotations

import pathlib
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2

from service.live import segments
from service.models import LiveSegment

from .helpers import CLIP


class _FirstSegmentOnly:
    """The one query ``connection_anchor`` makes: the connection's first segment's path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def scalar(self, _query):  # noqa: ANN001, ANN202
        return self.path


def test_two_windows_making_one_anchor_still_at_once_both_get_it(tmp_path, footage_dir, monkeypatch):
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "seg-1.mp4").symlink_to(footage_dir / CLIP)
    seg = LiveSegment(camera_id="bj-overpass", connection="c1")
    both_written = threading.Barrier(2, timeout=20)
    replace = pathlib.Path.replace

    def replace_together(self, target):  # noqa: ANN001, ANN202 - both have written their picture before either renames
        both_written.wait()
        return replace(self, target)

    monkeypatch.setattr(pathlib.Path, "replace", replace_together)
    with ThreadPoolExecutor(2) as pool:
        made = list(
            pool.map(lambda _: segments.connection_anchor(_FirstSegmentOnly("live/seg-1.mp4"), seg, tmp_path), range(2))
        )
    assert made[0] == made[1] == tmp_path / "live" / "bj-overpass" / "anchor-c1.png"
    assert cv2.imread(str(made[0])).shape[:2] == (540, 960)
    assert [p.name for p in made[0].parent.iterdir()] == ["anchor-c1.png"]  # no temporary file left
