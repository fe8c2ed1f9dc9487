"""Queue thumbnails (and evidence files) made by two requests at once.

The service answers on a thread pool, and copies of a case (or two reviewers opening one queue)
ask for the thumbnail of one snapshot at the same moment. Both requests must get the picture:
each made its temporary file under a name of the process id alone, so the second rename found
the file already moved and the request ended 404 (seen as a queue thumbnail that never loaded).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from service import thumbnails


def test_two_threads_making_one_thumbnail_both_get_it(tmp_path, monkeypatch):
    source = tmp_path / "snapshot.jpg"
    picture = np.zeros((360, 640, 3), np.uint8)
    cv2.rectangle(picture, (100, 80), (300, 260), (0, 200, 255), -1)
    assert cv2.imwrite(str(source), picture)
    both_written = threading.Barrier(2, timeout=10)
    replace = thumbnails.os.replace

    def replace_together(src, dst):  # both have written their file before either renames it
        both_written.wait()
        return replace(src, dst)

    monkeypatch.setattr(thumbnails.os, "replace", replace_together)
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda _: thumbnails.thumbnail(source, 96, tmp_path / "data"), range(2)))
    assert made[0] == made[1] and made[0].is_file()
    assert cv2.imread(str(made[0])).shape[:2] == (54, 96)
    assert [p.name for p in made[0].parent.iterdir()] == [made[0].name]  # no temporary file left


def test_two_threads_storing_one_key_at_once_both_succeed(tmp_path, monkeypatch):
    """The same race in the local evidence store: two writers of one key (a case's annotated clip
    rendered by two requests) each write their own temporary file and rename it; the last one wins
    whole, and neither fails."""
    from service import blobstore

    store = blobstore.LocalStore(tmp_path)
    both_written = threading.Barrier(2, timeout=10)
    replace = blobstore.os.replace

    def replace_together(src, dst):
        both_written.wait()
        return replace(src, dst)

    monkeypatch.setattr(blobstore.os, "replace", replace_together)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: store.put_bytes("run/case-1/annotated.mp4", bytes([n]) * 1000), range(2)))
    written = (tmp_path / "run" / "case-1" / "annotated.mp4").read_bytes()
    assert written in (b"\0" * 1000, b"\1" * 1000)
    assert [p.name for p in (tmp_path / "run" / "case-1").iterdir()] == ["annotated.mp4"]
