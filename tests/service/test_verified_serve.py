"""Published media are checked over the bytes actually sent (``service.verified_serve``): a file
replaced between the route's check and the send is not what a screen receives."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

import service.api.public as public
import service.verified_serve as verified_serve
from service.models import Case
from service.verified_serve import IntegrityAbort, VerifiedFileResponse, byte_range

from .helpers import sha256


def _published(env, cases) -> tuple[dict, str, object, bytes]:
    """Approve and publish the first case; (feed item, case id, published.mp4 path, unredacted clip)."""
    a = cases[0]
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    item = env.display.get("/api/public/cases").json()["items"][0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    with env.app.state.session_factory() as db:
        published = env.data_dir / db.get(Case, a).published_dir / "published.mp4"
    original = env.data_dir / "jobs" / str(detail["job_id"]) / "run-1" / "cases" / detail["pipeline_id"] / "clip.mp4"
    return item, a, published, original.read_bytes()


def _swap_after_check(monkeypatch, swap) -> None:
    """Run ``swap`` right after the route's own integrity check has passed, before the response is sent."""
    checked = public.intact

    def check_then_swap(case, settings):  # noqa: ANN001
        problems = checked(case, settings)
        if not problems:
            swap()
        return problems

    monkeypatch.setattr(public, "intact", check_then_swap)


def test_a_file_overwritten_after_the_check_is_not_served(env, cases, fast_redaction, monkeypatch):
    item, _, published, unredacted = _published(env, cases)
    good = published.read_bytes()
    _swap_after_check(monkeypatch, lambda: published.write_bytes(unredacted))  # in place, as `cp` does
    r = env.display.get(item["media"]["video"])
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"
    assert unredacted not in r.content
    monkeypatch.undo()
    assert env.display.get("/api/public/cases").json()["items"] == []  # and the case left the screens
    published.write_bytes(good)
    assert env.display.get(item["media"]["video"]).content == good


def test_a_file_renamed_over_after_the_check_is_not_served(env, cases, fast_redaction, monkeypatch, tmp_path):
    item, _, published, unredacted = _published(env, cases)
    other = tmp_path / "other.mp4"
    other.write_bytes(unredacted)
    _swap_after_check(monkeypatch, lambda: os.replace(other, published))  # a new file under the same name
    r = env.display.get(item["media"]["video"])
    assert r.status_code == 409 and unredacted not in r.content


def test_ranges_are_served_from_the_checked_bytes(env, cases, fast_redaction):
    item, a, published, _ = _published(env, cases)
    data = published.read_bytes()
    whole = env.display.get(item["media"]["video"])
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["etag"] == f'"{sha256(data)}"' and whole.headers["accept-ranges"] == "bytes"
    part = env.display.get(item["media"]["video"], headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = env.display.get(item["media"]["video"], headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond = env.display.get(item["media"]["video"], headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    several = env.display.get(item["media"]["video"], headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data  # whole file, as RFC 9110 allows
    # the reviewer's preview of the same media goes through the same check
    assert env.reviewer.get(f"/api/public/cases/{a}/media/image").status_code == 200


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 5)),
        ("bytes=5-", 10, (5, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=8-100", 10, (8, 10)),
        ("bytes=10-", 10, False),
        ("bytes=-0", 10, False),
        ("bytes=4-2", 10, None),
        ("items=0-1", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("bytes=-", 10, None),
    ],
)
def test_byte_range(header, size, expected):
    assert byte_range(header, size) == expected


def _run(response: VerifiedFileResponse, headers: list | None = None) -> tuple[list[dict], BaseException | None]:
    sent: list[dict] = []
    scope = {"type": "http", "method": "GET", "headers": headers or []}

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    try:
        asyncio.run(response(scope, receive, send))
    except BaseException as err:  # noqa: BLE001 - the test looks at it
        return sent, err
    return sent, None


def test_a_long_file_changed_while_it_streams_is_cut_short(tmp_path, monkeypatch):
    """Past the buffer, the response starts before the hash is known: the last piece is held
    back, and a change found at the end drops the connection instead of completing the body."""
    path = tmp_path / "clip.mp4"
    data = os.urandom(5000)
    path.write_bytes(data)
    response = VerifiedFileResponse(path, hashlib.sha256(data).hexdigest(), "video/mp4", chunk_size=1000)
    monkeypatch.setattr(VerifiedFileResponse, "buffer_limit", 1500)

    sent, err = _run(response)  # intact: all of it, in order, the last message closes the body
    assert err is None and sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == data and sent[-1]["more_body"] is False

    reads = verified_serve._read_and_hash

    def tamper_after_first_read(fd, digest, offset, size):  # noqa: ANN001
        chunk = reads(fd, digest, offset, size)
        if offset == 0:
            with open(path, "r+b") as fh:  # in place, same inode: what the open file will read next
                fh.seek(3000)
                fh.write(b"\0" * 100)
        return chunk

    monkeypatch.setattr(verified_serve, "_read_and_hash", tamper_after_first_read)
    sent, err = _run(VerifiedFileResponse(path, hashlib.sha256(data).hexdigest(), "video/mp4", chunk_size=1000))
    assert isinstance(err, IntegrityAbort)
    assert sent[0]["status"] == 200  # already started: too long to hold
    body = [m for m in sent[1:] if m["type"] == "http.response.body"]
    assert body and all(m["more_body"] for m in body)  # never completed
    assert len(b"".join(m["body"] for m in body)) < len(data)


def test_a_short_file_changed_while_it_is_read_gets_a_409(tmp_path, monkeypatch):
    path = tmp_path / "still.jpg"
    data = os.urandom(3000)
    path.write_bytes(data)
    reads = verified_serve._read_and_hash

    def swap_then_read(fd, digest, offset, size):  # noqa: ANN001
        if offset == 1000:
            path.write_bytes(os.urandom(3000))  # truncated and rewritten in place while being read
        return reads(fd, digest, offset, size)

    monkeypatch.setattr(verified_serve, "_read_and_hash", swap_then_read)
    sent, err = _run(VerifiedFileResponse(path, hashlib.sha256(data).hexdigest(), "image/jpeg", chunk_size=1000))
    assert err is None and sent[0]["status"] == 409
    assert all(data[:1000] not in m.get("body", b"") for m in sent)
