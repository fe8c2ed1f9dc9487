"""Score thresholds per class: people may have a threshold of their own.

One threshold for every class serves the detector badly on far pavements: CenterNet scores a
person 10 px tall 0.2-0.3 while it scores a car of that size higher, and the pipeline's 0.3 then
keeps the car and loses the walker. ``person_conf`` lowers the threshold for people only, so
vehicles (whose weaker boxes cost wrong-way precision when measured) keep theirs.

The default for people is 0.2 (``DEFAULT_PERSON_CONF``; benchmarks/README.md, history,
2026-12-06): on the development set it finds three of the four 10 px Beijing pavement walkers that
0.3 misses, and every clean negative stays clean. What kept it off before was a cyclist riding away
from a motorway camera, whose bicycle the detector scores 0.05-0.15: at 0.2 he was tracked as a
person and walked into a crosswalk. He is a rider now by his speed on the ground, which needs the
scene's ground calibration (``detector.riders``); in a scene without one, such a cyclist can still
be taken for a walker, so scenes where riders go along the camera's line of sight should carry one.

The detector runs at the lower of the thresholds (``floor``); ``kept`` sorts its boxes. Boxes are
suppressed only by higher-scored boxes of their class (NMS, tile merging), so the boxes at or
above a threshold are the same whatever lower boxes the detector also returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.types import Detections

PERSON = "person"
# People's threshold when none is given (see the module's docstring); vehicles keep ``conf``.
DEFAULT_PERSON_CONF = 0.2


@dataclass(frozen=True)
class ClassScores:
    conf: float  # every class without a threshold of its own
    person_conf: float | None = None  # None: ``conf``

    @property
    def floor(self) -> float:
        """The score the detector must report down to."""
        return min(self.conf, self.person_conf) if self.person_conf is not None else self.conf

    def kept(self, detections: Detections) -> np.ndarray:
        """Mask of the boxes that are detections (tracked, seen by rules)."""
        if self.person_conf is None:
            return detections.confidence >= self.conf
        person = np.array([n == PERSON for n in detections.names()], dtype=bool)
        return detections.confidence >= np.where(person, self.person_conf, self.conf)
