"""Sliced inference: the whole frame cut into overlapping tiles, each given to the model at its size.

A drone at 60 m sees a walker as 10-20 px; letterboxed from 1920x1080 into a 512 px model that is
3-5 px, below what any model here can find. Cut into tiles smaller than the model input, each
tile is *enlarged* when it is fed to the model, and the walker keeps (or gains) its pixels. The
cost is one inference per tile, so the tile size and overlap are settings (``SliceSettings``),
on by default for drone scenes only (see ``resolve_slicing``).

The grid is laid much as supervision's ``InferenceSlicer`` and SAHI lay theirs: tiles of one
size, as many as cover the frame with neighbours sharing at least ``overlap``, the last one of each
row and column flush with the frame's edge (no thin sliver for the letterbox to blow up); the
spare is spread evenly between neighbours rather than all given to the last pair. Detection on the tiles and the
merging are ``detector.regions``' (the same code as the zone tiles), with ``join_cut``: an object
cut by a tile's inner edge is joined from its parts when no tile and no frame pass saw it whole.
Why not supervision's slicer itself: benchmarks/README.md, "Small objects".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from detector.regions import Rect, detect_tiles
from detector.types import Detections

if TYPE_CHECKING:
    from detector.detect import ObjectDetector
    from detector.scene import Slicing

DEFAULT_TILE = 320  # frame px: a 512 px model sees a tile enlarged 1.6x (measured best, benchmarks/README.md)
DEFAULT_OVERLAP = 0.2  # of a tile, as SAHI's default
MIN_TILE = 64
MAX_OVERLAP = 0.75


class SlicingError(ValueError):
    """Slicing settings that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class SliceSettings:
    """Tile side in frame pixels and how much of a tile its neighbour covers again."""

    tile: int = DEFAULT_TILE
    overlap: float = DEFAULT_OVERLAP

    def __post_init__(self) -> None:
        if not isinstance(self.tile, int) or self.tile < MIN_TILE:
            raise SlicingError(
                f"slice tile must be a whole number of pixels, at least {MIN_TILE}; got {self.tile!r}"
            )
        if not 0 <= self.overlap <= MAX_OVERLAP:
            raise SlicingError(
                f"slice overlap must be between 0 and {MAX_OVERLAP} of a tile; got {self.overlap!r}"
            )

    @property
    def overlap_px(self) -> int:
        return round(self.tile * self.overlap)


def _starts(length: int, tile: int, overlap_px: int) -> list[int]:
    """Where the tiles of one row (column) start: as few as cover ``length`` with neighbours
    sharing at least ``overlap_px``, spread evenly, the first at 0 and the last flush with the end."""
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap_px) / max(1, tile - overlap_px))
    n = max(n, 2)
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def slice_grid(frame_wh: tuple[int, int], settings: SliceSettings) -> list[Rect]:
    """Tiles covering the whole frame, row by row; neighbours overlap by at least ``overlap_px``.

    A frame side no longer than a tile is one tile of that side (a frame that fits in one tile
    gives one tile: the frame itself, which the caller can skip as the frame pass sees it).
    """
    w, h = frame_wh
    if w <= 0 or h <= 0:
        raise SlicingError(f"frame size must be positive, got {frame_wh}")
    t, o = settings.tile, settings.overlap_px
    xs, ys = _starts(w, t, o), _starts(h, t, o)
    return [(x, y, min(x + t, w), min(y + t, h)) for y in ys for x in xs]


def resolve_slicing(
    mode: str,
    kind: str,
    scene_slicing: Slicing | None,
    tile: int | None = None,
    overlap: float | None = None,
) -> SliceSettings | None:
    """The settings an analysis slices with, or None for no slicing.

    ``mode`` "auto": the scene decides (its ``slicing`` field; without one, on for drone scenes
    and off for fixed cameras, whose zone tiles do the same job where the rules look); "on" /
    "off" override it. ``tile`` / ``overlap`` (the CLI's, the options') win over the scene's.
    """
    if mode not in ("auto", "on", "off"):
        raise SlicingError(f"slicing must be 'auto', 'on' or 'off', got {mode!r}")
    if mode == "off":
        return None
    on = mode == "on" or (
        scene_slicing.enabled if scene_slicing is not None else kind == "drone"
    )
    if not on:
        return None
    base_tile = (
        scene_slicing.tile
        if scene_slicing is not None and scene_slicing.tile
        else DEFAULT_TILE
    )
    base_overlap = (
        scene_slicing.overlap if scene_slicing is not None else DEFAULT_OVERLAP
    )
    return SliceSettings(
        tile if tile is not None else base_tile,
        overlap if overlap is not None else base_overlap,
    )


def frame_tiles(frame_wh: tuple[int, int], settings: SliceSettings) -> list[Rect]:
    """``slice_grid`` for the pipeline: none when one tile would be the whole frame (the frame
    pass already sees it at that scale)."""
    tiles = slice_grid(frame_wh, settings)
    return [] if tiles == [(0, 0, *frame_wh)] else tiles


def sliced_detect(
    detector: ObjectDetector, settings: SliceSettings
) -> Callable[[np.ndarray], Detections]:
    """A frame -> detections callable: the whole frame plus its slice grid, merged (cut objects
    joined). ``eval detections --slice-tile`` scores exactly this."""

    def detect(frame: np.ndarray) -> Detections:
        h, w = frame.shape[:2]
        return detect_tiles(
            detector,
            frame,
            frame_tiles((w, h), settings),
            detector.detect(frame),
            join_cut_objects=True,
        )

    return detect
