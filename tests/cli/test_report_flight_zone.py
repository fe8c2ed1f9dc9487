"""``civicwatch report flight`` gives the report's "made" time in the camera's zone, as it gives the
offences' times, not in the zone of the machine that runs it."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from civicwatch.cli import main
from tests.service.helpers import SCENE_YAML, SHORT_CLIP, make_run

ROME = SCENE_YAML.replace("timezone: Asia/Shanghai", "timezone: Europe/Rome").replace(
    "start_time: 2024-05-01T08:00:00+08:00", "start_time: 2024-05-01T08:00:00+02:00")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, footage_dir) -> Path:
    tmp = tmp_path_factory.mktemp("flight-zone")
    scene = tmp / "scene.yaml"
    scene.write_text(ROME, encoding="utf-8")
    out = tmp / "run"
    make_run(footage_dir / SHORT_CLIP, out, scene)
    return out


@pytest.fixture
def machine_in_new_york(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("with_scene", [False, True])
def test_made_in_the_cameras_zone(run_dir, tmp_path, machine_in_new_york, with_scene, capsys) -> None:
    out = tmp_path / "report"
    extra = ["--scene", str(tmp_path / "scene.yaml")] if with_scene else []
    if with_scene:
        (tmp_path / "scene.yaml").write_text(ROME, encoding="utf-8")
    assert main(["report", "flight", str(run_dir), "--all", "--out", str(out), *extra]) == 0
    made = datetime.fromisoformat(json.loads((out / "report.json").read_text(encoding="utf-8"))["made_at"])
    rome = datetime.now(ZoneInfo("Europe/Rome")).utcoffset()
    assert made.utcoffset() == rome != datetime.now().astimezone().utcoffset()  # not the machine's (New York)
    hours = int(rome.total_seconds() // 3600)
    assert f"{made:%Y-%m-%d %H:%M:%S} (UTC+{hours:02d}:00)" in (out / "report.html").read_text(encoding="utf-8")
