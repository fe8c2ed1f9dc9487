"""The model manifest: what the default model is, where it comes from, and its expected hashes.

The hashes live in a reviewed file rather than in code so that swapping the default model is a
one-file change that shows up plainly in review.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detector.models.paths import manifest_path


class ManifestError(ValueError):
    """The manifest is missing or malformed; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourcePackage(_Strict):
    registry: str = "pypi"
    package: str
    version: str
    package_licence: str | None = None

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


class Member(_Strict):
    """One file inside the source package, with the hash it must have."""

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, gt=0)


class Members(_Strict):
    weights: Member
    cfg: Member
    names: Member


class DefaultModel(_Strict):
    name: str
    description: str = ""
    format: str = "darknet"
    source: SourcePackage
    members: Members
    input_size: int = Field(gt=0)
    yolo_masks: list[list[int]] | None = None
    licence: str
    cache_file: str


class Manifest(_Strict):
    default: DefaultModel


def load_manifest(path: Path | None = None) -> Manifest:
    path = path or manifest_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ManifestError(f"cannot read model manifest {path}: {err}") from err
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        raise ManifestError(f"model manifest {path} is invalid: {err}") from err
