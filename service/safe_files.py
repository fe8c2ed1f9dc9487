"""Serving files from the data folder without being led out of it.

Evidence and media paths are built from database rows (``out_dir``, ``evidence`` names), and the
folders they point into are written by the pipeline, restored from backups, or copied around by
people. A symlink planted in a case folder (``clip.mp4 -> /etc/shadow``, or a whole case folder
linked elsewhere) must not turn an evidence download into a read of any file the service can
open. So a file is served only when it is a regular file, is not itself a symlink, and its fully
resolved path still lies inside the (resolved) data folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def servable(path: Path, data_dir: Path) -> bool:
    """True when ``path`` may be sent: a regular, non-symlinked file inside ``data_dir``."""
    try:
        if path.is_symlink():
            log.warning("refusing to serve %s: it is a symbolic link", path)
            return False
        resolved = path.resolve(strict=True)
        root = data_dir.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return False
    if not resolved.is_relative_to(root):
        log.warning("refusing to serve %s: it resolves to %s, outside the data folder", path, resolved)
        return False
    return resolved.is_file()
