"""What each signal showed over time, as the rules saw it in ``FrameContext.signals``.

The red-light rule must judge the signal at the moment a pedestrian *entered*, which is a few
samples before the moment it becomes sure the person is crossing; so it needs the past, not just
the current colour. Keeping the history inside the rules (rather than asking the providers) keeps
the rules pure: they learn everything from the contexts they are fed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from detector.types import SignalColor


@dataclass
class SignalHistory:
    """Change log of one signal: ``colors[i]`` held from ``times[i]`` on.

    Only changes are stored (a few per minute), so an hour of video costs a few hundred entries
    and nothing needs pruning.
    """

    times: list[float] = field(default_factory=list)
    colors: list[SignalColor] = field(default_factory=list)
    # The first colour we saw started before the video did, so its start time is only a bound.
    first_t: float | None = None

    def record(self, t: float, color: SignalColor) -> None:
        if self.first_t is None:
            self.first_t = t
        if not self.colors or self.colors[-1] != color:
            self.times.append(t)
            self.colors.append(color)

    def color_at(self, t: float) -> SignalColor:
        i = bisect.bisect_right(self.times, t) - 1
        return self.colors[i] if i >= 0 else SignalColor.UNKNOWN

    def since(self, t: float) -> tuple[float, bool]:
        """When the colour shown at ``t`` began, and whether that start was actually observed.

        The second value is False for the colour the video opened with: its true start is
        unknown and the returned time is only the first frame.
        """
        i = bisect.bisect_right(self.times, t) - 1
        if i < 0:
            return t, False
        return self.times[i], i > 0


class SignalBook:
    """Histories of every signal named in the contexts seen so far."""

    def __init__(self) -> None:
        self._hist: dict[str, SignalHistory] = {}

    def record(self, t: float, signals: dict[str, SignalColor]) -> None:
        for name, color in signals.items():
            self._hist.setdefault(name, SignalHistory()).record(t, SignalColor(color))

    def get(self, name: str) -> SignalHistory:
        return self._hist.setdefault(name, SignalHistory())
