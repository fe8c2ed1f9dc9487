"""Export ultralytics ``.pt`` weights to ONNX, only when the optional extra is installed.

ultralytics pulls in torch, which stays out of the default install; so this is the one place
that imports it, lazily, and a missing extra becomes a message that says what to install.
"""

from __future__ import annotations

from pathlib import Path

INSTALL_HINT = "install the optional extra: pip install 'civicwatch[ultralytics]'"


class ExportError(RuntimeError):
    """The weights cannot be exported; the message says why and what to do."""


def exported_path(weights: Path) -> Path:
    """Where the ONNX export of ``weights`` is cached: next to it, same stem."""
    return Path(weights).with_suffix(".onnx")


def export_to_onnx(weights: Path, imgsz: int | None = None, *, force: bool = False) -> Path:
    """ONNX file for ``weights``, exported once and reused while it is newer than the weights."""
    weights = Path(weights)
    if not weights.is_file():
        raise ExportError(f"weights file not found: {weights}")
    target = exported_path(weights)
    if not force and imgsz is None and target.is_file() and target.stat().st_mtime >= weights.stat().st_mtime:
        return target
    try:
        from ultralytics import YOLO
    except ImportError as err:
        raise ExportError(f"{weights.name} is a PyTorch (.pt) model and ultralytics is not installed; {INSTALL_HINT}") from err
    try:
        out = YOLO(str(weights)).export(format="onnx", imgsz=imgsz or 640, dynamic=False, simplify=False)
    except Exception as err:  # ultralytics raises many types; the message is what matters
        raise ExportError(f"ultralytics could not export {weights}: {err}") from err
    out = Path(out)
    if out.resolve() != target.resolve():
        out.replace(target)
    return target
