"""What the analysis saw: distinct tracks per class and per zone, for the run's ``analysis.json``.

A run that finds no case must still say whether anything was looked at: "12 cars crossed the lane
zone, none against its direction" is a result, "no track ever entered a zone" points at a wrong
scene or an empty video. A track counts for a zone when its footprint point (bottom centre of the
box, where the object touches the ground) lies inside the zone polygon, in scene pixels.
"""

from __future__ import annotations

from collections.abc import Iterable

import shapely
from shapely.geometry import Polygon

from detector.types import TrackObservation


class ZoneTrackCounter:
    def __init__(self, zones: Iterable) -> None:  # noqa: ANN001 - scene zones (name, polygon)
        self._zones: list[tuple[str, Polygon]] = []
        for z in zones:
            poly = Polygon(z.polygon)
            shapely.prepare(poly)
            self._zones.append((z.name, poly))
        self._per_zone: dict[str, set[int]] = {name: set() for name, _ in self._zones}
        self._classes: dict[int, str] = {}

    def update(self, observations: Iterable[TrackObservation]) -> None:
        for o in observations:
            if o.track_id < 0:
                continue
            self._classes.setdefault(o.track_id, o.class_name)
            x, y = (o.box[0] + o.box[2]) / 2.0, o.box[3]
            for name, poly in self._zones:
                if shapely.contains_xy(poly, x, y):
                    self._per_zone[name].add(o.track_id)

    def tracks_seen(self) -> dict[str, int]:
        """Distinct tracks by object class over the whole video."""
        out: dict[str, int] = {}
        for name in self._classes.values():
            out[name] = out.get(name, 0) + 1
        return dict(sorted(out.items()))

    def tracks_per_zone(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self._per_zone.items()}
