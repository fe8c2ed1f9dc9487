"""Uploads: streamed multipart, resumable sessions, size limit, content check, duplicates."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from service.main import create_app

from .conftest import start_env, upload_clip
from .helpers import LONG_CLIP, ORIGIN, SHORT_CLIP


def stored_files(env) -> dict[str, bytes]:
    return {p.relative_to(env.data_dir).as_posix(): p.read_bytes()
            for p in (env.data_dir / "uploads").rglob("*") if p.is_file()}


def partial_files(env) -> list[str]:
    return sorted(p.name for p in (env.data_dir / "partial").glob("*"))


def test_upload_streams_to_disk_and_queues_a_job(env, camera, footage_dir):
    data = (footage_dir / SHORT_CLIP).read_bytes()
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP, started_at="2024-05-01T08:00:00+08:00",
                     drone_id="DJI-7", pilot="王伟", place="长安街")
    assert up["sha256"] == hashlib.sha256(data).hexdigest() and up["size"] == len(data)
    assert up["job"]["state"] == "queued" and up["duration_s"] > 2
    assert (up["drone_id"], up["pilot"], up["place"]) == ("DJI-7", "王伟", "长安街")
    stored = env.operator.get(f"/api/uploads/{up['upload_id']}").json()["started_at"]
    assert datetime.fromisoformat(stored) == datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)
    assert list(stored_files(env).values()) == [data]
    assert partial_files(env) == []
    job = env.operator.get(f"/api/jobs/{up['job_id']}").json()
    assert (job["state"], job["upload_id"]) == ("queued", up["upload_id"])
    audit = env.admin.get("/api/audit", params={"action": "upload.create"}).json()["items"]
    assert audit[0]["actor"] == "otto" and audit[0]["details"]["sha256"] == up["sha256"]


def test_operator_sees_only_own_uploads(env, camera, footage_dir):
    mine = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    theirs = upload_clip(env.operator2, footage_dir / LONG_CLIP)
    assert [u["id"] for u in env.operator.get("/api/uploads").json()] == [mine["upload_id"]]
    assert [u["id"] for u in env.operator2.get("/api/uploads").json()] == [theirs["upload_id"]]
    assert env.operator.get(f"/api/uploads/{theirs['upload_id']}").status_code == 404
    assert env.operator.get(f"/api/jobs/{theirs['job_id']}").status_code == 404
    assert [j["id"] for j in env.operator.get("/api/jobs").json()] == [mine["job_id"]]
    assert env.operator.post(f"/api/jobs/{theirs['job_id']}/cancel").status_code == 404
    assert {u["id"] for u in env.admin.get("/api/uploads").json()} == {mine["upload_id"], theirs["upload_id"]}
    assert env.display.get("/api/uploads").status_code == 403


def test_operator_token_uploads_as_drone(env, camera, footage_dir):
    from .helpers import bearer

    tok = env.admin.post("/api/tokens", json={"name": "drone 3", "role": "operator"}).json()
    drone = bearer(env.app, tok["token"])
    up = upload_clip(drone, footage_dir / SHORT_CLIP, drone_id="drone-3")
    assert up["owner_token_id"] == tok["id"]
    assert [u["id"] for u in drone.get("/api/uploads").json()] == [up["upload_id"]]
    assert env.operator.get("/api/uploads").json() == []


def test_non_video_refused_and_nothing_stored_lost(env, camera, footage_dir):
    first = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    before = stored_files(env)
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"},
                          files={"file": ("notes.mp4", b"this is a text file, not a video\n" * 100, "video/mp4")})
    assert r.status_code == 415, r.text
    assert "not a video" in r.json()["detail"] and "notes.mp4" in r.json()["detail"]
    assert r.json()["code"] == "not_video"
    assert stored_files(env) == before and partial_files(env) == []
    assert [u["id"] for u in env.operator.get("/api/uploads").json()] == [first["upload_id"]]


def test_a_photo_or_a_sound_file_named_like_a_video_is_refused(env, camera, footage_dir):
    """FFmpeg opens a JPEG or PNG as a one-frame video whatever its name: a photo renamed .mp4
    was accepted and queued a job on a single picture, where nothing can move. Refused like other
    files that are no video (415 ``not_video``), as a file with sound only; nothing stored is touched."""
    import av
    import cv2
    import numpy as np

    first = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    before = stored_files(env)
    with av.open(str(footage_dir / SHORT_CLIP)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="bgr24")
    sound = env.data_dir.parent / "sound.m4a"
    with av.open(str(sound), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        for i in range(20):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 16000, i * 1024
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    files = {"photo.mp4": cv2.imencode(".jpg", frame)[1].tobytes(), "photo.MOV": cv2.imencode(".png", frame)[1].tobytes(),
             "sound.mp4": sound.read_bytes()}
    for name, data in files.items():
        r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": (name, data, "video/mp4")})
        assert r.status_code == 415 and r.json()["code"] == "not_video", (name, r.text)
        assert r.json()["detail"].startswith(f"{name}: ") and "upload a video file" in r.json()["detail"]
    photo = env.operator.post("/api/uploads", data={"camera": "bj-overpass"},
                              files={"file": ("photo.mp4", files["photo.mp4"], "video/mp4")})
    assert "single still picture" in photo.json()["detail"]
    assert stored_files(env) == before and partial_files(env) == []
    assert [u["id"] for u in env.operator.get("/api/uploads").json()] == [first["upload_id"]]
    assert [j["id"] for j in env.operator.get("/api/jobs").json()] == [first["job_id"]]


def test_an_upload_cut_off_after_its_file_is_400_and_stores_nothing(env, camera, footage_dir):
    """A body cut off inside a field sent after the file (its recording time here) lost that field
    silently: the upload was accepted without it, its cases timed by the scene's clock. Now 400,
    as a body cut inside the file already was; nothing stored, no job."""
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    head = (b'--cut\r\nContent-Disposition: form-data; name="camera"\r\n\r\nbj-overpass\r\n'
            b'--cut\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n" + clip + b"\r\n")
    when = b'--cut\r\nContent-Disposition: form-data; name="started_at"\r\n\r\n2024-05-01T07:59:30+08:00'
    for body in (head + when[:-8], head + when[: when.index(b"\r\n\r\n")], head[:-20]):
        r = env.operator.post("/api/uploads", content=body, headers={"content-type": "multipart/form-data; boundary=cut"})
        assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
    assert stored_files(env) == {} and partial_files(env) == []
    assert env.operator.get("/api/uploads").json() == [] and env.operator.get("/api/jobs").json() == []
    whole = env.operator.post("/api/uploads", content=head + when + b"\r\n--cut--\r\n",
                              headers={"content-type": "multipart/form-data; boundary=cut"})
    assert whole.status_code == 201, whole.text
    assert datetime.fromisoformat(whole.json()["started_at"]) == datetime(2024, 4, 30, 23, 59, 30, tzinfo=timezone.utc)


def test_text_fields_and_part_headers_are_capped_as_a_whole(env, camera, footage_dir):
    """Each text field was capped (64 KiB) but not their number: the whole body may be as large as
    the file limit (8 GiB), and all of it could be text fields kept in memory, 64 KiB per field
    name, until the service ran out of memory. A form's text fields are now capped at 1 MiB in
    all: 413, nothing stored. A real upload with its usual fields is unaffected."""
    text_cap = 1024 * 1024
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    part = b'--cap\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    filler = b"x" * 60_000
    fields = b"".join(b'--cap\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n%s\r\n' % (i, filler)
                      for i in range(text_cap // len(filler) + 1))
    camera_field = b'--cap\r\nContent-Disposition: form-data; name="camera"\r\n\r\nbj-overpass\r\n'
    body = camera_field + fields + part + clip + b"\r\n--cap--\r\n"
    r = env.operator.post("/api/uploads", content=body, headers={"content-type": "multipart/form-data; boundary=cap"})
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text[:200]
    assert stored_files(env) == {} and partial_files(env) == []
    ok = env.operator.post("/api/uploads", content=camera_field + part + clip + b"\r\n--cap--\r\n",
                           headers={"content-type": "multipart/form-data; boundary=cap"})
    assert ok.status_code == 201, ok.text


def _mpegts(source, dest, seconds: float) -> bytes:
    """The first ``seconds`` of ``source`` remuxed into MPEG-TS (a drone's own container)."""
    import av

    with av.open(str(source)) as inp, av.open(str(dest), "w", format="mpegts") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            if packet.pts is not None and float(packet.pts * stream.time_base) >= seconds:
                break
            packet.stream = copy
            out.mux(packet)
    return dest.read_bytes()


def test_an_upload_cannot_name_another_file_on_the_server_for_its_analysis(env, camera, footage_dir, tmp_path):
    """The stored upload took its suffix from the uploader's file name. A file that is an HLS
    playlist followed by MPEG-TS packets passes the check as video (FFmpeg reads the packets of
    the '.part' file), and stored as '<sha>.m3u8' FFmpeg opens it as a playlist: the analysis
    then read whatever MPEG-TS file on the server the playlist named (another operator's flight,
    live recordings), not the uploaded bytes. The stored name keeps a suffix only from a list of
    video containers; the file read back is the file sent."""
    from sqlalchemy import select

    from detector.decode import probe
    from service.models import Upload

    elsewhere = tmp_path / "not-yours"
    elsewhere.mkdir()
    _mpegts(footage_dir / SHORT_CLIP, elsewhere / "flight.ts", 60.0)  # 2.3 s of someone else's footage
    playlist = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\n"
                f"{elsewhere / 'flight.ts'}\n#EXT-X-ENDLIST\n").encode()
    own = _mpegts(footage_dir / SHORT_CLIP, tmp_path / "own.ts", 0.5)
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"},
                          files={"file": ("flight.m3u8", playlist + own, "application/vnd.apple.mpegurl")})
    assert r.status_code == 201, r.text
    with env.app.state.session_factory() as db:
        stored = env.data_dir / db.scalar(select(Upload.path).where(Upload.id == r.json()["id"]))
    assert not stored.name.endswith(".m3u8"), stored.name
    assert probe(stored).duration_s < 1.0  # the half second sent, not the 2.3 s file the playlist names


def test_duplicate_upload_is_409_naming_the_first_only_to_its_owner(env, camera, footage_dir):
    first = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    with open(footage_dir / SHORT_CLIP, "rb") as fh:
        r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("again.mp4", fh, "video/mp4")})
    assert r.status_code == 409 and r.json()["upload_id"] == first["upload_id"]
    assert str(first["upload_id"]) in r.json()["detail"] and r.json()["code"] == "duplicate_upload"
    # and its job and file name, for the upload page to send the operator there
    assert r.json()["job_id"] == first["job_id"] and r.json()["filename"] == first["filename"]
    # Another operator learns that it is a duplicate, not whose upload it is or what it was called.
    with open(footage_dir / SHORT_CLIP, "rb") as fh:
        r = env.operator2.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("copy.mp4", fh, "video/mp4")})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_upload"
    assert "upload_id" not in r.json() and "job_id" not in r.json() and "filename" not in r.json()
    assert str(first["upload_id"]) not in r.json()["detail"]
    assert SHORT_CLIP.split("/")[-1] not in r.json()["detail"]
    assert len(stored_files(env)) == 1 and partial_files(env) == []


def test_a_sha256_alone_does_not_tell_another_operator_the_file_is_known(env, camera, footage_dir):
    upload_clip(env.operator, footage_dir / SHORT_CLIP)
    data = (footage_dir / SHORT_CLIP).read_bytes()
    body = {"camera": "bj-overpass", "filename": "probe.mp4", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}
    assert env.operator.post("/api/uploads/sessions", json=body).status_code == 409  # the owner is told at once
    probe = env.operator2.post("/api/uploads/sessions", json=body)
    assert probe.status_code == 201, probe.text  # same answer as for an unknown file
    unknown = env.operator2.post("/api/uploads/sessions", json={**body, "sha256": "0" * 64})
    assert unknown.status_code == 201 and set(probe.json()) == set(unknown.json())


def test_bad_upload_requests_are_4xx(env, camera, footage_dir):
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    cases = [
        dict(data={"camera": "nope"}, files={"file": ("a.mp4", clip, "video/mp4")}),
        dict(data={"camera": "bj-overpass"}, files={"attachment": ("x.txt", b"x", "text/plain")}),
        dict(data={"camera": "bj-overpass", "started_at": "yesterday"}, files={"file": ("a.mp4", clip, "video/mp4")}),
        dict(data={"camera": "bj-overpass", "started_at": "2024-05-01T08:00:00"}, files={"file": ("a.mp4", clip, "video/mp4")}),
        dict(data={"camera": "bj-overpass"}, files={"file": ("a.mp4", b"", "video/mp4")}),
    ]
    for kw in cases:
        r = env.operator.post("/api/uploads", **kw)
        assert r.status_code == 422, (kw.get("data"), r.status_code, r.text)
    # the video as a text field (curl -F 'file=<clip.mp4'): the answer says how to send it
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass", "file": "x" * 70_000}, files={"note": ("n.txt", b"n")})
    assert r.status_code == 413 and "file part, with a filename" in r.json()["detail"], r.text
    r = env.operator.post("/api/uploads", content=b"raw", headers={"content-type": "application/octet-stream"})
    assert r.status_code == 415
    r = env.operator.post("/api/uploads", content=b"--xx\r\nbroken", headers={"content-type": "multipart/form-data; boundary=xx"})
    assert 400 <= r.status_code < 500
    assert stored_files(env) == {} and partial_files(env) == []
    assert env.reviewer.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("a.mp4", clip)}).status_code == 403


def test_size_limit_is_413_and_leaves_nothing(settings, footage_dir):
    small = settings.model_copy(update={"max_upload_bytes": 200_000})
    app = create_app(small)
    main, env = start_env(app, small)
    try:
        from .helpers import SCENE_YAML

        env.admin.post("/api/cameras", data={"scene": SCENE_YAML})
        r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"},
                              files={"file": ("big.mp4", (footage_dir / SHORT_CLIP).read_bytes(), "video/mp4")})
        assert r.status_code == 413 and "200000" in r.json()["detail"]
        assert r.json()["limit_bytes"] == 200_000  # both upload routes carry it (the resumable one did)
        assert partial_files(env) == [] and stored_files(env) == {}
        s = env.operator.post("/api/uploads/sessions", json={"camera": "bj-overpass", "filename": "big.mp4",
                                                              "size": 200_001, "sha256": "0" * 64})
        assert s.status_code == 413 and s.json()["limit_bytes"] == 200_000
    finally:
        main.__exit__(None, None, None)



def _multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def _chunks(data: bytes, size: int = 64 * 1024):
    """A body sent with Transfer-Encoding: chunked (httpx sends a generator so): no Content-Length."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_size_limit_holds_without_an_honest_content_length(settings, footage_dir):
    """The limit is enforced on the bytes that arrive, not on the declared length: a body whose
    Content-Length lies (smaller than what is sent), a chunked body without one, and a chunked
    body of several file parts each under the per-file limit all end in a 413 that names the
    limit, leave nothing in partial/ or uploads/, and leave the earlier upload, its row and its
    job as they were."""
    limit = 500_000
    small = settings.model_copy(update={"max_upload_bytes": limit})
    app = create_app(small)
    main, env = start_env(app, small)
    try:
        from .helpers import SCENE_YAML

        env.admin.post("/api/cameras", files={"scene": ("scene.yaml", SCENE_YAML.encode(), "application/x-yaml")})
        first = upload_clip(env.operator, footage_dir / SHORT_CLIP)  # 458 kB: under the limit
        before = stored_files(env)
        listing = env.operator.get("/api/uploads").json()
        ctype = {"Content-Type": "multipart/form-data; boundary=cw-bound"}
        big = _multipart("cw-bound", [("camera", None, b"bj-overpass"),
                                      ("file", "big.mp4", (footage_dir / LONG_CLIP).read_bytes())])
        # four parts of 0.95x the limit each: 3.8x the limit in all, over the whole body's cap (limit + 1 MiB)
        spread = _multipart("cw-bound", [("camera", None, b"bj-overpass")]
                            + [(f"extra{i}", f"part{i}.mp4", b"\0" * (limit * 95 // 100)) for i in range(4)]
                            + [("file", "tiny.mp4", b"\0" * 10)])
        attempts = {
            "lying Content-Length": dict(content=big, headers={**ctype, "Content-Length": "100"}),
            "chunked": dict(content=_chunks(big), headers=ctype),
            "chunked, several file parts": dict(content=_chunks(spread), headers=ctype),
        }
        for what, kw in attempts.items():
            r = env.operator.post("/api/uploads", **kw)
            assert r.status_code == 413, (what, r.status_code, r.text)
            assert r.json()["code"] == "too_large" and str(limit) in r.json()["detail"], (what, r.text)
            assert partial_files(env) == [] and stored_files(env) == before, what
        assert env.operator.get("/api/uploads").json() == listing
        assert env.operator.get(f"/api/jobs/{first['job_id']}").json()["state"] == "queued"
    finally:
        main.__exit__(None, None, None)

def _session(client: TestClient, data: bytes, **extra) -> dict:
    body = {"camera": "bj-overpass", "filename": "flight.mp4", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), **extra}
    r = client.post("/api/uploads/sessions", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["offset"] == 0
    return r.json()


def _patch(client: TestClient, sid: str, offset: int, chunk: bytes):
    return client.patch(f"/api/uploads/sessions/{sid}", content=chunk,
                        headers={"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})


def test_a_list_of_other_files_is_not_a_video(env, camera, footage_dir):
    """FFmpeg recognises an 'ffconcat' list by its first line and plays the files it names as one
    video. Such a text file, uploaded next to an unfinished upload in the same folder (here the
    operator's own, whose id a session gives), was accepted as a video, its hash the list's, its
    analysis whatever the named files hold by then. A container that reads other files (a
    concat list, a playlist, a manifest) is not footage: 415, as any other file that is not."""
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    first = _session(env.operator, clip)["session_id"]
    assert _patch(env.operator, first, 0, clip).json()["offset"] == len(clip)  # sent, not completed
    listing = f"ffconcat version 1.0\nfile session-{first}.part\n".encode()
    second = _session(env.operator, listing, filename="flight.ts")["session_id"]
    assert _patch(env.operator, second, 0, listing).json()["offset"] == len(listing)
    done = env.operator.post(f"/api/uploads/sessions/{second}/complete")
    assert done.status_code == 415 and done.json()["code"] == "not_video", done.text
    assert env.operator.get("/api/uploads").json() == []


def test_resumable_upload_survives_interruption(env, camera, footage_dir):
    data = (footage_dir / LONG_CLIP).read_bytes()
    sid = _session(env.operator, data, pilot="李娜", started_at="2024-05-01T09:30:00+08:00")["session_id"]
    third = len(data) // 3
    assert _patch(env.operator, sid, 0, data[:third]).json()["offset"] == third
    # the connection drops; later a new client (same login) asks where to go on
    from .helpers import PASSWORD, login

    again = login(env.app, "otto", PASSWORD)
    status = again.get(f"/api/uploads/sessions/{sid}").json()
    assert status == {"session_id": sid, "offset": third, "size": len(data), "filename": "flight.mp4",
                      "state": "open", "upload_id": None, "job_id": None}
    # a chunk sent for the wrong offset is refused with the offset to use
    wrong = _patch(again, sid, 0, data[:100])
    assert wrong.status_code == 409 and wrong.json()["offset"] == third and wrong.json()["code"] == "offset_mismatch"
    # completing early is refused and loses nothing
    early = again.post(f"/api/uploads/sessions/{sid}/complete")
    assert early.status_code == 409 and early.json()["offset"] == third
    # another operator cannot touch the session
    assert _patch(env.operator2, sid, third, data[third:]).status_code == 404
    # too much data for the declared size
    over = _patch(again, sid, third, data[third:] + b"extra")
    assert over.status_code == 413 and again.get(f"/api/uploads/sessions/{sid}").json()["offset"] == third
    offset = third
    while offset < len(data):
        chunk = data[offset:offset + 256 * 1024]
        offset = _patch(again, sid, offset, chunk).json()["offset"]
    done = again.post(f"/api/uploads/sessions/{sid}/complete")
    assert done.status_code == 201, done.text
    up = done.json()
    assert up["sha256"] == hashlib.sha256(data).hexdigest() and up["pilot"] == "李娜" and up["job_id"]
    assert list(stored_files(env).values()) == [data] and partial_files(env) == []
    status = again.get(f"/api/uploads/sessions/{sid}").json()  # kept a while, naming its upload
    assert (status["state"], status["upload_id"], status["job_id"]) == ("complete", up["upload_id"], up["job_id"])


def test_resumable_sha_mismatch_keeps_data_then_duplicate_detected(env, camera, footage_dir):
    data = (footage_dir / SHORT_CLIP).read_bytes()
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF
    sid = _session(env.operator, data)["session_id"]
    half = len(data) // 2
    _patch(env.operator, sid, 0, bytes(corrupt[:half]))
    _patch(env.operator, sid, half, bytes(corrupt[half:]))
    r = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert r.status_code == 422 and "SHA-256 mismatch" in r.json()["detail"] and r.json()["code"] == "hash_mismatch"
    assert env.operator.get(f"/api/uploads/sessions/{sid}").json()["offset"] == len(data)  # part kept
    assert stored_files(env) == {}
    # the client gives up on this session and uploads properly; a second session for the same file is a duplicate
    assert env.operator.delete(f"/api/uploads/sessions/{sid}").status_code == 200
    first = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    dup = env.operator.post("/api/uploads/sessions", json={"camera": "bj-overpass", "filename": "again.mp4",
                                                            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    assert dup.status_code == 409 and dup.json()["upload_id"] == first["upload_id"]


def test_resumable_non_video_refused(env, camera):
    data = b"plain text, definitely not video\n" * 2000
    sid = _session(env.operator, data)["session_id"]
    assert _patch(env.operator, sid, 0, data).json()["offset"] == len(data)
    r = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert r.status_code == 415 and "not a video" in r.json()["detail"]
    assert partial_files(env) == [] and stored_files(env) == {}
    # the session ends, its refusal kept (see test_a_refusal_whose_answer_was_lost_answers_again_with_it)
    assert env.operator.get(f"/api/uploads/sessions/{sid}").json() == r.json()


def test_resumable_bad_requests(env, camera):
    base = {"camera": "bj-overpass", "filename": "f.mp4", "size": 10, "sha256": "a" * 64}
    assert env.operator.post("/api/uploads/sessions", json={**base, "sha256": "xyz"}).status_code == 422
    assert env.operator.post("/api/uploads/sessions", json={**base, "sha256": "g" * 64}).status_code == 422
    assert env.operator.post("/api/uploads/sessions", json={**base, "size": 0}).status_code == 422
    assert env.operator.post("/api/uploads/sessions", json={**base, "camera": "nope"}).status_code == 422
    sid = env.operator.post("/api/uploads/sessions", json=base).json()["session_id"]
    r = env.operator.patch(f"/api/uploads/sessions/{sid}", content=b"12", headers={"Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 400 and "Upload-Offset" in r.json()["detail"]
    r = env.operator.patch(f"/api/uploads/sessions/{sid}", content=b"12", headers={"Upload-Offset": "0", "Content-Type": "text/plain"})
    assert r.status_code == 415
    assert env.operator.get("/api/uploads/sessions/doesnotexist").status_code == 404


def test_a_chunk_whose_connection_goes_silent_does_not_hold_the_session(env, camera, footage_dir, monkeypatch):
    """A 4G link that drops without closing the connection (no FIN, no RST: the server is never
    told) left the chunk's request waiting for the rest of its body for good, holding the session:
    every resend from the offset the server reported, the completion and even abandoning the
    session answered 409 'another chunk for this session is being written', until the service
    restarted. A chunk that sends nothing for CHUNK_IDLE_S now ends like a dropped one: what
    arrived is kept and the session is free for the resend."""
    from service.api import uploads

    monkeypatch.setattr(uploads, "CHUNK_IDLE_S", 0.5)
    data = (footage_dir / SHORT_CLIP).read_bytes()
    sid = _session(env.operator, data)["session_id"]
    half = len(data) // 2

    async def silent_chunk() -> httpx.Response:
        async def body():
            yield data[:half]
            await asyncio.Event().wait()  # nothing more arrives, and nothing says the link is gone

        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies=dict(env.operator.cookies)) as client:
            request = client.patch(f"/api/uploads/sessions/{sid}", content=body(), headers={
                "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0", "Origin": ORIGIN})
            return await asyncio.wait_for(request, 20)

    r = asyncio.run(silent_chunk())
    assert r.status_code == 200, r.text
    assert r.json() == {"offset": half, "size": len(data), "disconnected": True}
    assert env.operator.get(f"/api/uploads/sessions/{sid}").json()["offset"] == half
    rest = _patch(env.operator, sid, half, data[half:])
    assert rest.status_code == 200 and rest.json()["offset"] == len(data), rest.text
    done = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert done.status_code == 201, done.text
    assert list(stored_files(env).values()) == [data] and partial_files(env) == []


def test_a_resend_while_the_chunk_is_still_arriving_is_a_conflict_the_client_can_wait_out(env, camera, footage_dir):
    """While the server still reads a chunk (the one whose connection dropped, up to CHUNK_IDLE_S),
    a resend or a completion is 409 with its own code, chunk_in_progress, which the upload page
    retries by itself; the generic 'conflict' it was stopped the upload as a refusal."""
    from service.api import uploads

    data = (footage_dir / SHORT_CLIP).read_bytes()
    sid = _session(env.operator, data)["session_id"]
    lock = uploads._lock(sid)
    assert lock.acquire(blocking=False)  # a chunk of this session is being received
    try:
        resend = _patch(env.operator, sid, 0, data)
        assert resend.status_code == 409 and resend.json()["code"] == "chunk_in_progress", resend.text
        complete = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
        assert complete.status_code == 409 and complete.json()["code"] == "chunk_in_progress", complete.text
    finally:
        lock.release()
    assert _patch(env.operator, sid, 0, data).json()["offset"] == len(data)
    assert env.operator.post(f"/api/uploads/sessions/{sid}/complete").status_code == 201


def test_a_long_file_name_keeps_its_extension(env, camera, footage_dir):
    """File names are cut to 120 characters; the cut took the end, so a long name (a place
    description in Chinese, a phone's export name) lost its '.mp4': the uploads and jobs lists
    showed a name without an extension, and the file was stored as '.video' instead of its
    container's suffix. The stem is shortened instead."""
    data = (footage_dir / SHORT_CLIP).read_bytes()
    name = "长安街东段_无人机巡查_" * 12 + "第3架次.MP4"
    with open(footage_dir / SHORT_CLIP, "rb") as fh:
        r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": (name, fh, "video/mp4")})
    assert r.status_code == 201, r.text
    stored = r.json()["filename"]
    assert len(stored) <= 120 and stored.endswith(".MP4") and stored.startswith("长安街东段_无人机巡查_"), stored
    assert [Path(p).suffix for p in stored_files(env)] == [".mp4"]
    # a resumable session's name is cut the same way
    sid = _session(env.operator2, data, filename="b" * 200 + ".mov")["session_id"]
    assert env.operator2.get(f"/api/uploads/sessions/{sid}").json()["filename"] == "b" * 116 + ".mov"


def test_a_completion_whose_answer_was_lost_answers_again_with_the_upload(env, camera, footage_dir):
    """The completion of a multi-GiB session hashes and checks the file; when its answer is lost
    (the connection drops, a proxy gives up with 504) the upload page asks again. The first
    completion had consumed the session, so the retry was 404 'no upload session' and the page told
    the operator the upload failed, though the upload and its job existed (a re-upload was then a
    'duplicate'). A completed session now answers a repeated completion as the first did (201, the
    upload and its job), and its status says it is complete and names them; for its owner only."""
    data = (footage_dir / SHORT_CLIP).read_bytes()
    sid = _session(env.operator, data, pilot="李娜")["session_id"]
    assert _patch(env.operator, sid, 0, data).json()["offset"] == len(data)
    first = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert first.status_code == 201, first.text
    up = first.json()
    # the answer is lost; the page asks where the session stands, then completes it again
    status = env.operator.get(f"/api/uploads/sessions/{sid}")
    assert status.status_code == 200, status.text
    assert status.json() == {"session_id": sid, "offset": len(data), "size": len(data), "filename": "flight.mp4",
                             "state": "complete", "upload_id": up["upload_id"], "job_id": up["job_id"]}
    again = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert again.status_code == 201, again.text
    same = {k: v for k, v in again.json().items() if k != "job"}  # the job may have started since
    assert same == {k: v for k, v in up.items() if k != "job"} and again.json()["job"]["id"] == up["job_id"]
    assert (same["upload_id"], same["pilot"]) == (up["upload_id"], "李娜")
    # one upload, one job, one audit entry: the repeat stored and queued nothing
    assert [u["id"] for u in env.operator.get("/api/uploads").json()] == [up["upload_id"]]
    assert [j["id"] for j in env.operator.get("/api/jobs").json()] == [up["job_id"]]
    assert len(env.admin.get("/api/audit", params={"action": "upload.create"}).json()["items"]) == 1
    assert list(stored_files(env).values()) == [data] and partial_files(env) == []
    # a chunk for a completed session is refused, naming the upload, and stores nothing
    late = _patch(env.operator, sid, len(data), b"x")
    assert late.status_code == 409 and late.json()["code"] == "session_complete", late.text
    assert late.json()["upload_id"] == up["upload_id"] and partial_files(env) == []
    # another operator still finds no such session
    assert env.operator2.get(f"/api/uploads/sessions/{sid}").status_code == 404
    assert env.operator2.post(f"/api/uploads/sessions/{sid}/complete").status_code == 404
    assert _patch(env.operator2, sid, len(data), b"x").status_code == 404
    assert env.operator2.delete(f"/api/uploads/sessions/{sid}").status_code == 404
    # forgetting the completed session leaves the upload and its job alone
    assert env.operator.delete(f"/api/uploads/sessions/{sid}").status_code == 200
    assert env.operator.get(f"/api/uploads/sessions/{sid}").status_code == 404
    assert env.operator.get(f"/api/jobs/{up['job_id']}").status_code == 200


def _refusal(r) -> tuple[int, dict]:
    return r.status_code, r.json()


def test_a_refusal_whose_answer_was_lost_answers_again_with_it(env, camera, footage_dir):
    """A completion refused for the file (not a video: 415; a duplicate of a stored upload: 409)
    deleted its session, so when that answer was lost (the connection drops, a proxy gives up with
    504 while a large file is hashed) the page's retry got 404 'no upload session' and told the
    operator the session was lost instead of why the file was refused. The refusal is now kept as a
    completion's upload is: a repeated completion, the session's status and a chunk answer with
    the same status and error (a duplicate naming the stored upload to whom may see it); nothing
    stored is touched, nothing is stored again; for the session's owner (and admins) only."""
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    # 415: not a video
    text = b"plain text, definitely not video\n" * 2000
    sid = _session(env.operator, text)["session_id"]
    assert _patch(env.operator, sid, 0, text).json()["offset"] == len(text)
    first = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert first.status_code == 415 and first.json()["code"] == "not_video", first.text
    for again in (env.operator.get(f"/api/uploads/sessions/{sid}"),
                  env.operator.post(f"/api/uploads/sessions/{sid}/complete"),
                  _patch(env.operator, sid, 0, text), env.admin.get(f"/api/uploads/sessions/{sid}")):
        assert _refusal(again) == _refusal(first), again.text
    assert partial_files(env) == [] and stored_files(env) == {}  # the chunk started no new part file
    assert env.operator2.get(f"/api/uploads/sessions/{sid}").status_code == 404
    assert env.operator2.post(f"/api/uploads/sessions/{sid}/complete").status_code == 404

    # 409: the operator's own file, stored through the single request while the session was sent
    own = _session(env.operator, clip)["session_id"]
    assert _patch(env.operator, own, 0, clip).json()["offset"] == len(clip)
    stored = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    before = stored_files(env)
    dup = env.operator.post(f"/api/uploads/sessions/{own}/complete")
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_upload", dup.text
    assert (dup.json()["upload_id"], dup.json()["job_id"]) == (stored["upload_id"], stored["job_id"])
    for again in (env.operator.get(f"/api/uploads/sessions/{own}"),
                  env.operator.post(f"/api/uploads/sessions/{own}/complete")):
        assert _refusal(again) == _refusal(dup), again.text

    # 409 for another operator's file: bare to that operator, named to an admin, as when first told
    other = _session(env.operator2, clip)["session_id"]  # a hash alone tells operator2 nothing
    assert _patch(env.operator2, other, 0, clip).json()["offset"] == len(clip)
    bare = env.operator2.post(f"/api/uploads/sessions/{other}/complete")
    assert bare.status_code == 409 and bare.json()["code"] == "duplicate_upload" and "upload_id" not in bare.json()
    assert _refusal(env.operator2.post(f"/api/uploads/sessions/{other}/complete")) == _refusal(bare)
    assert _refusal(env.operator2.get(f"/api/uploads/sessions/{other}")) == _refusal(bare)
    named = env.admin.get(f"/api/uploads/sessions/{other}")
    assert named.status_code == 409 and named.json()["upload_id"] == stored["upload_id"], named.text

    # nothing stored was lost or stored again; forgetting a refused session leaves the rest alone
    assert stored_files(env) == before and partial_files(env) == []
    assert [u["id"] for u in env.admin.get("/api/uploads").json()] == [stored["upload_id"]]
    assert [j["id"] for j in env.admin.get("/api/jobs").json()] == [stored["job_id"]]
    assert env.operator.delete(f"/api/uploads/sessions/{own}").status_code == 200
    assert env.operator.get(f"/api/uploads/sessions/{own}").status_code == 404
    assert env.operator.get(f"/api/uploads/{stored['upload_id']}").status_code == 200


def test_a_kept_refusal_expires_and_does_not_hold_its_camera(env, camera, footage_dir):
    """A refused session is kept to answer again, not for good: the janitor expires it
    ``upload_session_ttl_s`` after the refusal, as a completed session; and it holds nothing, so it
    does not keep a camera registered by mistake from being deleted (it goes with the camera)."""
    from sqlalchemy import update

    from service.janitor import sweep
    from service.models import UploadSession, utcnow

    text = b"plain text, definitely not video\n" * 2000
    files = [text + b"1", text + b"2"]
    old, recent = (_session(env.operator, f)["session_id"] for f in files)
    for sid, f in zip((old, recent), files):
        assert _patch(env.operator, sid, 0, f).status_code == 200
        assert env.operator.post(f"/api/uploads/sessions/{sid}/complete").status_code == 415
    factory = env.app.state.session_factory
    with factory() as db:
        db.execute(update(UploadSession).where(UploadSession.id == old)
                   .values(updated_at=utcnow() - timedelta(seconds=env.settings.upload_session_ttl_s + 60)))
        db.commit()
    assert sweep(factory, env.settings).sessions_expired == [old]
    assert env.operator.get(f"/api/uploads/sessions/{old}").status_code == 404
    assert env.operator.get(f"/api/uploads/sessions/{recent}").status_code == 415
    deleted = env.admin.delete("/api/cameras/bj-overpass")
    assert deleted.status_code == 200, deleted.text
    assert env.operator.get(f"/api/uploads/sessions/{recent}").status_code == 404


def test_chunk_in_progress_tells_the_offset_on_disk(env, camera, footage_dir, monkeypatch):
    """The 409 chunk_in_progress named the session row's offset, written when a chunk ends: while
    a chunk was still arriving (a dropped link's, read for up to CHUNK_IDLE_S) it lagged behind the
    bytes already on disk, which the chunk keeps if it drops. It now names the bytes on disk, the
    offset the status and the chunk's own answer give."""
    from service.api import uploads

    monkeypatch.setattr(uploads, "CHUNK_IDLE_S", 1.0)
    data = (footage_dir / SHORT_CLIP).read_bytes()
    sid = _session(env.operator, data)["session_id"]
    half = len(data) // 2

    async def race() -> tuple[httpx.Response, httpx.Response]:
        arrived = asyncio.Event()

        async def body():
            yield data[:half]
            arrived.set()
            await asyncio.Event().wait()  # the link drops without a word

        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies=dict(env.operator.cookies)) as client:
            headers = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0", "Origin": ORIGIN}
            slow = asyncio.ensure_future(client.patch(f"/api/uploads/sessions/{sid}", content=body(), headers=headers))
            await asyncio.wait_for(arrived.wait(), 10)
            part = env.data_dir / "partial" / f"session-{sid}.part"
            for _ in range(200):  # the server has written what arrived
                if part.exists() and part.stat().st_size == half:
                    break
                await asyncio.sleep(0.01)
            resend = await client.patch(f"/api/uploads/sessions/{sid}", content=data,
                                        headers={**headers, "Upload-Offset": "0"})
            return await asyncio.wait_for(slow, 20), resend

    slow, resend = asyncio.run(race())
    assert resend.status_code == 409 and resend.json()["code"] == "chunk_in_progress", resend.text
    assert slow.json() == {"offset": half, "size": len(data), "disconnected": True}
    assert resend.json()["offset"] == half
    assert env.operator.get(f"/api/uploads/sessions/{sid}").json()["offset"] == half


def test_session_details_are_normalised_as_the_single_requests(env, camera, footage_dir):
    """A session's details went into its row as sent, where the single-request upload trims them
    and takes a blank one for not given: a session's pilot ' 李娜 ' was kept padded, a drone id of
    spaces kept as such, a place of spaces hid the camera's own place on the upload, and a file
    name over 255 characters was refused (the single request cuts it, keeping the extension). Both
    now go through one function; the same details give the same upload."""
    details = {"pilot": "  李娜  ", "drone_id": "   ", "place": " \t ", "started_at": " 2024-05-01T08:00:00+08:00 "}
    name = "长安街东段_无人机巡查_" * 30 + "第3架次.mp4"
    with open(footage_dir / SHORT_CLIP, "rb") as fh:
        single = env.operator.post("/api/uploads", data={"camera": "bj-overpass", **details},
                                   files={"file": (name, fh, "video/mp4")})
    assert single.status_code == 201, single.text
    data = (footage_dir / LONG_CLIP).read_bytes()
    body = {"camera": "bj-overpass", "filename": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    opened = env.operator.post("/api/uploads/sessions", json={**body, **details})
    assert opened.status_code == 201, opened.text
    sid = opened.json()["session_id"]
    assert _patch(env.operator, sid, 0, data).status_code == 200
    done = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert done.status_code == 201, done.text
    fields = ("filename", "pilot", "drone_id", "place", "started_at")
    stored = [env.operator.get(f"/api/uploads/{r.json()['upload_id']}").json() for r in (single, done)]
    assert [{k: up[k] for k in fields} for up in stored] == [{k: stored[0][k] for k in fields}] * 2
    assert datetime.fromisoformat(done.json()["started_at"]) == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert (done.json()["pilot"], done.json()["drone_id"], done.json()["place"]) == ("李娜", None, camera["place"])
    assert done.json()["filename"].endswith(".mp4") and len(done.json()["filename"]) <= 120
    # a value too long once trimmed is refused alike (422, naming the field); padding is not counted
    for field, limit in (("pilot", 128), ("drone_id", 128), ("place", 255)):
        long = {**body, "sha256": "b" * 64, field: "x" * (limit + 1)}
        r = env.operator.post("/api/uploads/sessions", json=long)
        assert r.status_code == 422 and r.json()["detail"] == f"{field}: longer than {limit} characters", r.text
        padded = env.operator.post("/api/uploads/sessions", json={**long, field: " " + "x" * limit + " "})
        assert padded.status_code == 201, padded.text


def test_both_upload_paths_answer_the_recording_start_in_utc_as_the_rest_of_the_api(env, camera, footage_dir):
    """The single request's 201 gave ``started_at`` back with the offset it was sent with
    (``+08:00``), where a session's completion, ``GET /api/uploads/{id}``, the job's
    ``started_at_given`` and every other time of the API give UTC (``+00:00``): a client comparing
    the strings, or keeping the first answer, saw two values for one upload. The same instant, in
    UTC, on every path."""
    sent = "2024-05-01T08:00:00+08:00"
    single = upload_clip(env.operator, footage_dir / SHORT_CLIP, started_at=sent)
    data = (footage_dir / LONG_CLIP).read_bytes()
    sid = _session(env.operator, data, started_at=sent)["session_id"]
    assert _patch(env.operator, sid, 0, data).status_code == 200
    chunked = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert chunked.status_code == 201, chunked.text
    utc = "2024-05-01T00:00:00+00:00"  # the instant sent, unchanged
    for answer in (single, chunked.json()):
        assert answer["started_at"] == utc, answer
        assert env.operator.get(f"/api/uploads/{answer['upload_id']}").json()["started_at"] == utc
        assert env.operator.get(f"/api/jobs/{answer['job_id']}").json()["started_at_given"] == utc
        assert answer["created_at"].endswith("+00:00")  # as the API's other times


def test_the_camera_is_named_trimmed_and_a_blank_one_is_refused_on_both_paths(env, camera, footage_dir):
    """An upload naming its camera with the spaces a pasted id or a script's field brings along
    (' bj-overpass ') was refused as an unknown camera, where every other text field of an upload is
    trimmed. It is the camera 'bj-overpass' now, on the single request and on a session alike; a
    camera of spaces only names none: 422 ``camera_required`` (a sentence in both languages), as a
    missing one, not "no camera '   ' is registered"."""
    from service.web import i18n

    single = upload_clip(env.operator, footage_dir / SHORT_CLIP, camera_id=" bj-overpass\t")
    assert single["camera_id"] == "bj-overpass"
    data = (footage_dir / LONG_CLIP).read_bytes()
    sid = _session(env.operator, data, camera="  bj-overpass ")["session_id"]
    assert _patch(env.operator, sid, 0, data).status_code == 200
    done = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert done.status_code == 201 and done.json()["camera_id"] == "bj-overpass", done.text
    assert [u["camera_id"] for u in env.operator.get("/api/uploads").json()] == ["bj-overpass"] * 2
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    for blank in ("", "   ", " \t "):
        refused = [
            env.operator.post("/api/uploads", data={"camera": blank}, files={"file": ("b.mp4", clip + b"\0", "video/mp4")}),
            env.operator.post("/api/uploads/sessions", json={"camera": blank, "filename": "b.mp4", "size": 10,
                                                             "sha256": "c" * 64}),
        ]
        for r in refused:
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "camera_required" and r.json()["detail"].startswith("camera: required"), r.text
    for lang in i18n.LANGUAGES:
        assert i18n.catalogue(lang).get("error.camera_required"), lang
    assert len(env.operator.get("/api/uploads").json()) == 2 and partial_files(env) == []
