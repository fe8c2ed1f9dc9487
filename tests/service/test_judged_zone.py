"""What is said of a case outside its page keeps the zone of the scene the case was judged by, the
zone its page, the screens' feed and its evidence sheet show its time in: a camera whose time zone
was edited afterwards does not move an old case to another day (public number) or give its local
time another zone's name (case events)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.case_number import next_public_number
from service.events import build_event
from service.models import Base, Camera, Case, SceneVersion

from .helpers import SCENE_YAML

ROME = SCENE_YAML.replace("timezone: Asia/Shanghai", "timezone: Europe/Rome")


@pytest.fixture
def db():
    """A camera judged in Shanghai (version 1), since moved to Rome's zone (version 2), and a case
    of version 1 at 2024-05-01 20:30 UTC: 2 May 04:30 in Shanghai, 1 May 22:30 in Rome."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Camera(id="bj-overpass", kind="fixed", place="p", timezone="Europe/Rome", scene_yaml=ROME,
                           scene_version=2))
        session.add_all([SceneVersion(id=1, camera_id="bj-overpass", number=1, document=SCENE_YAML, sha256="a"),
                         SceneVersion(id=2, camera_id="bj-overpass", number=2, document=ROME, sha256="b")])
        session.add(Case(id="J1-a", pipeline_id="a", job_id=1, camera_id="bj-overpass", rule="wrong_way",
                         start_s=1.0, end_s=2.0, start_time=datetime(2024, 5, 1, 20, 30, tzinfo=UTC),
                         out_dir="o", evidence_dir="e", data={"start_time": "2024-05-02T04:30:00.000+08:00"},
                         scene_version_id=1))
        session.commit()
        yield session


def test_the_public_number_is_the_judged_scenes_local_day(db) -> None:
    assert next_public_number(db, db.get(Case, "J1-a")) == "20240502-0001"


def test_a_case_event_names_the_zone_its_local_time_is_in(db) -> None:
    case = build_event(db, db.get(Case, "J1-a"), "created", "system", None).case
    assert case.start_time_local == "2024-05-02T04:30:00.000+08:00"
    assert case.timezone == "Asia/Shanghai"


def test_the_ten_thousandth_case_of_a_day_is_numbered_after_the_9999th(db) -> None:
    """Numbers are text: the largest of "-9999" and "-10000" as text is "-9999", so the next number
    was counted as 10000 again, collided, and the case could not be numbered (a busy city's day of
    exposure cases ended in an error at preview)."""
    template = db.get(Case, "J1-a")
    for seq, case_id in ((9999, "J1-b"), (10000, "J1-c")):
        db.add(Case(id=case_id, pipeline_id=case_id, job_id=1, camera_id="bj-overpass", rule="wrong_way", start_s=1.0,
                    end_s=2.0, start_time=template.start_time, out_dir="o", evidence_dir="e", data=template.data,
                    scene_version_id=1, public_number=f"20240502-{seq:04d}"))
    db.commit()
    assert next_public_number(db, template) == "20240502-10001"
