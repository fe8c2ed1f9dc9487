"""Skip detection on analysis frames where nothing in the picture has changed (Frigate's idea).

Detection is ~90 % of the analysis cost. When the picture is the same as at the last detection
(an empty crossing at night, a parking lot between arrivals) the detector would find the same
boxes again; the gate hands back the last detections instead, so the tracker, the stays and the
rules see exactly what they would have seen, at a fraction of the cost. Stationary objects (a
parked car) keep their tracks because their boxes keep coming.

"The same" is judged against the frame of the **last detection**, not the previous frame, so a
slow change (a walker far away, a car creeping forward) adds up until it is seen. The comparison
runs at half resolution with a light blur (compression noise stays under the threshold) and
counts changed pixels, so a distant walker of ~10 px still opens the gate. Detection runs at
least every ``max_skip_s`` whatever happens, so a change the gate cannot see (lighting that fades
in evenly) is caught within that time.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class GateStats:
    frames: int = 0  # analysis frames seen
    skipped: int = 0  # of which detection was skipped

    def to_dict(self) -> dict:
        return {"frames": self.frames, "skipped": self.skipped}


class MotionGate:
    def __init__(self, *, diff_threshold: int = 20, min_changed_px: int = 6, max_skip_s: float = 2.0,
                 scale: float = 0.5) -> None:
        self.diff_threshold = diff_threshold
        self.min_changed_px = min_changed_px
        self.max_skip_s = max_skip_s
        self.scale = scale
        self._reference: np.ndarray | None = None
        self._detected_at: float | None = None
        self.stats = GateStats()

    def _small(self, frame_bgr: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(gray, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (3, 3), 0)

    def changed_px(self, frame_bgr: np.ndarray) -> int | None:
        """Pixels (at the gate's scale) that differ from the last detected frame; None before one."""
        if self._reference is None:
            return None
        small = self._small(frame_bgr)
        if small.shape != self._reference.shape:
            return None
        return int(np.count_nonzero(cv2.absdiff(small, self._reference) > self.diff_threshold))

    def may_skip(self, t: float, frame_bgr: np.ndarray) -> bool:
        """True when detection on this frame would find what the last one found."""
        self.stats.frames += 1
        if self._detected_at is None or t - self._detected_at >= self.max_skip_s:
            return False
        changed = self.changed_px(frame_bgr)
        if changed is None or changed >= self.min_changed_px:
            return False
        self.stats.skipped += 1
        return True

    def detected(self, t: float, frame_bgr: np.ndarray) -> None:
        """Record that detection ran on this frame: the new reference picture."""
        self._reference = self._small(frame_bgr)
        self._detected_at = t
