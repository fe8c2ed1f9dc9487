"""Where models live on disk.

The model directory is resolved from this file's location (``<repo>/models``) rather than the
working directory, so that the CLI, the service and the tests all find the same cache whatever
folder they were started from. ``CIVICWATCH_MODELS_DIR`` moves it (e.g. to a writable volume in
a container).
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS_DIR_ENV = "CIVICWATCH_MODELS_DIR"
REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
MANIFEST_NAME = "manifest.yaml"


def models_dir() -> Path:
    """The model directory: ``$CIVICWATCH_MODELS_DIR`` if set, else ``<repo>/models``."""
    override = os.environ.get(MODELS_DIR_ENV)
    return Path(override).expanduser() if override else REPO_MODELS_DIR


def cache_dir(base: Path | None = None) -> Path:
    """Converted models are written here (git-ignored: they are rebuilt from the manifest)."""
    return (base or models_dir()) / "cache"


def manifest_path(base: Path | None = None) -> Path:
    """The manifest in the model directory, falling back to the one shipped in the repository.

    An overridden model directory usually holds only the cache, so the default model's
    description still comes from the repository unless the operator supplied their own.
    """
    candidate = (base or models_dir()) / MANIFEST_NAME
    return candidate if candidate.is_file() else REPO_MODELS_DIR / MANIFEST_NAME
