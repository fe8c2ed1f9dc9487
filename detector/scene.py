"""Scene files: which camera, which zones, which signals, and what the coordinates refer to.

A scene is validated completely before any video is read, so that a typo in a polygon costs the
operator a second, not a ten-minute analysis run. Errors name the field path
(``zones[2].polygon``) and the problem.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from shapely.geometry import Polygon as ShapelyPolygon

Coord = tuple[float, float]


class SceneError(ValueError):
    """A scene file that cannot be used; the message names the field and the problem.

    ``errors`` holds the same problems one per field (``field`` path as the message writes it,
    ``loc`` as a list, ``msg``, pydantic's ``type`` and its simple ``ctx`` values), so an editor
    can show each next to the field it concerns and translate the common kinds.
    """

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors: list[dict] = errors if errors is not None else [
            {"field": "", "loc": [], "msg": message, "type": "scene_error"}]


# Longest names a scene may give: the service stores them in fixed-width columns (PostgreSQL
# varchar refuses longer text), and nobody reads a 300-character zone name on a review page.
MAX_NAME = 64
# Bounds on numbers no real scene comes near: past them a value is a typo (zeros too many) that
# would make a rule never fire (max_stop_s: 1e38) or squeeze the zones to nothing (frame_size
# 1e23 wide), silently. A day for any duration; a JPEG's largest side for a picture (a drone
# mosaic's frame_size included).
MAX_SCENE_SECONDS = 86400.0
MAX_FRAME_SIDE = 65535
MAX_PLACE = 255
# Camera ids name a folder under the service's data dir: ".", ".." and hidden names are not ids.
CAMERA_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
# The languages pages are shown in (service.web.i18n.LANGUAGES); the first is the primary one,
# whose text fills the single-language places (a database column, a sheet without a CJK font).
LANGUAGES = ("zh-CN", "en")


def display_names(value: object, limit: int) -> dict[str, str] | None:
    """What people read for a zone or place, per page language.

    Scene files give either one text for every language (``label: 北侧人行横道``, as ``place`` has
    always been) or a mapping ``{zh-CN: 北侧人行横道, en: north crossing}`` with either or both
    languages. Returns the mapping (a plain text under every language), None when not given.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = dict.fromkeys(LANGUAGES, value)
    if not isinstance(value, dict) or not value:
        raise ValueError("give a text or a mapping of language to text, e.g. {zh-CN: 北侧人行横道, en: north crossing}")
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {str(lang)[:20]!r}: use {' and/or '.join(LANGUAGES)}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{lang}: give a non-empty text")
        if len(text) > limit:
            raise ValueError(f"{lang}: at most {limit} characters (got {len(text)})")
        if "\x00" in text:
            raise ValueError(f"{lang}: NUL characters are not allowed")
        out[lang] = text
    return out


def pick_name(names: dict[str, str] | None, lang: str) -> str | None:
    """The text for ``lang``, else the other language's (a name in one language beats none)."""
    if not names:
        return None
    return names.get(lang) or next((names[k] for k in LANGUAGES if names.get(k)), None)


def _holds_bool(value: object) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_bool(v) for v in value)


def _admits_bool(annotation: object) -> bool:
    return annotation is bool or any(_admits_bool(a) for a in get_args(annotation))


def _admits_none(annotation: object) -> bool:
    return annotation is type(None) or any(_admits_none(a) for a in get_args(annotation))


def _expected(annotation: object, value: object) -> str:
    """What a field holding a true/false (``value``) wanted instead, for the message refusing it."""
    options = [a for a in (get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,))
               if a is not type(None)]
    kind = options[0] if options else annotation
    origin = get_origin(kind)
    text = "a text (in quotes: YAML reads an unquoted yes/no/on/off as true/false)"
    if origin in (list, tuple) and isinstance(value, (list, tuple)):  # the flag is inside: what that item is
        items = [a for a in get_args(kind) if a is not Ellipsis]
        i, item = next((i, v) for i, v in enumerate(value) if _holds_bool(v))
        return _expected(items[i] if len(items) > 1 and origin is tuple else items[0], item) if items else "a value"
    if origin in (list, tuple):
        return "a list"
    if origin is Literal:
        return "one of " + ", ".join(map(str, get_args(kind)))
    if kind is str:
        return text
    if origin is dict:  # a display name: one text or a mapping of language to text
        return f"{text} or a mapping"
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return "a mapping" + (" ({enabled: false} to turn it off)" if kind is Slicing else "")
    return "a number"


class _Strict(BaseModel):
    # NaN / infinity in a coordinate or a number is a typo (``.nan`` in YAML), never a setting:
    # refused here with the field's path instead of failing later inside the geometry library.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: object) -> object:
        """A key left empty in YAML (``signals:`` with every entry under it commented out,
        ``window_s:`` with its value commented out) reads as null: for an optional field that means
        "not given", its default, not an error. Required fields stay null and are refused."""
        if isinstance(data, dict) and None in data.values():
            fields = cls.model_fields
            data = {k: v for k, v in data.items() if not (
                v is None and isinstance(k, str) and k in fields and not fields[k].is_required()
                and not _admits_none(fields[k].annotation))}
        return data

    @model_validator(mode="before")
    @classmethod
    def _no_true_false_numbers(cls, data: object) -> object:
        """YAML reads ``yes``/``no``/``on``/``off``/``true`` as booleans, and pydantic would take
        them as 1 and 0 where a number is expected (``frame_size: [true, 540]`` became a frame 1
        pixel wide): refused, naming the field, wherever the field holds no flag."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name) if isinstance(name, str) else None
                if field is not None and _holds_bool(value) and not _admits_bool(field.annotation):
                    # its own type: field_errors joins the field named here to the model's path
                    raise PydanticCustomError("true_false", "{field}: true/false (or yes/no, on/off) where {expected} "
                                              "is expected", {"field": name, "expected": _expected(field.annotation, value)})
        return data


def _check_polygon(points: list[Coord]) -> list[Coord]:
    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    poly = ShapelyPolygon(points)
    if not poly.is_valid or poly.area <= 0:
        raise ValueError("polygon is self-intersecting or has no area")
    return points


class _ZoneBase(_Strict):
    # ``name`` is the zone's key (signals, cases and counts refer to it); ``label`` is what people
    # read on pages, sheets and screens, in one or both languages (``display_names``). Without a
    # label, reviewers see the key as before and street screens show no zone at all.
    name: str = Field(min_length=1, max_length=MAX_NAME)
    label: dict[str, str] | None = None
    polygon: list[Coord]
    classes: list[str] | None = None

    _poly = field_validator("polygon")(classmethod(lambda cls, v: _check_polygon(v)))

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, v: object) -> dict[str, str] | None:
        return display_names(v, MAX_NAME)

    def shown(self, lang: str) -> str:
        """How sentences for people name this zone (a case's explanation): its label in ``lang``,
        else its key, as before labels existed."""
        return pick_name(self.label, lang) or self.name


Trigger = Literal["point", "footprint"]


class _FootprintMixin(BaseModel):
    """Zone membership: the box's bottom-centre point (default), or the share of its footprint.

    ``footprint`` counts a vehicle as in the zone when at least ``min_overlap`` of the bottom band
    of its box lies inside: a car with its front half on a crossing is on it, although the middle
    of its rear edge is not.
    """

    trigger: Trigger = "point"
    min_overlap: float = Field(default=0.3, gt=0, le=1)


class CrosswalkZone(_ZoneBase):
    """Pedestrians may enter only while ``signal`` is not red."""

    kind: Literal["crosswalk"]
    signal: str
    # How far past the edge a person must go before entry counts: waiting at the kerb with toes
    # over the line is not crossing. In metres (ground calibration, else the walker's own height);
    # ``min_entry_distance`` in scene px, as earlier scene files gave it, overrides it.
    min_entry_depth_m: float = Field(default=0.5, gt=0)
    min_entry_distance: float | None = Field(default=None, gt=0)
    # Entries within this many seconds after the light turned red are forgiven (reaction time).
    grace_s: float = Field(default=0.0, ge=0, le=MAX_SCENE_SECONDS)


class LaneZone(_FootprintMixin, _ZoneBase):
    """A lane with a legal direction of travel ``direction: [[x1, y1], [x2, y2]]``."""

    kind: Literal["lane"]
    direction: tuple[Coord, Coord]
    window_s: float = Field(default=2.0, gt=0, le=MAX_SCENE_SECONDS)
    # Shortest move within ``window_s`` that is judged, in metres (ground calibration, else the
    # vehicle's own size); ``min_distance`` in scene px (earlier scene files) overrides it.
    min_distance_m: float = Field(default=0.8, gt=0)
    min_distance: float | None = Field(default=None, gt=0)
    max_cosine: float = Field(default=-0.5, ge=-1, le=0)

    @field_validator("direction")
    @classmethod
    def _non_zero(cls, v: tuple[Coord, Coord]) -> tuple[Coord, Coord]:
        (x1, y1), (x2, y2) = v
        if (x1, y1) == (x2, y2):
            raise ValueError("direction's two points are the same; it must point somewhere")
        return v


class NoParkingZone(_FootprintMixin, _ZoneBase):
    kind: Literal["no_parking"]
    max_stop_s: float = Field(default=60.0, gt=0, le=MAX_SCENE_SECONDS)
    # A vehicle whose ground point stays within this radius counts as stopped: metres (ground
    # calibration, else the vehicle's own size); ``stationary_radius`` in scene px overrides it.
    stationary_radius_m: float = Field(default=0.4, gt=0)
    stationary_radius: float | None = Field(default=None, gt=0)
    # A stopped vehicle may go unseen this long (occlusion by a bus, detector misses, a new
    # tracker id) and still count as the same stay.
    gap_s: float = Field(default=8.0, ge=0, le=MAX_SCENE_SECONDS)


class NoLitterZone(_ZoneBase):
    kind: Literal["no_litter"]
    min_static_s: float = Field(default=10.0, gt=0, le=MAX_SCENE_SECONDS)
    # Smallest and largest blob (scene px^2) the background model reports as an object.
    min_area: float = Field(default=60.0, gt=0)
    max_area: float = Field(default=20000.0, gt=0)

    @model_validator(mode="after")
    def _area_range(self) -> NoLitterZone:
        # min_area above max_area leaves no blob size that counts: the zone would never raise a
        # case, and nothing would say why.
        if self.min_area > self.max_area:
            raise ValueError(f"min_area ({self.min_area:g}) is larger than max_area ({self.max_area:g}): "
                             "no object could ever count; min_area must be at most max_area")
        return self


Zone = Annotated[CrosswalkZone | LaneZone | NoParkingZone | NoLitterZone, Field(discriminator="kind")]


class Schedule(_Strict):
    cycle_s: float = Field(gt=0, le=MAX_SCENE_SECONDS)
    offset_s: float = 0.0
    red: list[tuple[float, float]]

    @field_validator("red")
    @classmethod
    def _within_cycle(cls, v: list[tuple[float, float]], info) -> list[tuple[float, float]]:
        cycle = info.data.get("cycle_s")
        for a, b in v:
            if not a < b:
                raise ValueError(f"red interval [{a}, {b}] must have start < end")
            if cycle is not None and (a < 0 or b > cycle):
                raise ValueError(f"red interval [{a}, {b}] lies outside the cycle 0..{cycle}")
        return v


class Signal(_Strict):
    """One signal head, read one of three ways (exactly one must be given)."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    roi: tuple[int, int, int, int] | None = None  # x, y, w, h of the signal head in the image
    schedule: Schedule | None = None
    timeline: list[tuple[float, Literal["red", "green", "unknown"]]] | None = None
    # ROI reading: a colour must hold this long before the state changes (no flicker cases).
    debounce_s: float = Field(default=0.5, ge=0, le=MAX_SCENE_SECONDS)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Signal:
        given = [k for k in ("roi", "schedule", "timeline") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of roi, schedule or timeline (got {given or 'none'})")
        if self.roi is not None and (self.roi[2] <= 0 or self.roi[3] <= 0):
            raise ValueError("roi width and height must be positive")
        if self.timeline is not None:
            times = [t for t, _ in self.timeline]
            if times != sorted(times):
                raise ValueError("timeline times must be in increasing order")
        return self


class Calibration(_Strict):
    """Ground calibration: image points (scene px) and where they lie on the ground (metres).

    Four or more pairs define the homography image -> ground that rules measure distances in.
    """

    image: list[Coord] = Field(min_length=4)
    ground: list[Coord] = Field(min_length=4)

    @model_validator(mode="after")
    def _solvable(self, info: ValidationInfo) -> Calibration:
        from detector.geometry import GroundCalibration, calibration_problem

        if len(self.image) != len(self.ground):
            raise ValueError(f"image has {len(self.image)} points but ground has {len(self.ground)}")
        GroundCalibration.from_points(self.image, self.ground)  # raises ValueError when degenerate
        # checked since scenes were recorded with cases: a recorded scene reads back as it was
        if not (info.context or {}).get("recorded") and (problem := calibration_problem(self.image, self.ground)):
            raise ValueError(problem)
        return self

    def homography(self):
        from detector.geometry import GroundCalibration

        return GroundCalibration.from_points(self.image, self.ground)


class Slicing(_Strict):
    """Sliced inference over the whole frame (``detector.slicing``): the frame cut into tiles of
    ``tile`` px of the *video* that overlap by ``overlap`` of a tile, each fed to the model at its
    input size, for objects too small for the whole frame. Without this field a drone scene
    slices (320 px, 0.2) and a fixed camera does not (its zone tiles look where the rules look).
    """

    enabled: bool = True
    tile: int | None = Field(default=None, ge=64, le=4096)  # None: 320
    overlap: float = Field(default=0.2, ge=0, le=0.75)


class Scene(_Strict):
    # A safe slug: it names a folder under the data dir, so "." and ".." (and any leading dot) are out.
    camera: str = Field(min_length=1, max_length=MAX_NAME)
    kind: Literal["fixed", "drone"] = "fixed"
    # ``place`` is one text (stored with the camera, copied to uploads); a scene may give it per
    # language instead (``place: {zh-CN: ..., en: ...}``): ``place`` is then the primary
    # language's text and ``place_names`` all of them (see ``_place_per_language``).
    place: str | None = Field(default=None, max_length=MAX_PLACE)
    place_names: dict[str, str] | None = None
    start_time: datetime | None = None
    timezone: str = Field(default="Asia/Shanghai", max_length=MAX_NAME)
    frame_size: tuple[int, int]
    zones: list[Zone] = Field(min_length=1)
    signals: list[Signal] = Field(default_factory=list)
    calibration: Calibration | None = None
    # Drone scenes: the image of the place seen from above that the zones are drawn on and every
    # frame is registered to (a path relative to the scene file). Optional: without it the
    # flight's first textured frame is the reference.
    reference_image: str | None = Field(default=None, min_length=1, max_length=MAX_PLACE)
    # Sliced inference for small objects; None: on for drone scenes, off for fixed cameras.
    slicing: Slicing | None = None
    # Drone flights along a road (new ground in every frame): the flight's mosaic file written by
    # ``civicwatch mosaic`` (a path relative to the scene file). The zones are drawn on its
    # ``mosaic.jpg`` and ``frame_size`` is that image's size; each frame is placed on the mosaic
    # by the transforms stored there (``detector.mosaic``). Instead of ``reference_image``.
    mosaic: str | None = Field(default=None, min_length=1, max_length=MAX_PLACE)

    @model_validator(mode="before")
    @classmethod
    def _place_per_language(cls, data: object) -> object:
        """``place: {zh-CN: ..., en: ...}`` becomes ``place`` (the primary language's text, which
        every single-text consumer keeps using) and ``place_names`` (every language)."""
        if isinstance(data, dict) and isinstance(data.get("place"), dict):
            try:
                names = display_names(data["place"], MAX_PLACE)
            except ValueError as err:
                raise ValueError(f"place: {err}") from None
            data = {**data, "place": pick_name(names, LANGUAGES[0]), "place_names": names}
        return data

    @field_validator("place_names", mode="before")
    @classmethod
    def _place_names(cls, v: object) -> dict[str, str] | None:
        return display_names(v, MAX_PLACE)

    @field_validator("camera")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not CAMERA_ID.fullmatch(v):
            raise ValueError(f"camera id {v[:80]!r} is not a safe name: use letters, digits, '_', '-' and '.', "
                             "not starting with '.' (e.g. bj-overpass)")
        return v

    @field_validator("start_time")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("start_time needs a UTC offset, e.g. 2024-05-01T08:00:00+08:00")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("frame_size")
    @classmethod
    def _positive(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] <= 0 or v[1] <= 0:
            raise ValueError("frame_size must be two positive integers [width, height]")
        if v[0] > MAX_FRAME_SIDE or v[1] > MAX_FRAME_SIDE:
            raise ValueError(f"frame_size must be at most {MAX_FRAME_SIDE} pixels a side (the largest picture "
                             f"a JPEG holds); got {v[0]}x{v[1]}")
        return v

    @model_validator(mode="after")
    def _references(self) -> Scene:
        names = [z.name for z in self.zones]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"zone names must be unique; repeated: {sorted(dup)}")
        sig_names = [s.name for s in self.signals]
        for i, z in enumerate(self.zones):
            if isinstance(z, CrosswalkZone) and z.signal not in sig_names:
                raise ValueError(f"zones[{i}].signal: no signal named {z.signal!r} (have {sig_names})")
        return self

    @model_validator(mode="after")
    def _usable(self, info: ValidationInfo) -> Scene:
        """Checks added after scenes were first recorded with cases (``tracks.json``): a scene
        read back as a record (``context={"recorded": True}``) is not refused by them."""
        if (info.context or {}).get("recorded"):
            return self
        sig_names = [s.name for s in self.signals]
        dup = {n for n in sig_names if sig_names.count(n) > 1}
        if dup:  # a crossing names its signal: with two of that name, which one it obeys is a guess
            raise ValueError(f"signals: signal names must be unique; repeated: {sorted(dup)}")
        # Coordinates are frame_size pixels. A zone or signal head with no part inside the frame can
        # never see anything (a typo, or the wrong frame_size): refused. Corners drawn a little past
        # the edge are fine; only the part inside the frame is ever seen.
        w, h = self.frame_size
        frame = ShapelyPolygon([(0, 0), (w, 0), (w, h), (0, h)])
        for i, z in enumerate(self.zones):
            if ShapelyPolygon(z.polygon).intersection(frame).area <= 0:
                raise ValueError(f"zones[{i}].polygon: lies outside the frame (frame_size {w}x{h})")
        if self.calibration is not None:
            # an arrow drawn up past the horizon (into the sky above a long road) ends behind the
            # camera on the ground: the lane's direction would be read backwards
            cal = self.calibration.homography()
            for i, z in enumerate(self.zones):
                for j, p in enumerate(getattr(z, "direction", None) or ()):
                    if not cal.on_ground_side(p, self.calibration.image):
                        raise ValueError(f"zones[{i}].direction[{j}]: lies on or above the horizon of the ground "
                                         "calibration, where no road is (the lane's direction would be read "
                                         "backwards): end the arrow on the road")
            for i, z in enumerate(self.zones):
                if not isinstance(z, CrosswalkZone):
                    continue
                for j, p in enumerate(z.polygon):
                    # a crossing's depth is measured on the ground to its kerb edges: a corner past
                    # the horizon maps behind the camera, mirrored, and bends those edges through
                    # places far from the crossing (walkers judged "entered" metres off)
                    if not cal.on_ground_side(p, self.calibration.image):
                        raise ValueError(f"zones[{i}].polygon[{j}]: this crosswalk corner lies on or above the "
                                         "horizon of the ground calibration, where no road is (its depth "
                                         "would be measured behind the camera): draw the crossing on the road")
        for i, sig in enumerate(self.signals):
            if sig.roi is not None:
                x, y, rw, rh = sig.roi
                if x >= w or y >= h or x + rw <= 0 or y + rh <= 0:
                    raise ValueError(f"signals[{i}].roi: lies outside the frame (frame_size {w}x{h})")
        return self

    def zone(self, name: str):
        return next(z for z in self.zones if z.name == name)

    def ignored_fields(self) -> list[str]:
        """Fields given that this scene's kind never reads, as warnings naming each.

        ``reference_image`` and ``mosaic`` place the frames of a drone flight; a fixed camera
        registers to its own first frame. A scene drawn on a mosaic without ``kind: drone`` was
        analysed as a fixed camera without a word, its zones in the mosaic's pixels laid over the
        video's. Warned, not refused: fixed scenes saved with such a field keep loading."""
        if self.kind == "drone":
            return []
        return [f"{name}: read only for drone scenes (kind: drone); this fixed camera's scene ignores it"
                for name in ("reference_image", "mosaic") if getattr(self, name)]

    def never_red_signals(self) -> list[str]:
        """Signals that can never be red, as warnings naming each: a plan with no red interval
        (``red: []``) or an empty log (``timeline: []``, the colour unknown throughout) turns the
        red-light rule of every crossing that uses it off without a word. Warned, not refused: a
        scene saved so keeps loading. A log with entries but no red is a clip filmed on green."""
        out = []
        for i, sig in enumerate(self.signals):
            if sig.schedule is not None and not sig.schedule.red:
                out.append(f"signals[{i}] ({sig.name}): the schedule has no red interval (red: []), so this "
                           "signal is never red and no crossing that uses it can raise a red-light case")
            elif sig.timeline is not None and not sig.timeline:
                out.append(f"signals[{i}] ({sig.name}): the timeline is empty, so this signal's colour is unknown "
                           "throughout and no crossing that uses it can raise a red-light case")
        return out

    def place_in(self, lang: str) -> str | None:
        """The place as read in ``lang``: its own text, else the other language's, else ``place``."""
        return pick_name(self.place_names, lang) or self.place

    def zone_label(self, name: str | None, lang: str) -> str | None:
        """Zone ``name``'s display name in ``lang``; None when the zone is unknown or unlabelled
        (the caller decides whether the key may be shown instead: never on a street screen)."""
        zone = next((z for z in self.zones if z.name == name), None)
        return pick_name(zone.label, lang) if zone is not None else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_ZONE_TAGS = ("crosswalk", "lane", "no_parking", "no_litter")
# A model-level check names its field at the start of its message: "zones[1].signal: no signal ..."
_FIELD_PREFIX = re.compile(r"^((?:[A-Za-z_]\w*|\[\d+\])(?:\.[A-Za-z_]\w*|\[\d+\])*): (.+)$", re.DOTALL)


def _field_path(loc: list) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _path_loc(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[A-Za-z_]\w*|\d+", path)]


def _zone_kind_problem(e: dict) -> str | None:
    """A zone's ``kind`` missing or unknown, said as the scene file's words: pydantic's own text
    ("Unable to extract tag using discriminator 'kind'") named the zone but not the field, and
    not what a new user should write there."""
    kinds = ", ".join(_ZONE_TAGS)
    if e["type"] == "union_tag_not_found":
        return f"missing: give the zone's kind, one of {kinds}"
    if e["type"] == "union_tag_invalid":
        return f"unknown kind {str((e.get('ctx') or {}).get('tag', ''))[:40]!r}: use one of {kinds}"
    return None


def _unknown_key_problem(e: dict) -> str | None:
    """A key the scene format does not have there, said with what was probably meant: pydantic's
    "Extra inputs are not permitted" named the key but not that a typo (``directon``) or a field
    of another zone kind or section (``direction`` in a no_parking zone) is the usual cause."""
    if e["type"] != "extra_forbidden" or not e["loc"] or not isinstance(e["loc"][-1], str):
        return None
    key = e["loc"][-1]
    known = {n for m in (Scene, CrosswalkZone, LaneZone, NoParkingZone, NoLitterZone, Signal, Schedule, Calibration,
                         Slicing) for n in m.model_fields} - {"place_names"}
    if key in known:
        return f"not a field here ({key} belongs to another zone kind or section: check the indentation and kind)"
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return "not a scene file field (check the spelling and the indentation)" + (
        f"; did you mean {close[0]}?" if close else "")


def field_errors(err: ValidationError) -> list[dict]:
    """One entry per problem: where (``field`` / ``loc``), what (``msg``) and its kind (``type``)."""
    out = []
    for e in err.errors():
        # the discriminator tag is not a field the user wrote
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p in _ZONE_TAGS)]
        msg = e["msg"].removeprefix("Value error, ")
        if (kind_problem := _zone_kind_problem(e)) is not None:
            loc, msg = [*loc, "kind"], kind_problem
        msg = _unknown_key_problem(e) or msg
        if (m := _FIELD_PREFIX.match(msg)) and (not loc or e["type"] == "true_false"):
            loc, msg = loc + _path_loc(m.group(1)), m.group(2)
        if not loc and msg.startswith("zone names must be unique"):
            loc = ["zones"]
        ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, (str, int, float)) and k != "error"}
        out.append({"field": _field_path(loc), "loc": loc, "msg": msg, "type": e["type"], **({"ctx": ctx} if ctx else {})})
    return out


def _format_errors(errors: list[dict]) -> str:
    return "; ".join(f"{e['field'] or '<scene>'}: {e['msg']}" for e in errors)


def parse_scene(data: object, source: str = "scene") -> Scene:
    if not isinstance(data, dict):
        msg = f"expected a mapping at the top level, got {type(data).__name__}"
        raise SceneError(f"{source}: {msg}", [{"field": "", "loc": [], "msg": msg, "type": "not_a_mapping"}])
    try:
        return Scene.model_validate(data)
    except ValidationError as err:
        errors = field_errors(err)
        raise SceneError(f"{source}: {_format_errors(errors)}", errors) from None
    except RecursionError:  # lists in lists hundreds deep: no scene field nests more than three
        raise _too_deep(source) from None
    except OverflowError:  # an integer of hundreds of digits reaching the geometry (frame_size)
        msg = "a number too large for any size or coordinate (hundreds of digits?)"
        raise SceneError(f"{source}: {msg}", [{"field": "", "loc": [], "msg": msg, "type": "too_large"}]) from None


def _too_deep(source: str) -> SceneError:
    msg = "nested too deeply (lists or mappings inside each other hundreds of levels deep); not a scene file"
    return SceneError(f"{source}: {msg}", [{"field": "", "loc": [], "msg": msg, "type": "too_deep"}])


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, first: yaml.Node, again: yaml.Node):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.first_line, self.line, self.column = key, first.start_mark.line + 1, \
            again.start_mark.line + 1, again.start_mark.column + 1


class _SceneLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (a second ``zones:`` block
    pasted below the first): plain YAML keeps the last silently, dropping what the first held."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *defaults", overridden on purpose
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # an unhashable key: the safe loader refuses it itself
                    continue
                if first is not key_node:
                    raise _DuplicateKey(key, first, key_node)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode):  # noqa: ANN201 - date or datetime
        """An unquoted date and time that is no date (``2015-02-30 08:00``): YAML's parser raised
        a bare ``ValueError`` (a traceback); said as a YAML problem at its line instead."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as err:
            raise yaml.constructor.ConstructorError(
                None, None, f"{str(node.value)[:40]} is not a date and time ({err})", node.start_mark) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python reads at most 4300 digits
            raise yaml.constructor.ConstructorError(
                None, None, f"a number with too many digits ({len(str(node.value))} characters)",
                node.start_mark) from None


_SceneLoader.add_constructor("tag:yaml.org,2002:timestamp", _SceneLoader.construct_yaml_timestamp)
_SceneLoader.add_constructor("tag:yaml.org,2002:int", _SceneLoader.construct_yaml_int)


def load_scene_text(text: str, source: str = "scene") -> Scene:
    try:
        data = yaml.load(text, Loader=_SceneLoader)  # noqa: S506 - a SafeLoader
    except _DuplicateKey as err:
        msg = (f"{str(err.key)[:80]}: given twice (lines {err.first_line} and {err.line}); YAML keeps only the "
               "last one, so earlier versions dropped the first without a word: keep one (merge them)")
        raise SceneError(f"{source}: {msg}", [{"field": "", "loc": [], "msg": msg, "type": "duplicate_key",
                                               "line": err.line, "column": err.column}]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark is not None else {}
        # YAML names the text it read "<unicode string>" in each place it points at; the message
        # already begins with the file's name, so the places are given by line and column only.
        said = str(err).replace('in "<unicode string>", ', "")
        raise SceneError(f"{source}: not valid YAML: {said}", [
            {"field": "", "loc": [], "msg": f"not valid YAML: {said}", "type": "yaml", **where}]) from None
    except RecursionError:
        raise _too_deep(source) from None
    return parse_scene(data, source)


# The most a scene file holds: what is read of a file given as the scene, so that a video given in
# its place (the two swapped) is not read whole into memory. The service takes scenes of at most
# 1 MiB (its editor counts characters, up to 4 bytes each in UTF-8): the largest real ones are KBs.
MAX_SCENE_BYTES = 4 * 1024 * 1024


def load_scene(path: str | Path) -> Scene:
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_SCENE_BYTES + 1)
    except OSError as err:
        raise SceneError(f"{p}: cannot read scene file: {err.strerror}") from None
    try:
        text = raw[:MAX_SCENE_BYTES].decode("utf-8")
    except UnicodeDecodeError as err:  # a video or an image given as the scene, or a legacy encoding
        if len(raw) <= MAX_SCENE_BYTES or err.start < MAX_SCENE_BYTES - 3:  # not a character cut at the limit
            utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # Windows Notepad's "Unicode"
            msg = f"not a UTF-8 text file (byte {err.start}); " + (
                "not text at all (a video or a picture given as the scene?): a scene file is YAML text"
                if b"\x00" in raw and not utf16 else  # else text in another encoding (GBK: editors in China)
                "a scene file is YAML text in UTF-8: save it as UTF-8 (another encoding, e.g. "
                f"{'UTF-16' if utf16 else 'GBK'}, was used)")
            raise SceneError(f"{p.name}: {msg}", [{"field": "", "loc": [], "msg": msg, "type": "encoding"}]) from None
    if len(raw) > MAX_SCENE_BYTES:
        msg = (f"larger than a scene file can be ({MAX_SCENE_BYTES // (1024 * 1024)} MiB): is it the scene? "
               "(a video or another file given in its place)")
        raise SceneError(f"{p.name}: {msg}", [{"field": "", "loc": [], "msg": msg, "type": "too_large"}])
    # newlines as a text-mode read gives them (CRLF and CR as LF): line numbers in messages as before
    return load_scene_text(text.replace("\r\n", "\n").replace("\r", "\n"), p.name)
