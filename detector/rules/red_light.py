"""Pedestrians who step onto a crossing while its signal is red.

The offence is *entering* on red, not *being on* the crossing during red: a rule that checks
presence flags everyone who was mid-way when the light changed and everyone waiting with their
toes over the kerb line. So each person is followed through three phases:

``outside``  seen outside the crosswalk, or inside it but shallower than the entry distance (the
             kerb band: people wait there, and walk along it);
``crossing`` went deeper than the entry distance for a few consecutive samples (inertia against
             box jitter); the entry moment is where the inward walk leading there began;
``unseen_entry`` first seen already inside past the kerb band (half the entry depth): we did not
             see them enter (they were there when the video began, or came out from behind a
             bus), so we never judge them; this also stops a duplicate case when the tracker
             gives a crossing person a new id half-way. They become ``outside`` only after
             ``LEAVE_S`` outside the polygon: a box shortened by an occluding walker puts the
             ground point over the kerb line for a sample or two without anyone stepping off.

Depth is measured in metres (through the scene's ground calibration, else by the walker's own
box height, so a thin, perspective-squeezed crossing far away is as deep as a near one), unless
the zone gives ``min_entry_distance`` in pixels as earlier scene files did.

The ground point is the box's bottom centre, unless the box's height jumps away from the walker's
recent height (by more than ``STEADY_TOLERANCE``) with its bottom edge moving more than its top:
a weak detection merged with a shadow or the person below stretches the box downwards (or a car
in front cuts it short) for a few samples while the head stays where it was. The ground is then
taken from the top and the recent height, so a stretched box does not walk its "feet" over the
kerb line (a false entry measured on the New York zebra at a detector threshold of 0.2).

Only walkers are judged: the track refiner marks a person who rides with a bicycle or motorbike
as ``rider``; a track that was a rider for a good share of its samples raises nothing.

An entry is a walk *into* the crossing: from the last sample before the entry to the confirming
one, the distance gained from the kerb line they started at (the crossable edge nearest to that
sample) must be at least ``INWARD_SHARE`` of the distance walked. Someone walking along the edge
of the zebra, feet dipping a little over the line, never enters it; someone who steps into a thin
band across its short end does, although their depth is capped by the band's long sides.

A crossing is an offence when the signal was red at the entry moment, had been red for at least
``grace_s`` by then, and was still red when the crossing was confirmed (so a one-sample red blip
from an undebounced source raises nothing). The case is emitted when the person leaves the
crosswalk (or the track is lost, or the video ends), so it always has its true end.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field, replace

from shapely.geometry import Point as ShapelyPoint

from detector.geometry import Ruler, ZoneDepth
from detector.rules._common import PERSON_CLASSES, RIDER_CLASS, PerTrackRule, Trajectory, ZoneShape
from detector.rules.signal_history import SignalBook
from detector.scene import CrosswalkZone
from detector.explain import class_zh
from detector.types import FrameContext, SignalColor, TrackObservation, ViolationEvent

RULE = "red_light_pedestrian"
RECENT_SAMPLES = 100
# First seen deeper than this share of the entry depth: already on the crossing, never "entering".
UNSEEN_ENTRY_FRACTION = 0.5
# An entry must gain depth for at least this share of the distance walked (not along the edge).
INWARD_SHARE = 0.5
# Someone first seen on the crossing must be outside it this long before an entry can be seen.
LEAVE_S = 0.5
# Standing still inside the crossing on the way in (toes over the kerb line): within this radius
# for this long. The entry is then when they stepped off (``_last_wait``). Walking, even at an
# elderly 0.6 m/s, covers more than a metre in that time.
WAIT_S = 2.0
WAIT_RADIUS_M = 0.5
# A track that was a rider in at least this share of its samples is not a pedestrian.
RIDER_SHARE = 0.3
# Steady ground point: the walker's recent box heights (samples), how many are needed before a
# height can be called out of line, and how far out of line (share of their median) it must be.
STEADY_SAMPLES = 10
STEADY_MIN_SAMPLES = 4
STEADY_TOLERANCE = 0.25


@dataclass
class _Walker:
    phase: str  # "outside" | "crossing" | "unseen_entry"
    last_t: float
    # Recent samples with their depth, while outside: the entry moment is found in them.
    recent: deque[tuple[TrackObservation, float]] = field(default_factory=lambda: deque(maxlen=RECENT_SAMPLES))
    deep_run: int = 0
    out_run: int = 0
    out_since: float | None = None  # unseen_entry: when the current spell outside began
    # Filled when a crossing starts.
    entry: TrackObservation | None = None
    commit: TrackObservation | None = None
    last_inside: TrackObservation | None = None
    path: Trajectory = field(default_factory=Trajectory)
    confidences: list[float] = field(default_factory=list)
    offence: dict | None = None  # set when the crossing began on red
    samples: int = 0
    rider_samples: int = 0
    # Recent box heights and the last box whose height was in line with them (steady ground).
    heights: deque[float] = field(default_factory=lambda: deque(maxlen=STEADY_SAMPLES))
    steady_box: tuple[float, float, float, float] | None = None

    @property
    def is_rider(self) -> bool:
        return self.samples > 0 and self.rider_samples / self.samples >= RIDER_SHARE


class RedLightPedestrianRule(PerTrackRule):
    """One crosswalk zone; see the module docstring for the decision.

    ``entry_samples``: consecutive samples deeper than the entry distance that confirm a crossing.
    ``exit_samples``: consecutive samples outside the polygon that end one.
    ``lost_after_s``: a track unseen this long is closed at its last observation.
    """

    def __init__(
        self,
        zone: CrosswalkZone,
        *,
        entry_samples: int = 2,
        exit_samples: int = 2,
        lost_after_s: float = 2.0,
        ruler: Ruler | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        self.zone = zone
        self.shape = ZoneShape.of(zone.polygon)
        self.ruler = ruler or Ruler()
        self.depth = ZoneDepth(zone.polygon, self.ruler, frame_size)
        # A crosswalk narrower than twice the configured distance could never be "entered";
        # cap the threshold so such zones still work (documented in the scene reference).
        self.inradius_px = self.shape.inradius()
        self.entry_distance = (
            min(zone.min_entry_distance, 0.6 * self.inradius_px) if zone.min_entry_distance is not None else None
        )
        if self.depth.poly_ground is not None:
            self.entry_depth_m = min(zone.min_entry_depth_m, 0.6 * ZoneShape(self.depth.poly_ground).inradius())
        else:
            self.entry_depth_m = zone.min_entry_depth_m
        walkers = frozenset(zone.classes) if zone.classes else PERSON_CLASSES
        self.walker_classes = walkers
        self.classes = walkers | {RIDER_CLASS}
        self.entry_samples = max(1, entry_samples)
        self.exit_samples = max(1, exit_samples)
        self.lost_after_s = lost_after_s
        self.signals = SignalBook()
        self._walkers: dict[int, _Walker] = {}

    # -- Rule protocol -------------------------------------------------------------------------
    def update(self, ctx: FrameContext) -> list[ViolationEvent]:
        self.signals.record(ctx.t, ctx.signals, ctx.signals_unsure)
        return self._track_events(ctx)

    def signals_only(self, ctx: FrameContext) -> None:
        """An instant whose picture could not be placed on the scene (a drone frame that could not
        be registered): nothing in view is judged, but the signals' colours then are recorded,
        so a change a plan or log makes meanwhile keeps its time (skipped, a signal that turned
        red during the loss read as turning red when registration came back, and a walker who
        entered seconds into red was judged within the grace period, or told the wrong time)."""
        self.signals.record(ctx.t, ctx.signals, ctx.signals_unsure)

    def _open_tracks(self) -> dict[int, _Walker]:
        return self._walkers

    # -- per-observation state machine ---------------------------------------------------------
    def relative_depth(self, obs: TrackObservation) -> float:
        """Depth past the edge as a share of the entry depth: 1.0 = entered, < 0 = outside."""
        if self.entry_distance is not None:
            return self.depth.depth_px(obs.ground) / self.entry_distance
        if self.depth.poly_ground is not None:
            return self.depth.depth_m(obs.ground, obs.box, "person") / self.entry_depth_m
        # By the walker's height; never deeper than the zone allows (thin bands stay usable).
        px_per_m = Ruler.px_per_m(obs.box, "person")
        threshold_px = min(self.entry_depth_m * px_per_m, 0.6 * self.inradius_px)
        return self.depth.depth_px(obs.ground) / max(threshold_px, 1e-6)

    @staticmethod
    def steadied(w: _Walker, obs: TrackObservation) -> TrackObservation:
        """``obs`` with its box's bottom put back under the head when the box stretched (or was
        cut) at its bottom end only: see the module docstring. Learns the height as it goes."""
        x1, y1, x2, y2 = obs.box
        height = y2 - y1
        out = obs
        if len(w.heights) >= STEADY_MIN_SAMPLES:
            usual = statistics.median(w.heights)
            if abs(height - usual) > STEADY_TOLERANCE * usual:
                if w.steady_box is not None and abs(y2 - w.steady_box[3]) > abs(y1 - w.steady_box[1]):
                    out = replace(obs, box=(x1, y1, x2, y1 + usual))
            else:
                w.steady_box = obs.box
        else:
            w.steady_box = obs.box
        w.heights.append(height)
        return out

    def _step(self, obs: TrackObservation) -> ViolationEvent | None:
        w = self._walkers.get(obs.track_id)
        if w is not None:
            obs = self.steadied(w, obs)
        depth = self.relative_depth(obs)
        if w is None:
            phase = "unseen_entry" if depth >= UNSEEN_ENTRY_FRACTION else "outside"
            w = self._walkers[obs.track_id] = _Walker(phase=phase, last_t=obs.t)
            self.steadied(w, obs)
        w.last_t = obs.t
        w.samples += 1
        w.rider_samples += obs.class_name == RIDER_CLASS

        if w.phase == "unseen_entry":
            # They left once they have been outside for LEAVE_S; from then on an entry would be
            # observed. A shorter spell outside is the ground point jumping, not a step: a walker
            # half hidden behind another has a short box whose bottom lies above the kerb line.
            if depth >= 0:
                w.out_since = None
                w.recent.clear()
                return None
            w.out_since = obs.t if w.out_since is None else w.out_since
            w.recent.append((obs, depth))
            if obs.t - w.out_since >= LEAVE_S:
                w.phase = "outside"
            return None

        if w.phase == "outside":
            w.recent.append((obs, depth))
            if depth >= 1.0:
                w.deep_run += 1
                if w.deep_run >= self.entry_samples:
                    self._start_crossing(w, obs)
            else:
                w.deep_run = 0
            return None

        # crossing
        if depth < 0:
            w.out_run += 1
            if w.out_run >= self.exit_samples:
                return self._close(obs.track_id, keep=True)
        else:
            w.out_run = 0
            w.last_inside = obs
            w.path.add(obs)
            w.confidences.append(obs.confidence)
        return None

    def _start_crossing(self, w: _Walker, obs: TrackObservation) -> None:
        """Confirm a crossing and find its entry moment.

        The entry is where the walk in that led to the confirmation began: the first sample of
        the run inside the polygon that ends at the confirming sample, or, when the person stood
        still inside it on the way (toes over the kerb line), the last moment they stood there.
        For someone coming from the pavement that is the first sample over the kerb line; for
        someone who waited with toes over the line, it is the moment they stepped off. Depth
        alone cannot say this: a small person's ground point jitters by a good share of the
        entry depth from one sample to the next, and stepping back only while each sample was
        less deep stopped at the first jitter, up to two seconds after the kerb line was crossed
        (a cyclist on the motorway shoulder "entered" at 10.5 s, over its line at 8.7 s): late
        enough to judge a walker who stepped off at the end of green as entering on red.
        """
        seq = list(w.recent)
        i = len(seq) - 1
        while i > 0 and seq[i - 1][1] >= 0:
            i -= 1
        waited = self._last_wait(seq, i)
        if waited > i:
            # The still window ends a little into the first steps: back to where the depth began
            # to grow.
            run_start, i = i, waited
            while i > run_start and seq[i - 1][1] < seq[i][1]:
                i -= 1
        entry, commit = seq[i][0], seq[-1][0]
        # Where the walk in began: the last sample outside the polygon (after a wait in the band,
        # the entry above is later than that), else the oldest kept.
        outside = [o for o, d in seq[:i] if d < 0]
        before = outside[-1] if outside else seq[0][0]
        (bx, by), (cx, cy) = before.ground, commit.ground
        walked = ((cx - bx) ** 2 + (cy - by) ** 2) ** 0.5
        # Depth gained away from the kerb line they were at: the edge nearest to where the walk
        # began. Not the distance to the nearest edge of all, which in a thin band is the far
        # side's for anyone who stepped in across its short end.
        kerb = self.depth.nearest_edge(before.ground)
        gain = kerb.distance(ShapelyPoint(commit.ground)) * (1 if self.depth.depth_px(commit.ground) >= 0 else -1)
        gain -= kerb.distance(ShapelyPoint(before.ground)) * (1 if self.depth.depth_px(before.ground) >= 0 else -1)
        if walked > 0 and gain < INWARD_SHARE * walked:
            return  # along the edge, not into the crossing: stay "outside"
        w.phase = "crossing"
        w.entry, w.commit, w.last_inside = entry, commit, commit
        w.out_run = 0
        w.path = Trajectory()
        for o, _ in seq[i:]:
            w.path.add(o)
            w.confidences.append(o.confidence)
        w.recent.clear()
        w.deep_run = 0
        w.offence = self._judge(entry.t, commit.t)

    def _last_wait(self, seq: list[tuple[TrackObservation, float]], first: int) -> int:
        """Index of the last sample in ``seq[first:]`` that ends a still spell (every sample of the
        ``WAIT_S`` before it inside the polygon and within ``WAIT_RADIUS_M`` of it); ``first``
        when they never stood still on the way in. The radius holds a standing person's box
        jitter and not ``WAIT_S`` of walking."""
        best = first
        for k in range(first, len(seq)):
            here, _ = seq[k]
            spell = [o for o, _ in seq[first:k + 1] if here.t - o.t <= WAIT_S + 1e-6]
            if here.t - spell[0].t < WAIT_S - 1e-6:
                continue  # not inside for long enough yet to have waited there
            if all(self.ruler.distance_m(o.ground, here.ground, here.box, "person") <= WAIT_RADIUS_M for o in spell):
                best = k
        return best

    def _judge(self, entry_t: float, commit_t: float) -> dict | None:
        hist = self.signals.get(self.zone.signal)
        if hist.color_at(entry_t) != SignalColor.RED or hist.color_at(commit_t) != SignalColor.RED:
            return None
        red_since, observed = hist.since(entry_t)
        after_red = entry_t - red_since
        if observed and after_red < self.zone.grace_s:
            return None
        if not observed and self.zone.grace_s > 0 and after_red < self.zone.grace_s:
            # Red since before the video began, or since a spell the signal could not be read: it
            # has been red at least this long, which is all we can say; only judge when that
            # already exceeds the grace period.
            return None
        offence = {"red_since": red_since, "red_since_observed": observed, "after_red_s": after_red}
        unread, read_before = hist.unread_at(entry_t)
        if unread:
            offence["red_since_unread_after"] = read_before
        return offence

    def _close(self, tid: int, keep: bool = False) -> ViolationEvent | None:
        w = self._walkers.pop(tid)
        ev = None
        if w.phase == "crossing" and w.offence is not None and not w.is_rider:
            ev = self._event(tid, w)
        if keep:
            # The person is still in view, now outside: a later entry is a new crossing.
            self._walkers[tid] = _Walker(phase="outside", last_t=w.last_t, samples=w.samples,
                                         rider_samples=w.rider_samples, heights=w.heights,
                                         steady_box=w.steady_box)
        return ev

    def _event(self, tid: int, w: _Walker) -> ViolationEvent:
        assert w.entry and w.commit and w.last_inside and w.offence is not None
        sig = self.zone.signal
        after = w.offence["after_red_s"]
        if w.offence["red_since_observed"]:
            why = f"{after:.1f} s after {sig} turned red"
            why_zh = f"此时信号灯 {sig} 已转红 {after:.1f} 秒"
        elif "red_since_unread_after" in w.offence:
            # Read red first after the drone's frames could not be registered: when it turned red
            # is not known, only that it was red from then on.
            lost = w.offence["red_since_unread_after"]
            seen = w.offence["red_since"]
            lost_en = f"from {lost:.1f} s " if lost is not None else ""
            lost_zh = f"自 {lost:.1f} 秒起" if lost is not None else ""
            why = (f"while {sig} was red (red for at least {after:.1f} s; when it turned red is not known: "
                   f"the drone's frames could not be registered {lost_en}until it was seen red at {seen:.1f} s)")
            why_zh = (f"此时信号灯 {sig} 为红灯（至少已红 {after:.1f} 秒；转红时间不详：{lost_zh}无人机画面无法配准，"
                      f"至 {seen:.1f} 秒才见红灯）")
        else:
            why = f"while {sig} was red (red for at least {after:.1f} s, since before the video began)"
            why_zh = f"此时信号灯 {sig} 为红灯（视频开始前已为红灯，至少 {after:.1f} 秒）"
        conf = sum(w.confidences) / len(w.confidences) if w.confidences else w.commit.confidence
        return ViolationEvent(
            rule=RULE,
            zone=self.zone.name,
            start_s=w.entry.t,
            end_s=w.last_inside.t,
            key_t=w.commit.t,
            object_class="person",
            track_ids=[tid],
            confidence=round(float(conf), 3),
            explanation=f"person #{tid} entered {self.zone.shown('en')} at {w.entry.t:.1f} s, {why}",
            explanation_zh=f"{class_zh('person')} #{tid} 于 {w.entry.t:.1f} 秒进入人行横道 {self.zone.shown('zh-CN')}，{why_zh}",
            key_box=w.commit.box,
            path=list(w.path.points),
            signal=sig,
            details={
                "entry_t": w.entry.t,
                "confirmed_t": w.commit.t,
                "exit_t": w.last_inside.t,
                "red_since": w.offence["red_since"],
                "red_since_observed": w.offence["red_since_observed"],
                # present when the signal could not be read before it was seen red (the signal time
                # is uncertain): the last instant before that its earlier colour was read
                **({"red_since_unread_after": w.offence["red_since_unread_after"]}
                   if "red_since_unread_after" in w.offence else {}),
                "after_red_s": round(after, 3),
                "entry_threshold": (f"{self.entry_distance:.1f} px" if self.entry_distance is not None
                                    else f"{self.entry_depth_m:.2f} m"),
                "depth_measured": ("px" if self.entry_distance is not None
                                   else "ground calibration" if self.ruler.calibrated else "walker height"),
            },
        )
