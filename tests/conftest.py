"""Fixtures shared by every test: where the real footage lies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FOOTAGE_DIR = REPO_ROOT.parent / "shared" / "footage"


@pytest.fixture(scope="session")
def footage_dir() -> Path:
    """The real footage beside the checkout (``../shared/footage``); CI has it too."""
    if not FOOTAGE_DIR.is_dir():
        pytest.fail(f"real footage folder missing: {FOOTAGE_DIR} (it must sit beside the checkout)")
    return FOOTAGE_DIR


@pytest.fixture(scope="session")
def demo_footage(tmp_path_factory):
    """One demo build per test session, in a temporary folder (the photos cache is shared)."""
    from civicwatch.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"), force=True)


@dataclass(frozen=True)
class DemoServiceRun:
    """What one ``civicwatch demo run`` left: its exit code, what it printed, its data folder and
    the run folder its worker's analysis of the demo footage wrote (cases.json, evidence, the
    signed manifest), with the pipeline ids of the cases the service ingested from it."""

    code: int
    out: str
    err: str
    data_dir: Path
    run_dir: Path | None
    ingested: list[str]


@pytest.fixture(scope="session")
def demo_service_run(tmp_path_factory, signing_key_in_tmp) -> DemoServiceRun:
    """``civicwatch demo run`` once per test session (the real service on a free port; its worker
    runs the real pipeline, default options, on the whole demo footage): the analysis is the
    suite's dearest, so tests/demo/test_demo_run.py and tests/integration/test_demo_end_to_end.py
    check the same one instead of analysing the footage twice. Signed with the session's key."""
    import io
    import socket
    from contextlib import redirect_stderr, redirect_stdout

    from civicwatch.demo.run import run_demo

    data = tmp_path_factory.mktemp("demo-service") / "var"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_demo("127.0.0.1", port, data, serve_forever=False)
    run_dir, ingested = None, []
    if (data / "demo-credentials.json").is_file():
        from service.config import Settings
        from service.db import make_engine, make_session_factory
        from service.models import Case, Job

        engine = make_engine(Settings(data_dir=data))
        try:
            with make_session_factory(engine)() as db:
                jobs = [j.out_dir for j in db.query(Job) if j.out_dir]
                run_dir = data / jobs[0] if len(jobs) == 1 else None
                ingested = [c.pipeline_id for c in db.query(Case).order_by(Case.pipeline_id)]
        finally:
            engine.dispose()
    return DemoServiceRun(code, out.getvalue(), err.getvalue(), data, run_dir, ingested)


@pytest.fixture(autouse=True, scope="session")
def signing_key_in_tmp(tmp_path_factory):
    """Analyses sign their manifest with the user's key (``~/.config/civicwatch``) by default;
    tests use one made for the session instead, never the home folder's. Subprocesses inherit it."""
    from detector.signing import KEY_ENV

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, str(tmp_path_factory.mktemp("signing") / "signing-key.pem"))
        yield


# What a drone's MP4 says of itself: when (UTC) and where (ISO 6709, with altitude) it was shot,
# and the device. ``tagged_flight`` writes these into a copy of real footage at test time.
FLIGHT_TAGS = {
    "creation_time": "2024-05-01T01:30:00.000000Z",
    "location": "+22.5431+114.0579+085.000/",
    "com.apple.quicktime.location.ISO6709": "+22.5431+114.0579+085.000/",
    "make": "DJI",
    "model": "Mavic 3",
}


def tag_footage(source: Path, out: Path, tags: dict[str, str]) -> Path:
    """Remux ``source``'s video packets (untouched) into ``out`` with container ``tags``, as a
    drone or phone writes them (``©xyz`` for ``location``, Apple's keys via use_metadata_tags)."""
    import av

    with av.open(str(source)) as src, av.open(str(out), "w", format="mp4",
                                              options={"movflags": "+faststart+use_metadata_tags"}) as dst:
        stream = src.streams.video[0]
        copy = dst.add_stream_from_template(stream)
        dst.metadata.update(tags)
        for packet in src.demux(stream):
            if packet.dts is None:
                continue  # the demuxer's flush packet
            packet.stream = copy
            dst.mux(packet)
    return out


@pytest.fixture(scope="session")
def tagged_flight(tmp_path_factory, footage_dir) -> Path:
    """The short real overpass clip (2.3 s) carrying ``FLIGHT_TAGS``; never committed."""
    out = tmp_path_factory.mktemp("flight") / "DJI_0001.MP4"
    return tag_footage(footage_dir / "beijing-intersection" / "uadetrac_overpass_short.mp4", out, FLIGHT_TAGS)
