"""Plain data types that cross the pipeline's module boundaries.

Each arrow of the data path (decode -> detect -> track -> signals -> rules -> evidence) hands one
of these over, so that every stage can be tested on its own: the rules get scripted
``TrackObservation`` lists, the evidence writer gets ``ViolationEvent`` objects, and nothing
downstream of the detector ever sees a model tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in scene (reference) pixels


@dataclass
class Detections:
    """One frame's detector output, already in scene coordinates.

    Arrays rather than objects because trackers and NMS work on whole arrays; ``class_names``
    maps ``class_ids`` to the model's label names so that rules can speak of "person" and "car"
    whatever model produced them.
    """

    xyxy: np.ndarray  # (N, 4) float32
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int64
    class_names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, class_names: dict[int, str] | None = None) -> "Detections":
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros((0,), np.float32),
            np.zeros((0,), np.int64),
            dict(class_names or {}),
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def names(self) -> list[str]:
        return [self.class_names.get(int(c), str(int(c))) for c in self.class_id]

    def subset(self, mask: np.ndarray) -> "Detections":
        return Detections(self.xyxy[mask], self.confidence[mask], self.class_id[mask], self.class_names)

    def scaled(self, sx: float, sy: float) -> "Detections":
        xyxy = self.xyxy * np.array([sx, sy, sx, sy], dtype=np.float32)
        return Detections(xyxy, self.confidence, self.class_id, self.class_names)


def ground_point(box: Box) -> Point:
    """Bottom centre of a box: where a person or vehicle touches the road."""
    x1, _, x2, y2 = box
    return ((x1 + x2) / 2.0, y2)


@dataclass(frozen=True)
class TrackObservation:
    """Where one tracked object was at one analysis instant.

    ``t`` is video time in seconds from the first frame (from stream timestamps, never a frame
    counter). ``ground`` is the bottom centre of ``box`` and is what zones are tested against.
    """

    t: float
    track_id: int
    class_name: str
    box: Box
    confidence: float
    # For a "rider": the track id of the bicycle / motorcycle it rides, when that was detected.
    carried_by: int | None = None
    # The box touches the edge of the picture: the object is partly out of view, so its box's
    # bottom-centre is not where it stands and its motion mixes with the cut.
    truncated: bool = False
    # Which sides were cut, when known: letters of "ltrb" (left, top, right, bottom). The other
    # edges are the object's own, and their motion is its motion.
    cut: str = ""

    @property
    def ground(self) -> Point:
        return ground_point(self.box)


class SignalColor(str, Enum):
    RED = "red"
    GREEN = "green"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StaticObject:
    """Something new and still in the scene that the background model found (litter candidate).

    ``first_seen`` is when the object first differed from the long-term background, ``static_since``
    when it stopped changing; rules decide whether it has stayed long enough to matter.
    """

    object_id: int
    box: Box
    first_seen: float
    static_since: float
    last_seen: float
    label: str = "object"  # detector class when one overlaps it, else "object"
    confidence: float = 0.5
    # The background was carried across a pan of a hand-held camera (``StaticObjectFinder.reproject``):
    # registration errors can then look like new things, so only one someone could have left counts.
    view_moved: bool = False


@dataclass(frozen=True)
class FrameContext:
    """What the rules know at one analysis instant: time, tracks, signal states, static objects."""

    t: float
    frame_index: int
    observations: tuple[TrackObservation, ...]
    signals: dict[str, SignalColor]
    static_objects: tuple[StaticObject, ...] = ()
    # Signals whose current colour began at an unknown time: first read after a spell when the
    # signal head could not be read (a drone frame that could not be registered), with the last
    # instant before it that the previous colour was read (None: never). Not a change seen then.
    signals_unsure: dict[str, float | None] = field(default_factory=dict)


@dataclass
class ViolationEvent:
    """One offence, as a rule raised it; the evidence writer turns it into a case folder.

    ``path`` is the offender's ground-point trajectory ``(t, x, y)`` that the annotated clip
    highlights; ``key_t`` is the instant the snapshot shows (e.g. the moment of entry on red).
    """

    rule: str  # red_light_pedestrian | wrong_way | illegal_parking | litter
    zone: str
    start_s: float
    end_s: float
    key_t: float
    object_class: str
    track_ids: list[int]
    confidence: float
    explanation: str
    key_box: Box | None = None
    path: list[tuple[float, float, float]] = field(default_factory=list)
    signal: str | None = None
    details: dict = field(default_factory=dict)
    explanation_zh: str = ""  # the same sentence in Simplified Chinese, for reviewers and screens
    # The moment the offence became certain (entry on red, the parking limit reached, the
    # wrong-way judgement, litter left long enough); None: ``key_t``, which is that moment for
    # every rule but litter. A segment of a split analysis keeps the cases it decided
    # (``detector.segments``).
    decided_s: float | None = None

    @property
    def decided(self) -> float:
        return self.key_t if self.decided_s is None else self.decided_s
