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
    # change index -> the last instant before it that the previous colour was read (None: never):
    # a colour first read after the signal could not be read (a drone's registration loss) began
    # somewhere in between; its recorded time is only the latest it can have begun.
    unread_before: dict[int, float | None] = field(default_factory=dict)

    def record(self, t: float, color: SignalColor, unsure: tuple[bool, float | None] = (False, None)) -> None:
        """``unsure``: the colour's start is not known (``FrameContext.signals_unsure``)."""
        if self.first_t is None:
            self.first_t = t
        if not self.colors or self.colors[-1] != color:
            self.times.append(t)
            self.colors.append(color)
            if unsure[0]:
                self.unread_before[len(self.times) - 1] = unsure[1]

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
        return self.times[i], i > 0 and i not in self.unread_before

    def unread_at(self, t: float) -> tuple[bool, float | None]:
        """Whether the colour shown at ``t`` was first read after a spell the signal could not be
        read, and the last instant before it that the previous colour was read (None: never)."""
        i = bisect.bisect_right(self.times, t) - 1
        if i < 0 or i not in self.unread_before:
            return False, None
        return True, self.unread_before[i]


class SignalBook:
    """Histories of every signal named in the contexts seen so far."""

    def __init__(self) -> None:
        self._hist: dict[str, SignalHistory] = {}

    def record(self, t: float, signals: dict[str, SignalColor], unsure: dict[str, float | None] | None = None) -> None:
        unsure = unsure or {}
        for name, color in signals.items():
            self._hist.setdefault(name, SignalHistory()).record(
                t, SignalColor(color), (name in unsure, unsure.get(name)))

    def get(self, name: str) -> SignalHistory:
        return self._hist.setdefault(name, SignalHistory())
