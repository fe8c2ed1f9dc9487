"""Signal states: what colour each pedestrian/traffic signal shows at a given video time.

Three sources behind one interface, because cameras differ: some see the signal head (read it
from the pixels, ``roi``), some don't but the intersection runs a fixed-time plan (``schedule``),
and for some the operator has the controller's log (``timeline``). The red-light rule only ever
sees a ``SignalColor`` per signal name per analysis frame.

Every provider keeps ``changes``, the list of ``(t, colour)`` at which its reported state changed,
so the pipeline can write a signal log next to the evidence.

A drone frame that cannot be registered has no pixels of the signal head where the scene drew it
(``unread``): a plan or a log still knows the colour at that instant, and its changes keep their
true times; a head read from the picture does not, and a colour it first reads after such a spell
is marked as begun at an unknown time (``unsure``), not dated to the end of the spell.
"""

from __future__ import annotations

import bisect
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from detector.scene import Scene, Schedule, Signal
from detector.types import SignalColor


@runtime_checkable
class SignalProvider(Protocol):
    name: str
    changes: list[tuple[float, SignalColor]]

    def observe(self, t: float, frame_bgr: np.ndarray | None, scale: tuple[float, float]) -> SignalColor: ...

    def unread(self, t: float) -> SignalColor: ...

    def unsure_since(self) -> tuple[bool, float | None]: ...


class _ChangeLog:
    """Shared bookkeeping: remember the reported state and when it changed."""

    name: str

    def __init__(self) -> None:
        self.changes: list[tuple[float, SignalColor]] = []
        self.state = SignalColor.UNKNOWN
        # change time -> the last instant the colour before it was read (None: never): a colour
        # first read after a spell without pixels began somewhere in between, not when it was read
        self.unsure: dict[float, float | None] = {}

    def unsure_since(self) -> tuple[bool, float | None]:
        """Whether the current colour began at an unknown time (first read after a spell without
        pixels), and the last instant before it that the previous colour was read."""
        at = self.changed_at
        if at is None or at not in self.unsure:
            return False, None
        return True, self.unsure[at]

    def _report(self, t: float, color: SignalColor) -> SignalColor:
        if not self.changes or self.changes[-1][1] != color:
            self.changes.append((t, color))
        self.state = color
        return color

    @property
    def changed_at(self) -> float | None:
        """When the current state began (None before the first observation)."""
        return self.changes[-1][0] if self.changes else None


# -- reading the signal head -------------------------------------------------------------------

# OpenCV hue runs 0..179. Red wraps around 0; signal greens run from yellow-green to cyan-green.
RED_HUES = ((0, 10), (165, 179))
GREEN_HUES = ((40, 95),)
MIN_SATURATION = 90
MIN_VALUE = 130


def lit_pixel_counts(patch_bgr: np.ndarray) -> tuple[int, int]:
    """Bright, saturated red and green pixels in a signal-head patch.

    Brightness and saturation together pick out a *lit* lamp: an unlit red lens is dark red (low
    value), a red car or brake light passing behind is usually less saturated or smaller than the
    lamp, and sky and grey housing have low saturation.
    """
    if patch_bgr.size == 0:
        return 0, 0
    hsv = cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    bright = (s >= MIN_SATURATION) & (v >= MIN_VALUE)

    def in_hues(ranges) -> np.ndarray:
        m = np.zeros(h.shape, bool)
        for lo, hi in ranges:
            m |= (h >= lo) & (h <= hi)
        return m

    return int(np.count_nonzero(bright & in_hues(RED_HUES))), int(np.count_nonzero(bright & in_hues(GREEN_HUES)))


def classify_patch(patch_bgr: np.ndarray, *, min_fraction: float = 0.015, dominance: float = 2.0) -> SignalColor:
    """Red or green when one lamp colour is clearly present and clearly dominant, else UNKNOWN.

    UNKNOWN is an honest answer (lamp between phases, glare, a bus in front): the red-light rule
    never raises a case on UNKNOWN.
    """
    red, green = lit_pixel_counts(patch_bgr)
    need = max(3, int(min_fraction * patch_bgr.shape[0] * patch_bgr.shape[1]))
    if red >= need and red >= dominance * green:
        return SignalColor.RED
    if green >= need and green >= dominance * red:
        return SignalColor.GREEN
    return SignalColor.UNKNOWN


class RoiSignal(_ChangeLog):
    """Reads the lamp colour from the signal head's pixels, debounced.

    A new colour must be read continuously for ``debounce_s`` before the reported state changes
    (LED refresh beating with the camera shutter, a pedestrian walking in front of the head, or
    compression artefacts give single-frame misreads; none of them may open a case). Going to
    UNKNOWN needs a longer hold (``max(2 * debounce_s, 1 s)``), so a lamp that is briefly
    unreadable keeps its colour and its "turned red at" time. The change is dated at the moment
    the new colour was first read, not when the debounce completed, so "turned red at" is true.
    """

    def __init__(self, signal: Signal) -> None:
        super().__init__()
        assert signal.roi is not None
        self.name = signal.name
        self.roi = signal.roi
        self.debounce_s = signal.debounce_s
        self._candidate: SignalColor | None = None
        self._candidate_since = 0.0
        self._unread_since: float | None = None  # first instant of the current spell without pixels
        self._last_seen: float | None = None  # the last instant the reported colour was read
        # the candidate was first read right after a spell without pixels: (True, _last_seen then)
        self._candidate_unsure: tuple[bool, float | None] = (False, None)

    def hold_for(self, color: SignalColor) -> float:
        return max(2 * self.debounce_s, 1.0) if color == SignalColor.UNKNOWN else self.debounce_s

    def read(self, frame_bgr: np.ndarray, scale: tuple[float, float]) -> SignalColor:
        """Undebounced colour of one frame."""
        x, y, w, h = self.roi
        sx, sy = scale
        fh, fw = frame_bgr.shape[:2]
        x1, y1 = max(0, int(round(x * sx))), max(0, int(round(y * sy)))
        x2, y2 = min(fw, int(round((x + w) * sx))), min(fh, int(round((y + h) * sy)))
        if x2 <= x1 or y2 <= y1:
            return SignalColor.UNKNOWN
        return classify_patch(frame_bgr[y1:y2, x1:x2])

    def observe(self, t: float, frame_bgr: np.ndarray | None, scale: tuple[float, float] = (1.0, 1.0)) -> SignalColor:
        if frame_bgr is None:
            return self.state  # no pixels this instant: nothing new to say
        after_gap = self._unread_since is not None
        self._unread_since = None
        raw = self.read(frame_bgr, scale)
        if raw == self.state:
            self._candidate = None
            self._last_seen = t
            if not self.changes:
                return self._report(t, raw)
            return self.state
        if raw != self._candidate:
            self._candidate, self._candidate_since = raw, t
            self._candidate_unsure = (after_gap, self._last_seen)
        if t - self._candidate_since >= self.hold_for(raw) - 1e-9:
            self._candidate = None
            self._report(self._candidate_since, raw)
            if self._candidate_unsure[0]:
                self.unsure[self._candidate_since] = self._candidate_unsure[1]
            self._last_seen = t
            return raw
        if not self.changes:
            self._report(t, self.state)  # log the opening state once
        return self.state

    def unread(self, t: float) -> SignalColor:
        """No pixels of the signal head this instant: a drone frame that could not be placed on the
        reference. Like a lamp that cannot be read, the colour is kept for a short spell and is
        UNKNOWN after ``hold_for(UNKNOWN)``, dated to the spell's start; a colour being confirmed
        was not seen through. The colour read after the spell may have begun at any time during
        it, so its change is marked unsure (``unsure``) rather than dated to the spell's end."""
        if self._unread_since is None:
            self._unread_since = t
        self._candidate = None
        if not self.changes:
            return self._report(t, self.state)  # log the opening state once
        if self.state != SignalColor.UNKNOWN and t - self._unread_since >= self.hold_for(SignalColor.UNKNOWN) - 1e-9:
            return self._report(self._unread_since, SignalColor.UNKNOWN)
        return self.state


# -- fixed-time plan and logged changes --------------------------------------------------------


class ScheduleSignal(_ChangeLog):
    """A fixed-time plan: red while ``(t - offset_s) mod cycle_s`` lies in a red interval.

    Video time is used as given, so ``offset_s`` is where the cycle stands relative to the first
    frame of *this* video; anything else is green (fixed-time controllers have no dark phase).
    """

    def __init__(self, signal: Signal) -> None:
        super().__init__()
        assert signal.schedule is not None
        self.name = signal.name
        self.schedule: Schedule = signal.schedule

    def color_at(self, t: float) -> SignalColor:
        phase = (t - self.schedule.offset_s) % self.schedule.cycle_s
        if any(a <= phase < b for a, b in self.schedule.red):
            return SignalColor.RED
        return SignalColor.GREEN

    def observe(self, t: float, frame_bgr: np.ndarray | None = None, scale: tuple[float, float] = (1.0, 1.0)) -> SignalColor:
        return self._report(t, self.color_at(t))

    def unread(self, t: float) -> SignalColor:
        """The colour needs no picture: a frame that could not be registered changes nothing."""
        return self.observe(t)


class TimelineSignal(_ChangeLog):
    """Logged changes ``[[t, state], ...]``: the state from each entry's time to the next's.

    Before the first entry the state is UNKNOWN (we have no record, so we claim nothing).
    """

    def __init__(self, signal: Signal) -> None:
        super().__init__()
        assert signal.timeline is not None
        self.name = signal.name
        self._times = [float(t) for t, _ in signal.timeline]
        self._states = [SignalColor(s) for _, s in signal.timeline]

    def color_at(self, t: float) -> SignalColor:
        i = bisect.bisect_right(self._times, t) - 1
        return self._states[i] if i >= 0 else SignalColor.UNKNOWN

    def observe(self, t: float, frame_bgr: np.ndarray | None = None, scale: tuple[float, float] = (1.0, 1.0)) -> SignalColor:
        return self._report(t, self.color_at(t))

    def unread(self, t: float) -> SignalColor:
        """The colour needs no picture: a frame that could not be registered changes nothing."""
        return self.observe(t)


def make_signal_provider(signal: Signal) -> SignalProvider:
    if signal.roi is not None:
        return RoiSignal(signal)
    if signal.schedule is not None:
        return ScheduleSignal(signal)
    return TimelineSignal(signal)


def build_signal_providers(scene: Scene) -> dict[str, SignalProvider]:
    """One provider per signal in the scene, keyed by signal name."""
    return {s.name: make_signal_provider(s) for s in scene.signals}


def needs_pixels(providers: dict[str, SignalProvider]) -> bool:
    """Whether any provider reads frames (the pipeline can skip handing frames over otherwise)."""
    return any(isinstance(p, RoiSignal) for p in providers.values())
