"""Registration of drone frames to the scene's reference image.

A drone drifts, turns and climbs while it hovers, so a parked car moves across the picture and a
zone drawn on the picture slides off the road. Every analysis frame is therefore registered to
one reference image of the place (the scene's ``reference_image``, or the flight's first frame
that has enough texture), never to the previous frame: frame-to-frame errors add up, errors
against a fixed reference do not. Detections are mapped into the reference's pixels, where the
zones were drawn, and tracking, dwell and direction are computed there.

How: ORB features on the reference (once) and on each frame, with the frame's detections masked
out (moving vehicles would pull the fit), nearest-neighbour matching with Lowe's ratio test, and a
homography fitted with USAC_ACCURATE (OpenCV; LO-RANSAC with graph-cut refinement, which held where MAGSAC settled between the ground and slow traffic). The ground of a nadir or oblique view is close to a
plane, which a homography maps exactly. A frame is *registered* when enough matches agree and the
homography is plausible (no mirror, no extreme scale or perspective); otherwise it is counted and
its detections are not used: a frame that cannot be placed on the reference must not produce a
case. The quality of a frame is its share of agreeing matches.

Not supported: flights that move along a road so that later frames no longer overlap the
reference (a mosaic of the flight would be needed); their frames are reported as unregistered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.types import Detections

WORK_WIDTH = 960  # registration runs on images this wide
MIN_KEYPOINTS = 200  # a frame with fewer cannot serve as the reference (sky, blur, water)
# A reference image may be any resolution of the scene's frame_size (scaled evenly); a shape
# further from it than this (ratio of width/height ratios) is refused: 1 % keeps the odd pixel of
# a downscaled picture and a 1088-line frame, and is ~10 px at the edge of a 960 px picture.
REFERENCE_SHAPE_TOLERANCE = 0.01


def check_reference_shape(size: tuple[int, int], scene_size: tuple[int, int]) -> None:
    """ValueError naming both sizes when a reference image of ``size`` is not the shape of the
    scene's ``frame_size``.

    The zones are drawn on the reference in ``frame_size`` pixels. A reference of the same shape
    at another resolution is the same picture scaled, and is scaled back evenly. One of another
    shape cannot say where the zones were drawn on it: stretched onto the frame (as it silently
    was) every zone and the ground under it slid sideways or up by up to the difference, and
    padding or cropping it would guess which part the zones refer to."""
    w, h = size
    sw, sh = scene_size
    if abs((w / h) / (sw / sh) - 1.0) > REFERENCE_SHAPE_TOLERANCE:
        raise ValueError(
            f"the reference image is {w}x{h} but the scene's frame_size is {sw}x{sh}, another shape: the zones "
            f"are drawn on the reference in frame_size pixels, so it must be that picture at any size of the "
            f"same shape; set frame_size to the reference's size (and draw the zones on it), or give the "
            f"reference at {sw}x{sh}"
        )


@dataclass
class RegistrationStats:
    frames: int = 0
    registered: int = 0
    unregistered: int = 0
    unregistered_times: list[float] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)
    reference: str = "scene"  # "scene": the scene's reference image; "first frame": the flight's own

    def to_dict(self) -> dict:
        q = self.quality
        times = self.unregistered_times
        return {
            "reference": self.reference,
            "frames": self.frames,
            "registered": self.registered,
            "unregistered": self.unregistered,
            "unregistered_at_s": [round(t, 2) for t in times[:50]],
            "mean_quality": round(float(np.mean(q)), 3) if q else None,
            "min_quality": round(float(np.min(q)), 3) if q else None,
        }


# How many losses a warning names (the rest are counted): a flight that keeps losing its
# registration is said by its share of frames; the first periods say where it began.
LOSSES_NAMED = 10


def registration_losses(frames: list[tuple[float, bool]], step: float,
                        owned: Callable[[float], bool] | None = None) -> list[dict]:
    """The periods frames could not be registered, from ``(t, registered)`` per analysis frame in
    time order: ``{from_s, to_s, frames}`` each, ``from_s`` the first unregistered frame, ``to_s``
    the frame registration came back at (the last frame read plus ``step`` when it did not),
    ``frames`` how many of the loss's frames the run owns (``owned``; all without it). A loss
    none of whose frames are owned is left out: a segment's pre-roll is its neighbour's to tell.

    Said so the operator knows when and for how long nothing was judged; a count alone did not say
    whether it was a few blurred frames here and there or the one minute the cases were in."""
    out: list[dict] = []
    current: dict | None = None
    for t, registered in frames:
        if registered:
            if current is not None:
                current["to_s"] = t
                out.append(current)
                current = None
            continue
        if current is None:
            current = {"from_s": t, "to_s": None, "frames": 0}
        if owned is None or owned(t):
            current["frames"] += 1
    if current is not None:
        current["to_s"] = frames[-1][0] + step
        out.append(current)
    return [{"from_s": round(c["from_s"], 2), "to_s": round(c["to_s"], 2), "frames": c["frames"]}
            for c in out if c["frames"]]


def merge_losses(losses: list[dict]) -> list[dict]:
    """Losses told by several runs (a split job's segments), one period each: a loss across a
    segment boundary is told by both (each counting the frames it owns), over overlapping
    periods."""
    merged: list[dict] = []
    for loss in sorted(losses, key=lambda x: (x["from_s"], x["to_s"])):
        if merged and loss["from_s"] <= merged[-1]["to_s"] + 1e-6:
            last = merged[-1]
            last["to_s"] = max(last["to_s"], loss["to_s"])
            last["frames"] += loss["frames"]
        else:
            merged.append(dict(loss))
    return merged


def unregistered_warning(unregistered: int, frames: int, reference: str, losses: list[dict]) -> str:
    """The job warning for frames that could not be registered (``service.job_report`` reads its
    numbers and periods back from it: keep its wording)."""
    where = {"scene": "the scene's reference image", "mosaic": "the flight's mosaic"}.get(
        reference, "the flight's first textured frame")
    text = (f"drone frames could not be registered: {unregistered} of {frames} analysis frames do not "
            f"match {where} (too little overlap, blur or another place); they produced no cases")
    if losses:
        named = ", ".join(f"{x['from_s']:.1f}-{x['to_s']:.1f} s ({x['frames']} frames)" for x in losses[:LOSSES_NAMED])
        more = f" and {len(losses) - LOSSES_NAMED} more" if len(losses) > LOSSES_NAMED else ""
        text += f"; nothing was judged {named}{more}"
    return text


class ReferenceRegistration:
    """Per frame: the 3x3 homography from frame pixels to the scene's (reference) pixels, or None.

    ``reference`` is the scene's reference image (any size of the scene's shape: it is taken to
    show the scene's ``scene_size`` pixels; another shape is refused, ``check_reference_shape``);
    None takes the first textured frame of the flight.
    """

    def __init__(self, scene_size: tuple[int, int], reference: np.ndarray | None = None, *,
                 features: int = 3000, ratio: float = 0.8, min_inliers: int = 40,
                 min_inlier_share: float = 0.25, reprojection_px: float = 2.5,
                 model: str = "homography") -> None:
        self.scene_size = scene_size
        # "homography" (a view of the ground from anywhere) or "similarity" (shift, turn and
        # uniform scale only: frame-to-frame steps of a nadir flight, where a full homography's
        # spare freedom turns parallax and noise into a scale drift along the chain).
        self.model = model
        self.ratio = ratio
        self.min_inliers = min_inliers
        self.min_inlier_share = min_inlier_share
        self.reprojection_px = reprojection_px
        self.features = features
        self._orb = cv2.ORB_create(nfeatures=4 * features, scaleFactor=1.2, nlevels=8, fastThreshold=10)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self.stats = RegistrationStats(reference="scene" if reference is not None else "first frame")
        self._ref_kp: np.ndarray | None = None  # reference keypoints in scene px
        self._last: np.ndarray | None = None  # the last registered frame's homography (``update``)
        self._ref_desc: np.ndarray | None = None
        if reference is not None:
            check_reference_shape((reference.shape[1], reference.shape[0]), scene_size)
            self._set_reference(reference)
            if self._ref_desc is None:
                raise ValueError("the scene's reference image has too little texture to register frames to")

    # -- public ----------------------------------------------------------------------------------
    def update(self, t: float, frame_bgr: np.ndarray, moving: np.ndarray | None = None) -> np.ndarray | None:
        """Register one frame; ``moving`` (N, 4) frame-px boxes are kept out of the fit."""
        self.stats.frames += 1
        if self._ref_desc is None:  # no scene reference: the first textured frame becomes it
            self._set_reference(frame_bgr, moving)
            if self._ref_desc is None:
                return self._unregistered(t)
        # A hovering drone drifts slowly: its last registered view is where this frame should lie,
        # which tells the ground from traffic when the two cover the picture alike (``_choose``).
        hom, share = self._fit(frame_bgr, moving, self._last)
        if hom is None:
            return self._unregistered(t)
        self._last = hom
        self.stats.registered += 1
        self.stats.quality.append(share)
        return hom

    def set_reference(self, image: np.ndarray, moving: np.ndarray | None = None) -> bool:
        """Make ``image`` the reference (frame-to-frame chaining, ``detector.mosaic``); False when it
        has too little texture to serve as one (the previous reference is then kept)."""
        kept = self._ref_kp, self._ref_desc
        self._ref_kp = self._ref_desc = None
        self._set_reference(image, moving)
        if self._ref_desc is None:
            self._ref_kp, self._ref_desc = kept
            return False
        self._last = None  # a view of the old reference says nothing about the new one
        return True

    def match(self, frame_bgr: np.ndarray, moving: np.ndarray | None = None,
              expected: np.ndarray | None = None) -> tuple[np.ndarray | None, float]:
        """The homography from ``frame_bgr`` px to the reference's px and the share of agreeing
        matches, without counting the frame in ``stats``; (None, share) when it does not fit.
        ``expected``: where the frame should lie (a flight's motion carried on), which decides
        between the ground and a stream of traffic that happens to cover more of the picture
        (see ``_fit``)."""
        if self._ref_desc is None:
            return None, 0.0
        return self._fit(frame_bgr, moving, expected)

    # -- internals -------------------------------------------------------------------------------
    def _unregistered(self, t: float) -> None:
        self.stats.unregistered += 1
        self.stats.unregistered_times.append(t)

    def _features(self, image: np.ndarray, moving: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, float]:
        """Keypoints (image px) and descriptors of ``image``, computed at ``WORK_WIDTH``."""
        h, w = image.shape[:2]
        scale = min(1.0, WORK_WIDTH / w)
        small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else image
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        mask = np.full(gray.shape, 255, np.uint8)
        if moving is not None:
            for x1, y1, x2, y2 in (np.asarray(moving, np.float64).reshape(-1, 4) * scale).astype(int):
                mask[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = 0
        kps = spread(self._orb.detect(gray, mask), gray.shape, self.features)
        kps, desc = self._orb.compute(gray, kps)
        pts = np.array([kp.pt for kp in kps], np.float64).reshape(-1, 2) / scale
        return pts, desc, scale

    def _set_reference(self, image: np.ndarray, moving: np.ndarray | None = None) -> None:
        pts, desc, _ = self._features(image, moving)
        if desc is None or len(pts) < MIN_KEYPOINTS:
            return
        h, w = image.shape[:2]
        sw, sh = self.scene_size
        self._ref_kp = pts * (sw / w, sh / h)  # scene px
        self._ref_desc = desc

    def _models(self, src: np.ndarray, dst: np.ndarray, thresh: float,
                size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Up to two homographies (with their inliers), the one whose agreeing matches cover more
        of the picture first.

        Traffic moving together (a queue pulling away, a bus) can out-vote the ground in one
        corner of the picture; the ground's matches are spread over it. So a second model is
        fitted on the matches the first left over, and the one whose inliers occupy more cells of
        a coarse grid is preferred."""
        candidates: list[tuple[np.ndarray, np.ndarray, int]] = []  # homography, inliers, cover
        remaining = np.ones(len(src), bool)
        for _ in range(2):
            if remaining.sum() < self.min_inliers:
                break
            idx = np.flatnonzero(remaining)
            if self.model == "similarity":
                affine, mask = cv2.estimateAffinePartial2D(src[idx], dst[idx], method=cv2.RANSAC,
                                                           ransacReprojThreshold=thresh, maxIters=3000,
                                                           confidence=0.999, refineIters=10)
                hom = None if affine is None else as_homography(affine)
            else:
                hom, mask = cv2.findHomography(src[idx], dst[idx], cv2.USAC_ACCURATE, thresh, maxIters=3000,
                                               confidence=0.999)
            if hom is None or mask is None:
                break
            inliers = np.zeros(len(src), bool)
            inliers[idx[mask.ravel().astype(bool)]] = True
            candidates.append((hom, inliers, _cells(src[inliers], size)))
            remaining &= ~inliers
        candidates.sort(key=lambda c: -c[2])  # stable: the first fitted of equal covers
        return [(hom, inliers) for hom, inliers, _ in candidates]

    def _fit(self, frame_bgr: np.ndarray, moving: np.ndarray | None,
             expected: np.ndarray | None = None) -> tuple[np.ndarray | None, float]:
        pts, desc, _ = self._features(frame_bgr, moving)
        if desc is None or len(pts) < self.min_inliers:
            return None, 0.0
        pairs = self._matcher.knnMatch(desc, self._ref_desc, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < self.ratio * p[1].distance]
        if len(good) < self.min_inliers:
            return None, 0.0
        src = pts[[m.queryIdx for m in good]].astype(np.float32)
        dst = self._ref_kp[[m.trainIdx for m in good]].astype(np.float32)
        # The reprojection threshold in scene px, scaled from the work image's few pixels.
        thresh = self.reprojection_px * max(1.0, self.scene_size[0] / WORK_WIDTH)
        h, w = frame_bgr.shape[:2]
        return self._choose(self._models(src, dst, thresh, (w, h)), len(good), (w, h), expected)

    def _choose(self, models: list[tuple[np.ndarray, np.ndarray]], matches: int, size: tuple[int, int],
                expected: np.ndarray | None) -> tuple[np.ndarray | None, float]:
        """The preferred model if it passes the checks. Where it does not and ``expected`` says
        where the frame should lie, the other model is taken if it lies nearer to that and
        passes: over a busy junction the ground may be seen in few cells of the picture and a
        stream of cars in about as many (measured on a flight: 24 cells against 19, and one
        machine's features tipped it to the cars, whose share of the matches then failed the
        check and lost the frame). The flight's motion carried on tells them apart (the ground
        within a pixel of it, the cars ~12 px away), and a stream of cars that won neither the
        cover nor the expectation is never taken. Returns the model (None: refused) and its
        share of the matches."""
        if not models:
            return None, 0.0
        hom, inliers = models[0]
        share = int(inliers.sum()) / matches
        if self._passes(hom, inliers, matches, size):
            return hom, share
        if expected is not None and len(models) > 1:
            other, other_inliers = models[1]
            if (_disagreement(other, expected, size) < _disagreement(hom, expected, size)
                    and self._passes(other, other_inliers, matches, size)):
                return other, int(other_inliers.sum()) / matches
        return None, share

    def _passes(self, hom: np.ndarray, inliers: np.ndarray, matches: int, size: tuple[int, int]) -> bool:
        """Enough matches agree with the model, and it is a view of the ground a drone can have."""
        n_in = int(inliers.sum())
        return (n_in >= self.min_inliers and n_in / matches >= self.min_inlier_share
                and plausible(hom, size[0], size[1], self.scene_size))


def _disagreement(hom: np.ndarray, other: np.ndarray, size: tuple[int, int]) -> float:
    """How far apart two transforms put the picture (mean distance of a 3x3 grid over it, px)."""
    w, h = size
    grid = np.array([[x * w / 2, y * h / 2] for x in range(3) for y in range(3)], np.float64)
    return float(np.linalg.norm(map_points(grid, hom) - map_points(grid, other), axis=1).mean())


def _cells(points: np.ndarray, size: tuple[int, int], grid: tuple[int, int] = (8, 6)) -> int:
    """How many cells of a grid over the picture hold at least one of ``points``."""
    w, h = size
    gx = np.clip((points[:, 0] * grid[0] / w).astype(int), 0, grid[0] - 1)
    gy = np.clip((points[:, 1] * grid[1] / h).astype(int), 0, grid[1] - 1)
    return len(set(zip(gx.tolist(), gy.tolist())))


def spread(keypoints, shape: tuple[int, ...], total: int, grid: tuple[int, int] = (8, 6)) -> list:
    """The strongest keypoints of each cell of a grid, ``total`` in all.

    Left alone, ORB puts most of its features on the most textured things in view: on a street,
    the vehicles. A queue of cars creeping forward together then agrees with itself better than
    the sparse kerbs and road markings do, and the fit follows the traffic instead of the ground.
    Spreading the features over the picture keeps the ground in the majority."""
    h, w = shape[:2]
    gx, gy = grid
    per_cell = max(1, total // (gx * gy))
    if not len(keypoints):
        return []
    # Vectorised (ORB gives ~12,000 keypoints a frame; a Python loop over them cost a fifth of
    # the registration): the same choice and order as grouping the keypoints by cell in order of
    # first appearance and keeping each cell's strongest, ties in detection order.
    xy = np.array([kp.pt for kp in keypoints], np.float64)
    response = np.array([kp.response for kp in keypoints], np.float64)
    cell = np.minimum(gx - 1, (xy[:, 0] * gx / w).astype(int)) * gy + np.minimum(gy - 1, (xy[:, 1] * gy / h).astype(int))
    index = np.arange(len(keypoints))
    first = np.full(gx * gy, len(keypoints))
    np.minimum.at(first, cell, index)
    order = np.lexsort((index, -response, first[cell]))  # by cell's first appearance, strongest first
    ranked = order[np.argsort(first[cell][order], kind="stable")]
    cells = first[cell][ranked]
    rank = index - np.searchsorted(cells, cells)  # position within its cell
    return [keypoints[i] for i in ranked[rank < per_cell]]


def plausible(hom: np.ndarray, w: int, h: int, scene_size: tuple[int, int]) -> bool:
    """A homography a drone's view of the ground can have: not mirrored, the frame's outline a
    convex quadrilateral of sensible size that overlaps the scene."""
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    mapped = map_points(corners, hom)
    if not np.isfinite(mapped).all():
        return False
    quad = mapped.astype(np.float32)
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
        return False
    area = cv2.contourArea(quad)
    sw, sh = scene_size
    if not (0.1 * sw * sh <= area <= 10.0 * sw * sh):
        return False
    # Not mirrored: the outline keeps its orientation.
    signed = 0.5 * float(np.sum(quad[:, 0] * np.roll(quad[:, 1], -1) - np.roll(quad[:, 0], -1) * quad[:, 1]))
    if signed <= 0:
        return False
    cx, cy = quad[:, 0].mean(), quad[:, 1].mean()
    return -0.5 * sw <= cx <= 1.5 * sw and -0.5 * sh <= cy <= 1.5 * sh


def as_homography(matrix: np.ndarray) -> np.ndarray:
    """A 2x3 affine transform (or a 3x3 one) as a 3x3 homography."""
    m = np.asarray(matrix, np.float64)
    return np.vstack([m, [0.0, 0.0, 1.0]]) if m.shape == (2, 3) else m


def map_points(points: np.ndarray, hom: np.ndarray) -> np.ndarray:
    """(N, 2) points through a 3x3 homography."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if not len(pts):
        return pts
    mapped = np.hstack([pts, np.ones((len(pts), 1))]) @ np.asarray(hom, np.float64).T
    return mapped[:, :2] / mapped[:, 2:3]


def map_boxes_h(xyxy: np.ndarray, hom: np.ndarray) -> np.ndarray:
    """Boxes through a homography: the bounding box of the four mapped corners."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if not len(boxes):
        return boxes.astype(np.float32)
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x1, y2], 1),
                        np.stack([x2, y2], 1)], 1).reshape(-1, 2)
    mapped = map_points(corners, hom).reshape(-1, 4, 2)
    return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1).astype(np.float32)


def detections_to_scene(detections: Detections, hom: np.ndarray) -> Detections:
    """Detections in frame px mapped into the scene's (reference) px."""
    if not len(detections):
        return detections
    return Detections(map_boxes_h(detections.xyxy, hom), detections.confidence, detections.class_id,
                      detections.class_names)
