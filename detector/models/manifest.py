"""The model manifest: the default model, the extra named models, where they come from, their hashes.

The hashes live in a reviewed file rather than in code so that swapping the default model is a
one-file change that shows up plainly in review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detector.models.paths import manifest_path


class ManifestError(ValueError):
    """The manifest is missing or malformed; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourcePackage(_Strict):
    registry: Literal["pypi", "npm"] = "pypi"
    package: str
    version: str
    package_licence: str | None = None
    # Hash of the downloaded archive itself (optional: the members are always checked).
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, gt=0)

    @property
    def requirement(self) -> str:
        """``name==version`` for pip, ``name@version`` for npm."""
        return f"{self.package}@{self.version}" if self.registry == "npm" else f"{self.package}=={self.version}"


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
    # Further input sizes to convert the same weights at (optional; names get a "-SIZE" suffix).
    input_sizes: list[int] | None = None
    yolo_masks: list[list[int]] | None = None
    licence: str
    cache_file: str

    @field_validator("input_sizes")
    @classmethod
    def _multiples_of_32(cls, sizes: list[int] | None) -> list[int] | None:
        if sizes and any(s <= 0 or s % 32 for s in sizes):
            raise ValueError("input sizes must be positive multiples of 32 (the network's largest stride)")
        return sizes

    def variant_name(self, size: int) -> str:
        """``yolov3-tiny-coco`` at its own size, ``yolov3-tiny-coco-608`` at another."""
        return self.name if size == self.input_size else f"{self.name}-{size}"

    def variant_cache_file(self, size: int) -> str:
        if size == self.input_size:
            return self.cache_file
        stem, dot, suffix = self.cache_file.rpartition(".")
        return f"{stem}-{size}.{suffix}" if dot else f"{self.cache_file}-{size}"

    @property
    def sizes(self) -> list[int]:
        """Every size this model is offered at, its own first."""
        return [self.input_size, *(s for s in dict.fromkeys(self.input_sizes or []) if s != self.input_size)]


class TfjsMembers(_Strict):
    model: Member  # model.json
    shards: list[Member]  # the weight files, matched to weightsManifest paths by file name


class ExtraModel(_Strict):
    """A further named model; ``format`` says which converter turns its files into ONNX."""

    description: str = ""
    format: Literal["tfjs-nanodet", "tfjs-centernet"]
    source: SourcePackage
    members: TfjsMembers
    input_size: int = Field(gt=0)
    licence: str
    cache_file: str


class Manifest(_Strict):
    default: DefaultModel
    extra: dict[str, ExtraModel] = Field(default_factory=dict)
    # The model the analysis pipeline uses when none is given (a name of this manifest); absent:
    # the ``default`` model, as manifests of earlier versions meant.
    analysis_model: str | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> Manifest:
        taken = {self.default.variant_name(s) for s in self.default.sizes}
        clash = taken & set(self.extra)
        if clash:
            raise ValueError(f"extra model names {sorted(clash)} clash with the default model's")
        if self.analysis_model is not None and self.analysis_model not in taken | set(self.extra):
            raise ValueError(f"analysis_model {self.analysis_model!r} names no model of this manifest")
        return self


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
