"""Every case answer names the offence as the evidence sheet and the flight report do: by the
offender's class, with its code (a car going the wrong way is 机动车逆向行驶, code 1301, not the
rule's generic "wrong-way riding"), so the review page, the sheet and an export's record agree."""

from __future__ import annotations

import pytest

from detector.evidence.sheet import sheet_caption
from detector.scene import load_scene_text
from detector.types import ViolationEvent
from service.api.case_schema import CaseSummary
from service.api.common import case_summary
from service.models import Case

from .helpers import SCENE_YAML


@pytest.mark.parametrize(("rule", "object_class", "zh", "en", "code"), [
    ("wrong_way", "car", "机动车逆向行驶", "Motor vehicle driving against traffic", "1301"),
    ("wrong_way", "bicycle", "非机动车逆向行驶", "Non-motor vehicle riding against traffic", None),
    ("illegal_parking", "truck", "机动车违反规定停放", "Vehicle parked where parking is prohibited", "1039"),
    ("red_light_pedestrian", "person", "行人不按交通信号灯指示通行", "Pedestrian crossing against a red signal", None),
])
def test_the_case_answer_names_the_offence_like_the_sheet(rule, object_class, zh, en, code) -> None:
    case = Case(id="J1-x", pipeline_id="x", job_id=1, camera_id="bj-overpass", rule=rule, zone="near-lanes",
                start_s=1.0, end_s=2.0, object_class=object_class, track_ids=[3], confidence=0.9, explanation="",
                evidence={}, data={}, state="pending")
    summary = case_summary(case)
    CaseSummary.model_validate(summary)  # the documented shape
    assert summary["offence"] == {"names": {"zh-CN": zh, "en": en}, "code": code}
    # the sheet's caption for the same case
    event = ViolationEvent(rule=rule, zone="near-lanes", start_s=1.0, end_s=2.0, key_t=1.5, object_class=object_class,
                           track_ids=[3], confidence=0.9, explanation="")
    cap = sheet_caption(event, load_scene_text(SCENE_YAML, "bj-overpass"), [])
    assert (cap.offence_zh, cap.offence_en, cap.offence_code or None) == (zh, en, code)


def test_case_events_name_the_offence_as_the_case_answer_does() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from service.events import build_event
    from service.models import Base

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add(Case(id="J1-x", pipeline_id="x", job_id=1, camera_id="bj-overpass", rule="wrong_way", zone="near-lanes",
                    start_s=1.0, end_s=2.0, object_class="car", track_ids=[4], confidence=0.9, explanation="",
                    out_dir="o", evidence_dir="e", evidence={}, data={}, state="approved"))
        db.commit()
        case = db.get(Case, "J1-x")
        event = build_event(db, case, "approved", "rita", "pending")
        assert event.case.offence == case_summary(case)["offence"]["names"] == \
            {"zh-CN": "机动车逆向行驶", "en": "Motor vehicle driving against traffic"}
