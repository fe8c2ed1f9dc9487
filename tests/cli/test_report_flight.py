"""``civicwatch report flight``: the report of a real evidence run (clips cut from real footage by
the evidence writer), its approved cases only, an H.264 video as long as the cases it shows, an
HTML page listing each case, a one-page PDF, and the public variant made from redacted media."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import pytest

from civicwatch.cli import main
from detector.hashing import sha256_file
from tests.service.helpers import SCENE_YAML, SHORT_CLIP, make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, footage_dir) -> Path:
    tmp = tmp_path_factory.mktemp("flight-run")
    scene = tmp / "scene.yaml"
    scene.write_text(SCENE_YAML, encoding="utf-8")
    out = tmp / "run"
    cases = make_run(footage_dir / SHORT_CLIP, out, scene)
    assert len(cases) == 2
    return out


def _cases(run_dir: Path) -> list[dict]:
    return json.loads((run_dir / "cases.json").read_text(encoding="utf-8"))


def _decisions(tmp_path: Path, states: dict[str, str], extra: list[dict] = ()) -> Path:
    """Decisions as the service lists them (GET /api/cases): service ids prefixed with the job."""
    items = [
        {"id": f"J7-{pid}", "pipeline_id": pid, "job_id": 7, "state": state}
        for pid, state in states.items()
    ]
    path = tmp_path / "decisions.json"
    path.write_text(
        json.dumps({"items": [*items, *extra], "total": len(items)}), encoding="utf-8"
    )
    return path


def _video(path: Path) -> tuple[str, float, int, float, dict]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (
            stream.codec_context.name,
            float(stream.duration * stream.time_base),
            frames,
            float(stream.average_rate),
            dict(container.metadata),
        )


def test_the_report_of_the_approved_cases(run_dir, tmp_path, capsys):
    cases = _cases(run_dir)
    ids = [c["id"] for c in cases]
    other_run = {
        "id": "J3-elsewhere-wrong_way-1",
        "pipeline_id": "elsewhere-wrong_way-1",
        "state": "approved",
    }
    decisions = _decisions(
        tmp_path, {ids[0]: "approved", ids[1]: "published"}, [other_run]
    )
    out = tmp_path / "report"
    code = main(
        [
            "report",
            "flight",
            str(run_dir),
            "--decisions",
            str(decisions),
            "--out",
            str(out),
            "--unit",
            "朝阳交警支队",
            "--drone-id",
            "DJI-07",
        ]
    )
    assert code == 0
    assert "2 case(s)" in capsys.readouterr().out
    record = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (
        [c["id"] for c in record["cases"]] == ids
        and record["publication"] is False
        and record["reviewed"]
    )

    # the video: H.264, the title card then each case's span at the report's frame rate
    codec, duration, frames, fps, tags = _video(out / "flight.mp4")
    assert codec == "h264" and fps == record["video"]["fps"]
    expected = (
        record["video"]["title_s"]
        + sum(
            round((c["source_span_s"][1] - c["source_span_s"][0]) * fps)
            for c in record["cases"]
        )
        / fps
    )
    assert frames == record["video"]["frames"] and frames / fps == pytest.approx(
        expected, abs=1e-6
    )
    assert duration == pytest.approx(expected, abs=1.5 / fps)
    for case in record[
        "cases"
    ]:  # each case's span lies inside its clip, a few seconds at most
        start, end = case["source_span_s"]
        clip = next(c for c in cases if c["id"] == case["id"])
        assert (
            clip["clip_start_s"] - 1e-6 <= start < end <= clip["clip_end_s"] + 1e-6
            and end - start <= 6.0
        )
    assert not {
        k for k in tags if "location" in k or k in ("make", "model", "creation_time")
    }

    # the page lists each case with its offence, the PDF is one page, every file is as recorded
    html = (out / "report.html").read_text(encoding="utf-8")
    for cid in ids:
        assert f'data-case="{cid}"' in html
    assert (
        "Motor vehicle driving against traffic" in html
        and "Pedestrian crossing against a red signal" in html
    )
    assert (
        "朝阳交警支队" in html and "drone DJI-07" in html and 'src="flight.mp4"' in html
    )
    assert html.count('<li class="case"') == 2
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    assert re.search(rb"/Count\s+1\b", pdf)
    assert {name: sha256_file(out / name) for name in record["files"]} == record[
        "files"
    ]
    assert set(record["files"]) == {
        "flight.mp4",
        "report.html",
        "report.pdf",
        "stills/01.jpg",
        "stills/02.jpg",
    }


def test_a_rejected_case_stays_out(run_dir, tmp_path):
    ids = [c["id"] for c in _cases(run_dir)]
    decisions = _decisions(tmp_path, {ids[0]: "rejected", ids[1]: "approved"})
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "flight",
                str(run_dir),
                "--decisions",
                str(decisions),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f'data-case="{ids[1]}"' in html and ids[0] not in html


def test_every_case_makes_a_draft_that_says_so(run_dir, tmp_path):
    out = tmp_path / "draft"
    assert main(["report", "flight", str(run_dir), "--all", "--out", str(out)]) == 0
    assert "DRAFT" in (out / "report.html").read_text(encoding="utf-8")
    assert json.loads((out / "report.json").read_text())["reviewed"] is False


def test_bad_input_is_refused_and_writes_nothing(run_dir, tmp_path, capsys):
    ids = [c["id"] for c in _cases(run_dir)]
    out = tmp_path / "report"
    base = ["report", "flight", str(run_dir), "--out", str(out)]
    assert main([*base, "--case", "no-such-case"]) == 2
    assert "civicwatch report flight: no such case in this run: no-such-case" in capsys.readouterr().err
    none = _decisions(tmp_path, {ids[0]: "pending", ids[1]: "rejected"})
    assert main([*base, "--decisions", str(none)]) == 2
    assert "none of this run's 2 case(s) is approved" in capsys.readouterr().err
    torn = tmp_path / "torn.json"
    torn.write_text("{not json", encoding="utf-8")
    assert main([*base, "--decisions", str(torn)]) == 2
    both = tmp_path / "both.json"
    both.write_text(
        json.dumps(
            [
                {"id": f"J1-{ids[0]}", "state": "approved"},
                {"id": f"J2-{ids[0]}", "state": "rejected"},
            ]
        )
    )
    assert main([*base, "--decisions", str(both)]) == 2
    assert "is both approved and rejected" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                "flight",
                str(run_dir),
                "--all",
                "--out",
                str(run_dir / "report"),
            ]
        )
        == 2
    )
    assert not out.exists() and not (run_dir / "report").exists()
    with pytest.raises(SystemExit) as exit_:  # which cases is not optional
        main(["report", "flight", str(run_dir)])
    assert exit_.value.code == 2

    assert (
        main([*base, "--case", ids[0]]) == 0
    )  # a service id or the run's own both name a case
    assert (
        main([*base, "--case", f"J9-{ids[1]}"]) == 2
    )  # the folder is there: never overwritten
    assert "exists" in capsys.readouterr().err
    assert main([*base, "--case", f"J9-{ids[1]}", "--force"]) == 0
    assert json.loads((out / "report.json").read_text())["cases"][0]["id"] == ids[1]


def test_the_public_report_is_made_from_redacted_media(run_dir, tmp_path, monkeypatch):
    from service import redaction

    # the redaction's own safe fallback (blur all but the offender) without running the detector
    monkeypatch.setattr(redaction, "default_finders", list)
    out = tmp_path / "public"
    code = main(
        [
            "report",
            "flight",
            str(run_dir),
            "--all",
            "--publication",
            "--out",
            str(out),
            "--pilot",
            "王伟",
        ]
    )
    assert code == 0
    record = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (
        record["publication"] is True
        and record["pilot"] is None
        and record["source"] is None
    )
    assert [c["media"] for c in record["cases"]] == [
        {"clip": "published.mp4", "still": "published.jpg"}
    ] * 2
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "For publication" in html
        and "王伟" not in html
        and 'class="muted case-id"' not in html
    )
    codec, _, frames, _, _ = _video(out / "flight.mp4")
    assert codec == "h264" and frames == record["video"]["frames"]
    assert not list(
        out.parent.glob(".redacted-*")
    )  # the redacted copies were working files only
