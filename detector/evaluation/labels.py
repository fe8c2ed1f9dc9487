"""Case label files: which offences a clip really holds, written by a person looking at frames.

The format is fixed (labels made elsewhere must keep working)::

    {"video": "path relative to the label file", "scene": "path relative to the label file",
     "tolerance_s": 1.5, "how": "how the labels were made",
     "events": [{"rule": "red_light_pedestrian", "zone": "main-crosswalk", "t0": 2.5, "t1": 3.5,
                 "optional": false, "at": [3.0, 412, 260], "note": "man in dark suit"}],
     "not_violations": "free text"}

Unknown keys are kept out of the way (ignored), so a label file that grows a field elsewhere still
loads; ``CaseLabels.ignored`` names them (``eval cases`` prints them as a warning), since a typo
(``optinal``, ``tolerence_s``) would otherwise silently score the file with the default. A missing
or malformed required field fails with its path named.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from detector.hashing import sha256_file

from detector.rules import RULE_NAMES


class LabelError(ValueError):
    """A label file that cannot be used; the message names the file and the field."""


class _Labels(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _null_means_not_given(cls, data: object) -> object:
        """``null`` for an optional field (``"note": null``, as tools writing JSON from a missing
        value do) is that field not given, its default, as an empty key in a scene file is; a
        required field given as null is still refused naming it."""
        if isinstance(data, dict) and None in data.values():
            fields = cls.model_fields
            data = {k: v for k, v in data.items()
                    if not (v is None and k in fields and not fields[k].is_required())}
        return data


class LabelledEvent(_Labels):
    rule: str
    zone: str
    t0: float
    t1: float
    optional: bool = False
    # (t, x, y): the offender's ground point at time t, in scene pixels.
    at: tuple[float, float, float] | None = None
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> "LabelledEvent":
        if self.rule not in RULE_NAMES:
            raise ValueError(f"unknown rule {self.rule!r} (known: {', '.join(RULE_NAMES)})")
        if self.t1 < self.t0:
            raise ValueError(f"t1 ({self.t1}) is before t0 ({self.t0})")
        return self


class CaseLabels(_Labels):
    video: str
    scene: str
    tolerance_s: float = Field(default=1.5, ge=0)
    how: str = ""
    events: list[LabelledEvent] = Field(default_factory=list)
    not_violations: str = ""
    _ignored: tuple[str, ...] = PrivateAttr(default=())
    _events_given: bool = PrivateAttr(default=True)

    @field_validator("video", "scene")
    @classmethod
    def _a_path(cls, value: str) -> str:
        """Paths are opened later, far from the file: an empty one or one with a NUL byte (no file
        system accepts it) is named here instead of failing as a traceback there."""
        if not value.strip():
            raise ValueError("must be a path relative to the label file, not empty")
        if "\0" in value:
            raise ValueError("holds a NUL byte; not a path")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _note_ignored(cls, data: object, handler):  # noqa: ANN206 - pydantic's wrap validator
        labels = handler(data)
        if isinstance(data, dict):
            labels._ignored = tuple(_unknown_keys(data))
            labels._events_given = data.get("events") is not None
        return labels

    @property
    def events_given(self) -> bool:
        """Whether the file had an ``events`` list (``[]`` for a clean clip). Without one it is
        scored as a clean clip too, as before, but the reader is told: a file cut short or
        written with another key scored as "no violation" without a word."""
        return self._events_given

    @property
    def ignored(self) -> tuple[str, ...]:
        """Keys of the file that are no field of the format (ignored), each with its place and a
        likely meant field: ``events[0].optinal (did you mean optional?)``."""
        return self._ignored


def _unknown(keys: object, model: type[BaseModel]) -> list[str]:
    known = list(model.model_fields)
    out = []
    for key in keys if isinstance(keys, dict) else ():
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.7)
            out.append(f"{str(key)[:40]}{f' (did you mean {near[0]}?)' if near else ''}")
    return out


def _unknown_keys(data: dict) -> list[str]:
    out = _unknown(data, CaseLabels)
    per_key: dict[str, list[int]] = {}
    events = data.get("events")
    for i, event in enumerate(events if isinstance(events, list) else ()):
        for key in _unknown(event, LabelledEvent):
            per_key.setdefault(key, []).append(i)
    for key, where in per_key.items():
        out.append(f"events[{where[0]}].{key}" if len(where) == 1 else f"events[].{key} ({len(where)} events)")
    return out


# Far beyond any label file, frame list or cases.json (an analysis of a day's footage writes a few
# MB): a larger file is something else given by mistake, a video most often, and was read whole
# into memory before the UTF-8 check refused it.
MAX_JSON_BYTES = 256 * 1024 * 1024


def read_json(path: Path, what: str, error: type[ValueError] = ValueError) -> object:
    """``path`` parsed as JSON, or ``error`` naming the file and what it was meant to be."""
    try:
        with Path(path).open("rb") as f:
            # the size first: a video's 2 GB are not read to learn that they are too many
            raw = f.read(MAX_JSON_BYTES + 1) if os.fstat(f.fileno()).st_size <= MAX_JSON_BYTES else None
        if raw is None or len(raw) > MAX_JSON_BYTES:  # (a pipe has no size: read to the limit)
            limit = f"{MAX_JSON_BYTES // 2**20} MB" if MAX_JSON_BYTES >= 2**20 else f"{MAX_JSON_BYTES} bytes"
            raise error(f"{path}: larger than {limit}; expected {what} as JSON "
                        "(a video or an archive given in its place?)")
        # utf-8-sig: a file saved with a byte order mark (Windows Notepad, PowerShell 5) reads as JSON too
        return json.loads(raw.decode("utf-8-sig"))
    except OSError as err:
        raise error(f"{path}: cannot read {what}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise error(f"{path}: not valid JSON: {err}") from None
    except UnicodeDecodeError as err:  # a video or an image given instead of the JSON file
        raise error(f"{path}: not a UTF-8 text file (byte {err.start}); expected {what} as JSON") from None


def load_labels(path: str | Path) -> tuple[CaseLabels, Path]:
    """The labels and the folder their relative paths start from."""
    p = Path(path)
    data = read_json(p, "label file", LabelError)
    try:
        return CaseLabels.model_validate(data), p.resolve().parent
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or '<file>'}: {_problem(e)}" for e in err.errors())
        raise LabelError(f"{p}: {problems}") from None


_JSON_KINDS = {list: "a list", str: "a text", bool: "true/false", int: "a number", float: "a number",
               type(None): "null"}


def _problem(error: dict) -> str:
    """One validation problem in the label file's own terms: a value that must be an object is said
    so (pydantic named the class reading it: "a valid dictionary or instance of CaseLabels")."""
    if error["type"] == "model_type":
        got = _JSON_KINDS.get(type(error.get("input")), type(error.get("input")).__name__)
        return f"expected a JSON object {{...}}, got {got}"
    return error["msg"].removeprefix("Value error, ")


def resolve(base: Path, relative: str) -> Path:
    return (base / relative).resolve()


# The rule each zone kind's rule object reports (detector.rules.build_rules).
RULE_OF_KIND = {"crosswalk": "red_light_pedestrian", "lane": "wrong_way", "no_parking": "illegal_parking",
                "no_litter": "litter"}


def scene_mismatches(labels: CaseLabels, scene) -> list[str]:  # noqa: ANN001 - detector.scene.Scene
    """Events no case of ``scene`` can ever match: a zone the scene does not have (a typo, or a zone
    renamed in the scene after the labels were made) or a rule its zone's kind is not judged by.
    Such events are always misses; said, not refused, as the labels may be scored against a run
    made with another version of the scene."""
    kinds = {z.name: z.kind for z in scene.zones}
    found: dict[str, list[int]] = {}  # one line per problem, naming every event it concerns
    for i, ev in enumerate(labels.events):
        if ev.zone not in kinds:
            near = difflib.get_close_matches(ev.zone, list(kinds), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}?" if near else f"zones: {', '.join(kinds)}"
            found.setdefault(f"zone: {ev.zone!r} is no zone of the scene ({hint})", []).append(i)
        elif RULE_OF_KIND[kinds[ev.zone]] != ev.rule:
            found.setdefault(f"rule: {ev.rule} is not judged in {kinds[ev.zone]} zone {ev.zone!r} "
                             f"(its rule is {RULE_OF_KIND[kinds[ev.zone]]})", []).append(i)
    return [f"events[{', '.join(map(str, where))}].{problem}" for problem, where in found.items()]


def source_mismatch(labels: CaseLabels, base: Path, run_dir: Path) -> str | None:
    """Why the run in ``run_dir`` may not be of the labelled video, or None. The run's manifest
    records its source's size and SHA-256; scored against the labels of another clip, a run got
    precision and recall with no word that they mean nothing. Said, not refused: a run of a copy
    re-encoded elsewhere may still be scored on purpose."""
    video = resolve(base, labels.video)
    try:
        source = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["inputs"]["source"]
        size, digest = int(source["size"]), str(source["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a run without a readable manifest (older, or cut short): nothing to compare
    if not video.is_file():
        return f"the labelled video {labels.video} is not there, so this run could not be checked against it"
    if video.stat().st_size != size or sha256_file(video) != digest:
        return (f"this run was made from {source.get('name', 'another file')!r}, not from the labelled video "
                f"{labels.video} (their SHA-256 differ): the scores below compare it with another clip's labels")
    return None
