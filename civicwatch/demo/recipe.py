"""The demo recipe (``samples/demo/recipe.yaml``) as typed models.

One file holds the layout, the actors' paths and the planted events, so that the drawing, the
scene file and the ground truth cannot drift apart: scene.yaml and ground_truth.yaml are derived
from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO_ROOT / "samples" / "demo"
RECIPE_PATH = DEMO_DIR / "recipe.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VideoSpec(_Strict):
    size: tuple[int, int]
    fps: int = Field(gt=0)
    duration_s: float = Field(gt=0)
    crf: int = 23
    gop: int = 30
    seed: int = 0

    @property
    def frame_count(self) -> int:
        return int(round(self.duration_s * self.fps))


class Member(_Strict):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SourceSpec(_Strict):
    debian_package: str
    debian_version: str
    licence: str
    members: dict[str, Member]


class CameraSpec(_Strict):
    id: str
    place: str | dict[str, str]  # one text, or per page language (detector.scene.display_names)
    start_time: str
    timezone: str


Box = tuple[int, int, int, int]


class LayoutSpec(_Strict):
    far_pavement_y: tuple[int, int]
    road_y: tuple[int, int]
    lane_divider_y: int
    bike_lane_y: tuple[int, int]
    near_pavement_y: tuple[int, int]
    crosswalk_x: tuple[int, int]
    no_parking_box: Box
    plaza: Box
    bus_stop: Box
    signal_head: Box  # x, y, w, h


class SignalSpec(_Strict):
    name: str
    timeline: list[tuple[float, Literal["red", "green"]]]

    def color_at(self, t: float) -> str:
        color = self.timeline[0][1]
        for start, c in self.timeline:
            if t >= start:
                color = c
        return color


class RuleSpec(_Strict):
    crosswalk_min_entry_distance: float
    max_stop_s: float
    stationary_radius: float
    min_static_s: float
    litter_min_area: float
    litter_max_area: float


class SpriteSpec(_Strict):
    photo: str
    crop: Box
    height: int = Field(gt=0)
    faces: Literal["left", "right", "none"] = "none"
    mask: Literal["grabcut", "saturation", "porch_key", "rect"] = "grabcut"
    jacket_hue: int | None = None  # OpenCV hue (0..179) the blue jacket is repainted to
    gain: tuple[float, float, float] | None = None  # per-channel BGR multiplier
    repair: Literal["remove_dog"] | None = None


class ActorSpec(_Strict):
    sprite: str
    walk: bool = False
    path: list[tuple[float, float, float]] = Field(min_length=2)

    @model_validator(mode="after")
    def _times_increase(self) -> "ActorSpec":
        times = [p[0] for p in self.path]
        if any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("path times must strictly increase")
        return self


class PropSpec(_Strict):
    sprite: str
    actor: str
    carry_offset: tuple[float, float]
    drop_t: float
    fall_s: float = 0.3
    rest: tuple[float, float]


class EventSpec(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: Literal["red_light_pedestrian", "wrong_way", "illegal_parking", "litter"]
    zone: str
    start_s: float
    end_s: float
    object_class: str
    actor: str
    note: str
    accept_classes: list[str] | None = None
    flag_after_s: float | None = None


class EventsSpec(_Strict):
    violations: list[EventSpec]
    negatives: list[EventSpec]


class Recipe(_Strict):
    video: VideoSpec
    source: SourceSpec
    camera: CameraSpec
    layout: LayoutSpec
    signal: SignalSpec
    rules: RuleSpec
    sprites: dict[str, SpriteSpec]
    actors: dict[str, ActorSpec]
    props: dict[str, PropSpec]
    events: EventsSpec

    @model_validator(mode="after")
    def _references(self) -> "Recipe":
        for name, s in self.sprites.items():
            if s.photo not in self.source.members:
                raise ValueError(f"sprites.{name}.photo: {s.photo!r} is not a source member")
        for name, a in self.actors.items():
            if a.sprite not in self.sprites:
                raise ValueError(f"actors.{name}.sprite: no sprite {a.sprite!r}")
        for name, p in self.props.items():
            if p.sprite not in self.sprites:
                raise ValueError(f"props.{name}.sprite: no sprite {p.sprite!r}")
            if p.actor not in self.actors:
                raise ValueError(f"props.{name}.actor: no actor {p.actor!r}")
        for e in self.events.violations + self.events.negatives:
            if e.actor not in self.actors:
                raise ValueError(f"events: no actor {e.actor!r}")
        return self


def load_recipe(path: Path = RECIPE_PATH) -> Recipe:
    return Recipe.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
