"""Trim a recording folder's ``index.jsonl`` of what is about footage retention has deleted.

A recorder appends a line per segment and gap for as long as its camera is recorded, so the index
of a camera recorded for a year held a year of lines about files deleted long ago, and every start
of its recorder read them all (``Recorder.earlier_segments``). ``trim_index`` drops the lines
before a cutoff whose footage is gone, by writing the rest to a new file and renaming it over the
index (fsynced before and after, like a finished segment: a power cut leaves the old index or the
new one, never half of either).

Why under a lock, and why a prefix
----------------------------------
The recorder goes on appending while the service trims: a line it appended to the old file
between the trim's read and its rename would be lost with the old file. So every write of the
index, the recorder's appends included, holds the folder's index lock (``index_lock``, a flock
on ``.index.lock``); the trim takes it without waiting and leaves the folder for the next sweep
when a recorder is writing (an append holds it for one line). The folder's recorder claim
(``.recorder.lock``) would not do: it is held for as long as the camera is recorded, so the index
of a camera recorded without a break would never be trimmed; neither would a recorder that trims
at its start. As a last guard (a recorder of an older version, which appends without the lock),
the new file replaces the index only while the index is still the file read, at the size read.

Only a *prefix* is dropped, and the last segment line in it stays, so that what a recorder reads
back at its start (``earlier_segments``, ``earlier_gaps``, ``read_index``) is what it read before,
less the lines about deleted footage:

- a segment line goes only when its file is gone and it ended before the cutoff, so a segment on
  disk never loses its line (it would come back as unlisted and be "recovered", registered again);
- lines are written in time order, so every line of the prefix was written before its last
  segment line: a gap told open there was closed before it (by its close line, which is kept when
  it comes later: the gap reads as it did, or by the next segment's start), and an ``unreadable``
  or ``discarded`` line is about a file set aside or removed then;
- the last segment line of the prefix is kept: the next segment's ``follows`` (how a segment the
  database missed joins its recording) and the end of the folder's last segment (a restarted
  recorder's "no recorder was running" gap begins there) still read from it;
- the first line that is not about deleted footage before the cutoff (a segment still on disk, an
  ``unreadable`` file still kept, a type this module does not know) ends the prefix: nothing after
  it is dropped. A torn line (a recorder killed mid-write, its line ended at the next claim) is
  dropped with the prefix: nothing could read it.

An index is rewritten only once its first line is older than the cutoff by more than ``slack``
(retention passes a day): retention sweeps every minute, and trimming a minute of lines each time
would rewrite the whole file every minute.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from detector.media.recorder import INDEX_NAME, _fsync_dir, _fsync_file, index_lock

log = logging.getLogger(__name__)

TRIM_SUFFIX = ".trim"  # the new index while it is written (``index.jsonl.trim``)


@dataclass(frozen=True)
class TrimResult:
    """``dropped`` lines (``dropped_bytes``) left the index; ``skipped``: why nothing was done
    although something might have been (the lock was held, the index changed while read)."""

    dropped: int = 0
    dropped_bytes: int = 0
    skipped: str | None = None


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _latest(entry: dict) -> datetime | None:
    """The latest time an index line speaks of (None: it names none)."""
    times = [t for t in (_when(entry.get("start")), _when(entry.get("end"))) if t is not None]
    return max(times) if times else None


def _gone(out_dir: Path, name: object) -> bool:
    """Whether the file an index line names is no longer in ``out_dir`` (only its base name is
    looked at: an index line never names anything outside its folder)."""
    return isinstance(name, str) and bool(name) and not (out_dir / Path(name).name).exists()


def _droppable(out_dir: Path, line: bytes, before: datetime) -> tuple[bool, bool]:
    """(whether ``line`` may go with the prefix, whether it is a segment line)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return True, False  # a torn line: nothing reads it
    if not isinstance(entry, dict):
        return True, False
    kind, latest = entry.get("type"), _latest(entry)
    old = latest is not None and latest < before
    if kind == "segment":
        return old and _gone(out_dir, entry.get("path")), True
    if kind == "gap":
        return old, False
    if kind == "unreadable":
        return (latest is None or old) and _gone(out_dir, entry.get("set_aside_as")), False
    if kind == "discarded":  # its *.part was removed when the line was written
        return latest is None or old, False
    return False, False  # a line this module does not know: kept, and all after it


def _head_time(path: Path) -> datetime | None:
    """The latest time the index's first readable line speaks of."""
    with path.open("rb") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            return _latest(entry) if isinstance(entry, dict) else None
    return None


def trim_index(out_dir: Path, before: datetime, slack: timedelta = timedelta(0)) -> TrimResult:
    """Drop the lines of ``out_dir/index.jsonl`` about footage deleted that ended before ``before``
    (see the module docstring for which, and why so); done only when the index's first line is
    older than ``before - slack``. Never raises for an index it cannot read or write: logged, and
    tried again at the next call."""
    out_dir = Path(out_dir)
    path = out_dir / INDEX_NAME
    try:
        head = _head_time(path)
    except FileNotFoundError:
        return TrimResult()
    except OSError as err:
        log.warning("%s: not trimmed (%s)", path, err)
        return TrimResult(skipped=str(err))
    if head is not None and head >= before - slack:
        return TrimResult()
    with index_lock(out_dir, wait=False) as held:
        if not held:
            return TrimResult(skipped="a recorder is writing the index")
        try:
            return _rewrite(out_dir, path, before)
        except OSError as err:
            log.warning("%s: not trimmed (%s)", path, err)
            (out_dir / (INDEX_NAME + TRIM_SUFFIX)).unlink(missing_ok=True)
            return TrimResult(skipped=str(err))


def _rewrite(out_dir: Path, path: Path, before: datetime) -> TrimResult:
    """Under the index lock: the prefix found, the rest copied to a new file renamed over the index."""
    tmp = out_dir / (INDEX_NAME + TRIM_SUFFIX)
    with path.open("rb") as f:
        read_stat = os.fstat(f.fileno())
        cut = dropped = offset = lines = 0
        for line in f:
            if not line.endswith(b"\n"):
                break  # a torn last line: its recorder's successor ends it
            ok, segment = _droppable(out_dir, line, before)
            if not ok:
                break
            if segment:  # the prefix ends before it: this line is kept (module docstring)
                cut, dropped = offset, lines
            offset += len(line)
            lines += 1
        if cut == 0:
            return TrimResult()
        f.seek(cut)
        with tmp.open("wb") as out:
            while chunk := f.read(1 << 20):
                out.write(chunk)
            size = cut + out.tell()
        os.chmod(tmp, read_stat.st_mode & 0o7777)
        if (read_stat.st_uid, read_stat.st_gid) != (os.geteuid(), os.getegid()):
            try:  # the recorder may run as another user: its index stays its own
                os.chown(tmp, read_stat.st_uid, read_stat.st_gid)
            except OSError as err:
                tmp.unlink(missing_ok=True)
                log.warning("%s: not trimmed: the new file could not be given to its owner (%s)", path, err)
                return TrimResult(skipped=f"owner not kept: {err}")
        _fsync_file(tmp)
        now = path.stat()
        if (now.st_ino, now.st_size) != (read_stat.st_ino, size):
            tmp.unlink(missing_ok=True)  # written meanwhile without the lock: the next sweep tries again
            return TrimResult(skipped="the index changed while it was trimmed")
        tmp.replace(path)
    _fsync_dir(out_dir)
    log.info("%s: %d line(s) (%d bytes) about deleted footage trimmed", path, dropped, cut)
    return TrimResult(dropped=dropped, dropped_bytes=cut)
