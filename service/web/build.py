"""Which build of the pages this service serves: a digest of the page files (scripts, styles,
templates, message catalogues).

An exposure screen loads its page once and runs for months. A fix to its script (or a reworded
message) reached a screen in the field only when someone reloaded it by hand. The feed names the
build in a header (``PAGE_BUILD_HEADER``), the screen's page knows the build it was served from,
and a screen that sees another build reloads itself (``static/js/display.js``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
PAGE_BUILD_HEADER = "X-CivicWatch-Page-Build"
PAGE_FOLDERS = ("static", "templates", "i18n")


@lru_cache(maxsize=1)
def page_build() -> str:
    """Digest of every page file, by path and content (read once per process)."""
    digest = hashlib.sha256()
    for folder in PAGE_FOLDERS:
        for path in sorted((WEB_DIR / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(WEB_DIR).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
