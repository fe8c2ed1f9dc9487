"""Violation rules: pure functions of what was seen, in scene pixels and video seconds.

Every rule gets the same ``FrameContext`` per analysis frame and returns finished
``ViolationEvent`` objects. Rules never read pixels, files or clocks, so each is tested with
scripted tracks (``tests/rules/``) and behaves the same on a live stream and on a file.

Events are emitted when a case is *complete* (the pedestrian left the crossing, the car drove
off, the litter was picked up) or, for cases still open, by ``finish(t_end)`` at the end of the
video; so every event has its true end and is raised exactly once.

One rule object per zone: ``build_rules(scene)`` picks the rule from the zone kind.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from detector.rules.litter import LitterRule
from detector.rules.parking import IllegalParkingRule
from detector.rules.red_light import RedLightPedestrianRule
from detector.rules.wrong_way import WrongWayRule
from detector.scene import CrosswalkZone, LaneZone, NoLitterZone, NoParkingZone, Scene
from detector.types import FrameContext, ViolationEvent

__all__ = [
    "Rule",
    "build_rules",
    "RedLightPedestrianRule",
    "WrongWayRule",
    "IllegalParkingRule",
    "LitterRule",
    "RULE_NAMES",
]

RULE_NAMES = ("red_light_pedestrian", "wrong_way", "illegal_parking", "litter")


@runtime_checkable
class Rule(Protocol):
    """What the pipeline drives once per analysis frame, then once at the end of the video."""

    zone: object

    def update(self, ctx: FrameContext) -> list[ViolationEvent]: ...

    def finish(self, t_end: float) -> list[ViolationEvent]: ...


def build_rules(scene: Scene) -> list[Rule]:
    """One rule per zone, in the scene's zone order, all measuring with the scene's ruler."""
    from detector.geometry import Ruler

    ruler = Ruler(scene.calibration.homography() if scene.calibration is not None else None)
    rules: list[Rule] = []
    for zone in scene.zones:
        if isinstance(zone, CrosswalkZone):
            rules.append(RedLightPedestrianRule(zone, ruler=ruler, frame_size=scene.frame_size))
        elif isinstance(zone, LaneZone):
            rules.append(WrongWayRule(zone, ruler=ruler))
        elif isinstance(zone, NoParkingZone):
            rules.append(IllegalParkingRule(zone, ruler=ruler))
        elif isinstance(zone, NoLitterZone):
            rules.append(LitterRule(zone))
        else:  # pragma: no cover - the scene schema admits only the four kinds
            raise TypeError(f"no rule for zone kind {type(zone).__name__}")
    return rules
