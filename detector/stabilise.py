"""Camera motion of a "fixed" camera: the shift, turn and zoom of each frame against the first.

Pole-mounted cameras sway in the wind, phone recordings drift, and a drifting picture moves every
parked car with it: a stopped vehicle's ground point walks out of its stationary radius and one
stop breaks into several short stays. So before tracking, each analysis frame is registered to a
reference (the first analysis frame) and the detections are mapped into the reference's pixels;
zones, which are drawn on the reference, then stay on the ground.

How: corners (Shi-Tomasi) are picked once on the reference; each frame, pyramidal Lucas-Kanade
optical flow follows them into the frame, starting from where the previous estimate put them (so
an accumulated drift of many pixels is still a small search), and a similarity transform (shift,
rotation, scale) is fitted with RANSAC: cars and people moving through the picture are outliers.
Registering to the reference, never frame to frame, keeps errors from accumulating. A frame whose
fit is poor (too few inliers) keeps the last good transform and is counted.

Only *small* motion is taken out: sway and drift of a camera that is meant to stand still. When
the picture has moved further than ``max_anchor_shift`` (a share of the width) from the reference,
the camera was moved on purpose (a hand-held phone panning after someone): the current frame
becomes the new reference, counted as a re-anchor, so zones stay tied to what the camera shows
now instead of to a view it left. Moving platforms (drones) need registration to a scene
reference image, which this module does not attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.types import Detections

WORK_WIDTH = 480  # registration runs on a frame this wide (enough for sub-pixel shifts at 1080p)
MAX_STEP_SHARE = 0.05  # largest believable move between two analysis frames, share of the width
MAX_ANCHOR_SHIFT = 0.04  # beyond this share of the width from the reference, take a new reference
POOR_RUN_REANCHOR = 3  # this many unregistrable frames in a row: take a new reference
MAX_ZOOM_STEP = 0.08  # largest believable change of scale (area) against the reference, for a fixed camera


@dataclass
class MotionStats:
    frames: int = 0
    poor: int = 0
    reanchored: int = 0
    max_shift_px: float = 0.0  # largest displacement of the frame centre, in frame pixels
    quality: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        q = self.quality
        return {"frames": self.frames, "poorly_registered": self.poor, "reanchored": self.reanchored,
                "max_shift_px": round(self.max_shift_px, 1),
                "mean_inlier_share": round(float(np.mean(q)), 3) if q else None}


class CameraMotion:
    """Per frame: the 2x3 transform from frame pixels to reference pixels (``to_reference``)."""

    def __init__(self, *, max_corners: int = 400, min_inliers: int = 25, min_inlier_share: float = 0.3) -> None:
        self.max_corners = max_corners
        self.min_inliers = min_inliers
        self.min_inlier_share = min_inlier_share
        self._ref_gray: np.ndarray | None = None
        self._ref_pts: np.ndarray | None = None
        self._scale = 1.0
        self._guess: np.ndarray | None = None  # reference points as last seen in the frame (work px)
        self.matrix = np.eye(2, 3, dtype=np.float64)  # frame px -> reference px
        self.stats = MotionStats()
        self._poor_run = 0
        # At the last re-anchor: the 2x3 from the old reference's pixels to the new one's (frame px),
        # or None where the view was lost (unregistrable frames) and nothing ties the two together.
        self.reanchor_step: np.ndarray | None = None

    def _prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        self._scale = min(1.0, WORK_WIDTH / w)
        small = cv2.resize(frame_bgr, (int(round(w * self._scale)), int(round(h * self._scale))),
                           interpolation=cv2.INTER_AREA) if self._scale < 1.0 else frame_bgr
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)

    def update(self, frame_bgr: np.ndarray, moving: np.ndarray | None = None) -> np.ndarray:
        """Register ``frame_bgr``; ``moving`` (N, 4) are boxes to keep corners off on the reference."""
        gray = self._prepare(frame_bgr)
        self.stats.frames += 1
        if self._ref_gray is None:
            self._anchor(gray, moving)
            self.stats.quality.append(1.0)
            return self.matrix
        if self._ref_pts is None or len(self._ref_pts) < self.min_inliers:
            # The reference has too few corners to follow (the video began black, or with a frame
            # the camera had not yet exposed): nothing can be registered to it, so the first frame
            # with corners becomes the reference instead of the sway going unmeasured all video.
            self.stats.poor += 1
            self._anchor(gray, moving)
            return self.matrix
        found, status, _ = cv2.calcOpticalFlowPyrLK(
            self._ref_gray, gray, self._ref_pts, self._guess.copy(), winSize=(21, 21), maxLevel=3,
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
        )
        ok = status.reshape(-1).astype(bool)
        if ok.sum() < self.min_inliers:
            return self._poor(gray, moving)
        src, dst = found[ok].reshape(-1, 2), self._ref_pts[ok].reshape(-1, 2)
        m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.5,
                                                 maxIters=500, confidence=0.99)
        n_in = int(inliers.sum()) if inliers is not None else 0
        share = n_in / max(1, int(ok.sum()))
        if m is None or n_in < self.min_inliers or share < self.min_inlier_share:
            self.stats.quality.append(share)
            return self._poor(gray, moving)
        s = self._scale
        full = m.copy()
        full[:, 2] /= s  # same rotation/scale, translation back in full-frame pixels
        h, w = frame_bgr.shape[:2]
        c = np.array([w / 2.0, h / 2.0])
        step = (full[:, :2] @ c + full[:, 2]) - (self.matrix[:, :2] @ c + self.matrix[:, 2])
        if float(np.hypot(*step)) > MAX_STEP_SHARE * w or abs(np.linalg.det(full[:, :2]) - 1.0) > MAX_ZOOM_STEP:
            # Sway and drift are smooth; a sudden jump is a fit that locked onto traffic.
            self.stats.quality.append(share)
            return self._poor(gray, moving)
        self._poor_run = 0
        self.stats.quality.append(share)
        # Next frame's search starts where this one put every reference corner.
        inv = cv2.invertAffineTransform(m)
        ref = self._ref_pts.reshape(-1, 2)
        self._guess = (ref @ inv[:, :2].T + inv[:, 2]).reshape(-1, 1, 2).astype(np.float32)
        moved = full[:, :2] @ c + full[:, 2] - c
        if float(np.hypot(*moved)) > MAX_ANCHOR_SHIFT * w:
            self.stats.reanchored += 1
            self.reanchor_step = cv2.invertAffineTransform(full)  # this frame is the new reference
            self._anchor(gray, moving)
            return self.matrix
        self.matrix = full
        self.stats.max_shift_px = max(self.stats.max_shift_px, float(np.hypot(*moved)))
        return self.matrix

    def _poor(self, gray: np.ndarray, moving: np.ndarray | None) -> np.ndarray:
        """A frame that could not be registered keeps the last transform; several in a row mean
        the view is gone (a pan, a bump): start again from this frame."""
        self.stats.poor += 1
        self._poor_run += 1
        if self._poor_run >= POOR_RUN_REANCHOR:
            self.stats.reanchored += 1
            self.reanchor_step = None
            self._anchor(gray, moving)
        return self.matrix

    def _anchor(self, gray: np.ndarray, moving: np.ndarray | None) -> None:
        """Make ``gray`` the reference: corners off the moving boxes, identity transform."""
        mask = np.full(gray.shape, 255, np.uint8)
        if moving is not None:
            for x1, y1, x2, y2 in (np.asarray(moving) * self._scale).astype(int):
                mask[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = 0
        pts = cv2.goodFeaturesToTrack(gray, self.max_corners, 0.01, 8, mask=mask)
        self._ref_gray, self._ref_pts = gray, pts
        self._guess = pts.copy() if pts is not None else None
        self.matrix = np.eye(2, 3, dtype=np.float64)
        self._poor_run = 0


def map_boxes(xyxy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Boxes through a 2x3 similarity transform (corners mapped, then their bounding box)."""
    if len(xyxy) == 0:
        return xyxy
    x1, y1, x2, y2 = xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3]
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x1, y2], 1), np.stack([x2, y2], 1)], 1)
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1).astype(np.float32)


def to_reference(detections: Detections, matrix: np.ndarray) -> Detections:
    if np.allclose(matrix, np.eye(2, 3), atol=1e-6) or not len(detections):
        return detections
    return Detections(map_boxes(detections.xyxy, matrix), detections.confidence, detections.class_id,
                      detections.class_names)
