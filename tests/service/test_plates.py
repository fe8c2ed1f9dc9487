"""Plates in the review service: the pipeline's read flows in, a reviewer corrects it (audited),
the machine read is never overwritten, old run folders without ``plate`` still ingest."""

from __future__ import annotations

import json

import pytest

from detector.evidence.plates import PlateRead

from .conftest import seed_cases, upload_clip
from .helpers import SHORT_CLIP

MACHINE = PlateRead(text="皖AZ576J", confidence=0.85, format_ok=True, kind="blue", frames_read=3, t=0.6)


@pytest.fixture
def plate_cases(env, camera, footage_dir, evidence_template, tmp_path) -> list[str]:
    """The real run folder with a ``plate`` added to the wrong-way car's case, as the evidence
    writer does for vehicle cases (the walker's case gets null)."""
    template = tmp_path / "run-with-plate"
    import shutil

    shutil.copytree(evidence_template, template)
    cases = json.loads((template / "cases.json").read_text(encoding="utf-8"))
    items = cases["cases"] if isinstance(cases, dict) else cases
    for c in items:
        c["plate"] = MACHINE.as_dict() if c["rule"] == "wrong_way" else None
    (template / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    return seed_cases(env, up["job_id"], template)


def _by_rule(env, ids):
    got = {env.reviewer.get(f"/api/cases/{i}").json()["rule"]: i for i in ids}
    return got["wrong_way"], got["red_light_pedestrian"]


def test_machine_read_is_ingested_and_shown(env, plate_cases):
    car, walker = _by_rule(env, plate_cases)
    detail = env.reviewer.get(f"/api/cases/{car}").json()
    assert detail["plate"] == {"read": MACHINE.as_dict(), "correction": None, "text": "皖AZ576J", "format_ok": True}
    assert env.reviewer.get(f"/api/cases/{walker}").json()["plate"] is None
    listed = {c["id"]: c for c in env.reviewer.get("/api/cases").json()["items"]}
    assert listed[car]["plate"]["text"] == "皖AZ576J"


def test_correction_is_validated_audited_and_keeps_the_machine_read(env, plate_cases):
    car, walker = _by_rule(env, plate_cases)
    url = f"/api/cases/{car}/plate"
    r = env.reviewer.post(url, json={"text": "皖AZ578J"})
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = env.reviewer.post(url, json={"text": "眠AZ578J", "reason": "typo"})
    assert r.status_code == 422 and r.json()["code"] == "plate_format"
    assert env.operator.post(url, json={"text": "皖AZ578J", "reason": "x"}).status_code == 403
    assert env.reviewer.post("/api/cases/nope/plate", json={"text": "皖AZ578J", "reason": "x"}).status_code == 404
    r = env.reviewer.post(f"/api/cases/{walker}/plate", json={"text": "皖AZ578J", "reason": "x"})
    assert r.status_code == 409 and r.json()["code"] == "not_a_vehicle"

    r = env.reviewer.post(url, json={"text": "皖a·z578j", "reason": "the 6 is an 8 in the close-up"})
    assert r.status_code == 200, r.text
    plate = r.json()["plate"]
    assert plate["read"] == MACHINE.as_dict()  # the machine read is untouched
    assert plate["text"] == "皖AZ578J" and plate["format_ok"] is True
    assert plate["correction"]["reviewer"] == "rita" and plate["correction"]["corrections"] == 1

    # an impossible format only with the explicit flag; it is recorded as such
    r = env.reviewer.post(url, json={"text": "WX 12345", "reason": "foreign plate", "allow_invalid_format": True})
    assert r.status_code == 200, r.text
    detail = env.reviewer.get(f"/api/cases/{car}").json()
    assert detail["plate"]["text"] == "WX12345" and detail["plate"]["format_ok"] is False
    assert detail["plate"]["correction"]["corrections"] == 2 and detail["plate"]["read"]["text"] == "皖AZ576J"
    entries = [h for h in detail["history"] if h["action"] == "case.plate"]
    assert [(e["actor"], e["details"]["text"], e["details"]["previous"], e["details"]["machine"]) for e in entries] == [
        ("rita", "皖AZ578J", "皖AZ576J", "皖AZ576J"), ("rita", "WX12345", "皖AZ578J", "皖AZ576J")]
    assert entries[1]["details"]["allow_invalid_format"] is True and entries[1]["details"]["reason"] == "foreign plate"


def test_a_correction_must_be_letters_and_digits_and_full_width_input_is_read_as_typed(env, plate_cases):
    """``allow_invalid_format`` is for plates the format check does not know (foreign, military),
    not for any text: a right-to-left override, a zero-width space, a control character, markup or
    an emoji was stored as the plate in force. Refused (422 ``plate_format``, naming the character)
    with the flag too, nothing recorded. A full-width ``京Ａ１２３４５`` (an input method's
    full-width mode) is the plate 京A12345, not an invalid format."""
    car, _ = _by_rule(env, plate_cases)
    url = f"/api/cases/{car}/plate"
    for text, named in (("\u202e京A12345", "RIGHT-TO-LEFT OVERRIDE"), ("京A1\u200b2345", "ZERO WIDTH SPACE"),
                        ("京A12345\x07", "control character"), ("<b>WX1</b>", "LESS-THAN SIGN"), ("🚗12345", "AUTOMOBILE")):
        r = env.reviewer.post(url, json={"text": text, "reason": "x", "allow_invalid_format": True})
        assert r.status_code == 422 and r.json()["code"] == "plate_format" and named in r.json()["detail"], r.text
    detail = env.reviewer.get(f"/api/cases/{car}").json()
    assert detail["plate"]["correction"] is None and detail["plate"]["text"] == "皖AZ576J"
    assert [h for h in detail["history"] if h["action"] == "case.plate"] == []
    r = env.reviewer.post(url, json={"text": "京Ａ１２３４５", "reason": "typed in full-width mode"})
    assert r.status_code == 200, r.text
    assert r.json()["plate"]["text"] == "京A12345" and r.json()["plate"]["format_ok"] is True


def test_old_run_folders_without_plate_still_ingest(env, cases):
    for case_id in cases:
        detail = env.reviewer.get(f"/api/cases/{case_id}").json()
        assert detail["plate"] is None and detail["state"] == "pending"
