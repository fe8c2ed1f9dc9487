"""Case label files: which offences a clip really holds, written by a person looking at frames.

The format is fixed (labels made elsewhere must keep working)::

    {"video": "path relative to the label file", "scene": "path relative to the label file",
     "tolerance_s": 1.5, "how": "how the labels were made",
     "events": [{"rule": "red_light_pedestrian", "zone": "main-crosswalk", "t0": 2.5, "t1": 3.5,
                 "optional": false, "at": [3.0, 412, 260], "note": "man in dark suit"}],
     "not_violations": "free text"}

Unknown keys are kept out of the way (ignored), so a label file that grows a field elsewhere still
loads; a missing or malformed required field fails with its path named.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detector.rules import RULE_NAMES


class LabelError(ValueError):
    """A label file that cannot be used; the message names the file and the field."""


class LabelledEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

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


class CaseLabels(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    video: str
    scene: str
    tolerance_s: float = Field(default=1.5, ge=0)
    how: str = ""
    events: list[LabelledEvent] = Field(default_factory=list)
    not_violations: str = ""


def read_json(path: Path, what: str, error: type[ValueError] = ValueError) -> object:
    """``path`` parsed as JSON, or ``error`` naming the file and what it was meant to be."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
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
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '<file>'}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise LabelError(f"{p}: {problems}") from None


def resolve(base: Path, relative: str) -> Path:
    return (base / relative).resolve()
