"""The upload page keeps a resumable session through a bad moment, so a 2 GB flight is not sent again
from byte 0. Two ways it lost one: (1) picking the file again (after a reload) with the server out of
reach for a moment made the page give up its saved session and open a new one, leaving the old
session's bytes on the server; (2) a sign-in that ran out mid-upload (401) sent the page to the
login and made it forget the session, so after signing in the upload started over. And a saved
session was resumed whatever the form said: an operator who picked the wrong camera, stopped and
corrected it still uploaded to the wrong camera. And every dropped connection stopped the upload
until the operator pressed Resume: on a flaky 4G link the page now tries again by itself (not
after a refusal, and Stop ends the wait). The page is rendered by the real router; the test
answers the API."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://upload-resume.test"
CAMERAS = [{"camera_id": "gate-2", "kind": "fixed", "timezone": "Asia/Shanghai", "place": "north gate"},
           {"camera_id": "bj-1", "kind": "drone", "timezone": "Asia/Shanghai", "place": "overpass"}]
ME = {"username": "pilot1", "role": "operator", "kind": "user"}
DATA = b"\0" * 4096


def _page(browser, handler, init: str = ""):  # noqa: ANN001
    """The upload page with ``handler(route, method, path)`` answering the session calls; ``init``
    runs in the page before its scripts."""
    calls: list[tuple[str, str]] = []

    def answer(route) -> bool:
        path = urlsplit(route.request.url).path
        method = route.request.method
        if path == "/api/me":
            harness.fulfil_json(route, ME)
        elif path == "/api/cameras":
            harness.fulfil_json(route, CAMERAS)
        elif path == "/api/jobs":
            harness.fulfil_json(route, [])
        elif path.startswith("/api/uploads"):
            calls.append((method, path))
            handler(route, method, path)
        else:
            return False
        return True

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    if init:
        page.add_init_script(init)
    harness.serve_pages(page, BASE, "en-US", answer, max_upload_bytes=0)
    page.goto(f"{BASE}/upload")
    harness.wait_js(page, "document.querySelectorAll('#camera option').length === 3", timeout=10_000)
    page.select_option("#camera", "gate-2")
    page.set_input_files("#file", files=[{"name": "flight.mp4", "mimeType": "video/mp4", "buffer": DATA}])
    return context, page, calls


def _stop_while_it_retries(page) -> None:  # noqa: ANN001
    """The chunks cannot get through and the page is waiting to try again: the operator stops."""
    page.wait_for_selector("#upload-error:has-text('Trying again')", timeout=10_000)
    page.click("#upload-abort")
    page.wait_for_selector("#upload-resume:not([hidden])", timeout=10_000)


def _saved(page) -> dict:  # noqa: ANN001
    return page.evaluate("""() => { const out = {};
        for (const k of Object.keys(localStorage)) if (k.startsWith('cw_upload:')) out[k] = JSON.parse(localStorage[k]);
        return out; }""")


def test_a_saved_session_survives_the_server_out_of_reach_when_the_file_is_picked_again(browser) -> None:
    server_up = {"on": False}

    def handler(route, method, path) -> None:  # noqa: ANN001
        if not server_up["on"]:
            route.abort("internetdisconnected")
        elif (method, path) == ("GET", "/api/uploads/sessions/s-old"):
            harness.fulfil_json(route, {"session_id": "s-old", "offset": len(DATA), "size": len(DATA),
                                        "filename": "flight.mp4"})
        elif (method, path) == ("POST", "/api/uploads/sessions/s-old/complete"):
            harness.fulfil_json(route, {"upload_id": 7, "job_id": 7}, 201)
        else:
            harness.fulfil_json(route, {"detail": "unexpected", "code": "unexpected"}, 500)

    context, page, calls = _page(browser, handler)
    try:
        # the page saved this session (all bytes sent) before the reload
        sha = "ab" * 32
        page.evaluate("""sha => { const f = document.getElementById('file').files[0];
            localStorage.setItem('cw_upload:' + f.name + ':' + f.size + ':' + f.lastModified,
                                 JSON.stringify({sessionId: 's-old', sha256: sha})); }""", sha)
        page.click("#upload-submit")
        page.wait_for_selector("#upload-error:not([hidden])", timeout=10_000)
        assert ("POST", "/api/uploads/sessions") not in calls  # no new session from byte 0
        assert page.is_visible("#upload-resume")
        assert [v["sessionId"] for v in _saved(page).values()] == ["s-old"]
        # the network is back: Resume completes the old session
        server_up["on"] = True
        page.click("#upload-resume")
        harness.wait_js(page, "!document.getElementById('upload-ok').hidden", timeout=10_000)
        assert ("POST", "/api/uploads/sessions/s-old/complete") in calls
        assert ("POST", "/api/uploads/sessions") not in calls
    finally:
        context.close()


def test_a_sign_in_running_out_mid_upload_keeps_the_session_for_after_the_login(browser) -> None:
    def handler(route, method, path) -> None:  # noqa: ANN001
        if (method, path) == ("POST", "/api/uploads/sessions"):
            harness.fulfil_json(route, {"session_id": "s-1", "offset": 0, "size": len(DATA)}, 201)
        elif (method, path) == ("GET", "/api/uploads/sessions/s-1"):
            harness.fulfil_json(route, {"session_id": "s-1", "offset": 0, "size": len(DATA), "filename": "flight.mp4"})
        else:  # the chunk: the login has run out
            harness.fulfil_json(route, {"detail": "not signed in", "code": "not_authenticated"}, 401)

    context, page, calls = _page(browser, handler)
    try:
        page.click("#upload-submit")
        page.wait_for_url("**/login**", timeout=10_000)
        assert ("PATCH", "/api/uploads/sessions/s-1") in calls
        saved = _saved(page)
        assert [v["sessionId"] for v in saved.values()] == ["s-1"], json.dumps(saved)
    finally:
        context.close()


def test_a_saved_session_opened_with_another_camera_is_not_resumed(browser) -> None:
    chunks_arrive = {"on": False}
    opened: list[str] = []

    def handler(route, method, path) -> None:  # noqa: ANN001
        if (method, path) == ("POST", "/api/uploads/sessions"):
            opened.append(route.request.post_data_json["camera"])
            harness.fulfil_json(route, {"session_id": f"s-{len(opened)}", "offset": 0, "size": len(DATA)}, 201)
        elif method == "GET":
            sid = path.rsplit("/", 1)[1]
            harness.fulfil_json(route, {"session_id": sid, "offset": len(DATA) if chunks_arrive["on"] else 0,
                                        "size": len(DATA), "filename": "flight.mp4"})
        elif method == "PATCH" and not chunks_arrive["on"]:
            route.abort("internetdisconnected")
        elif method == "DELETE":
            harness.fulfil_json(route, {"ok": True})
        elif method == "POST" and path.endswith("/complete"):
            harness.fulfil_json(route, {"upload_id": 9, "job_id": 9}, 201)
        else:
            harness.fulfil_json(route, {"detail": "unexpected", "code": "unexpected"}, 500)

    context, page, calls = _page(browser, handler)
    try:
        page.select_option("#camera", "bj-1")  # the wrong camera
        page.click("#upload-submit")
        _stop_while_it_retries(page)
        # submitted again unchanged: the same session goes on
        page.click("#upload-submit")
        _stop_while_it_retries(page)
        assert opened == ["bj-1"]
        # the camera corrected: a new session for it; the old one is abandoned
        chunks_arrive["on"] = True
        page.select_option("#camera", "gate-2")
        page.click("#upload-submit")
        harness.wait_js(page, "!document.getElementById('upload-ok').hidden", timeout=10_000)
        assert opened == ["bj-1", "gate-2"]
        assert ("DELETE", "/api/uploads/sessions/s-1") in calls
        assert ("POST", "/api/uploads/sessions/s-2/complete") in calls
        assert ("POST", "/api/uploads/sessions/s-1/complete") not in calls
    finally:
        context.close()


def _flaky_server(drops: int, refusal: tuple[int, str] | None = None):
    """A session whose first ``drops`` chunk sends are cut (the network drops; with ``refusal``,
    refused with that status and code instead); the offset is what arrived."""
    state = {"offset": 0, "patches": 0}

    def handler(route, method, path) -> None:  # noqa: ANN001
        if (method, path) == ("POST", "/api/uploads/sessions"):
            harness.fulfil_json(route, {"session_id": "s-1", "offset": 0, "size": len(DATA)}, 201)
        elif method == "GET":
            harness.fulfil_json(route, {"session_id": "s-1", "offset": state["offset"], "size": len(DATA),
                                        "filename": "flight.mp4"})
        elif method == "PATCH":
            state["patches"] += 1
            if state["patches"] <= drops and refusal is None:
                route.abort("internetdisconnected")
            elif state["patches"] <= drops:
                harness.fulfil_json(route, {"detail": "refused", "code": refusal[1]}, refusal[0])
            else:
                state["offset"] = len(DATA)
                harness.fulfil_json(route, {"offset": len(DATA)})
        elif method == "POST" and path.endswith("/complete"):
            harness.fulfil_json(route, {"upload_id": 5, "job_id": 5}, 201)
        else:
            harness.fulfil_json(route, {"detail": "unexpected", "code": "unexpected"}, 500)

    return state, handler


FAST_RETRY = "window.CW_UPLOAD_RETRY_MS = 150;"


def test_a_dropped_connection_is_retried_by_itself_until_it_goes_through(browser) -> None:
    """On a flaky 4G link every drop stopped the upload until the operator pressed Resume; the
    page now tries again by itself, from the offset the server holds."""
    state, handler = _flaky_server(drops=3)
    context, page, calls = _page(browser, handler, init=FAST_RETRY)
    try:
        page.click("#upload-submit")
        harness.wait_js(page, "!document.getElementById('upload-ok').hidden", timeout=15_000)
        assert state["patches"] == 4  # three cut, the fourth through
        assert ("POST", "/api/uploads/sessions/s-1/complete") in calls
        assert calls.count(("POST", "/api/uploads/sessions")) == 1  # one session throughout
    finally:
        context.close()


@pytest.mark.parametrize("status, code", [(422, "hash_mismatch"), (507, "insufficient_storage")])
def test_a_refusal_is_not_retried(browser, status, code) -> None:
    state, handler = _flaky_server(drops=1, refusal=(status, code))
    context, page, calls = _page(browser, handler, init=FAST_RETRY)
    try:
        page.click("#upload-submit")
        page.wait_for_selector("#upload-error:not([hidden])", timeout=10_000)
        page.wait_for_timeout(600)  # four retry waits
        assert state["patches"] == 1
        assert "Trying again" not in page.text_content("#upload-error")
    finally:
        context.close()


def test_stop_ends_the_wait_before_the_next_try(browser) -> None:
    state, handler = _flaky_server(drops=1000)
    context, page, calls = _page(browser, handler, init="window.CW_UPLOAD_RETRY_MS = 60000;")
    try:
        page.click("#upload-submit")
        page.wait_for_selector("#upload-error:has-text('Trying again in 60 s')", timeout=10_000)
        page.click("#upload-abort")
        page.wait_for_selector("#upload-resume:not([hidden])", timeout=2_000)
        assert page.text_content("#upload-error").startswith("Upload stopped")
        assert state["patches"] == 1
    finally:
        context.close()


def test_a_chunk_the_server_is_still_receiving_is_retried_by_itself(browser) -> None:
    """After a drop the server may still be reading the lost chunk's request (a link that dropped
    without closing the connection: up to a minute, CHUNK_IDLE_S), and answers the page's resend
    409 chunk_in_progress. That 409 stopped the upload as a refusal, the operator left to press
    Resume; it is a wait, retried like a drop."""
    state, handler = _flaky_server(drops=2, refusal=(409, "chunk_in_progress"))
    context, page, calls = _page(browser, handler, init=FAST_RETRY)
    try:
        page.click("#upload-submit")
        harness.wait_js(page, "!document.getElementById('upload-ok').hidden", timeout=15_000)
        assert state["patches"] == 3  # two answered 'still receiving', the third through
        assert ("POST", "/api/uploads/sessions/s-1/complete") in calls
    finally:
        context.close()


def test_a_completion_whose_answer_is_lost_ends_in_success(browser) -> None:
    """The completion of a large file hashes and checks it; its answer may be lost (the connection
    drops, a proxy gives up with 504) after the server made the upload. The server answered the
    page's retry 404 'no upload session' (the completion had consumed it) and the page said the
    upload failed; a re-upload was then a 'duplicate'. A completed session now says so and a
    repeated completion answers as the first did: the page, retrying by itself, ends in success
    without sending the file again. The answers here are the service's
    (tests/service/test_uploads.py::test_a_completion_whose_answer_was_lost_answers_again_with_the_upload)."""
    accepted = {"upload_id": 12, "job_id": 34, "id": 12, "filename": "flight.mp4", "size": len(DATA),
                "job": {"id": 34, "state": "queued", "progress": 0}}
    state = {"offset": 0, "completions": 0, "upload_id": None}

    def handler(route, method, path) -> None:  # noqa: ANN001
        if (method, path) == ("POST", "/api/uploads/sessions"):
            harness.fulfil_json(route, {"session_id": "s-1", "offset": 0, "size": len(DATA)}, 201)
        elif method == "GET":
            done = state["upload_id"] is not None
            harness.fulfil_json(route, {"session_id": "s-1", "offset": state["offset"], "size": len(DATA),
                                        "filename": "flight.mp4", "state": "complete" if done else "open",
                                        "upload_id": state["upload_id"], "job_id": 34 if done else None})
        elif method == "PATCH" and state["upload_id"] is None:
            state["offset"] = len(DATA)
            harness.fulfil_json(route, {"offset": len(DATA), "size": len(DATA), "disconnected": False})
        elif method == "POST" and path == "/api/uploads/sessions/s-1/complete":
            state["completions"] += 1
            state["upload_id"] = 12  # the server made the upload each time; the answer is what is lost
            if state["completions"] == 1:
                route.abort("connectionreset")
            elif state["completions"] == 2:
                harness.fulfil_json(route, {"detail": "gateway timeout"}, 504)
            else:
                harness.fulfil_json(route, accepted, 201)
        else:
            harness.fulfil_json(route, {"detail": "unexpected", "code": "unexpected"}, 500)

    context, page, calls = _page(browser, handler, init=FAST_RETRY)
    try:
        page.click("#upload-submit")
        harness.wait_js(page, "!document.getElementById('upload-ok').hidden", timeout=15_000)
        assert "34" in page.text_content("#upload-ok")  # names the job
        assert page.is_hidden("#upload-error") and page.is_hidden("#upload-resume")
        assert state["completions"] == 3
        assert calls.count(("PATCH", "/api/uploads/sessions/s-1")) == 1  # the file was not sent again
        assert calls.count(("POST", "/api/uploads/sessions")) == 1
        assert _saved(page) == {}  # nothing left to resume
    finally:
        context.close()


NOT_VIDEO = {"detail": "flight.mp4: not a video PyAV can open; upload a video file (e.g. MP4 from the drone)",
             "code": "not_video"}
DUPLICATE = {"detail": "this file was already uploaded as upload 12 (first.mp4)", "code": "duplicate_upload",
             "upload_id": 12, "job_id": 34, "filename": "first.mp4"}


@pytest.mark.parametrize("status, refusal, shown", [
    (409, DUPLICATE, "already uploaded (as first.mp4): its analysis is job #34"),
    (415, NOT_VIDEO, "not a video"),
])
def test_a_refusal_whose_answer_is_lost_is_shown_as_the_refusal(browser, status, refusal, shown) -> None:
    """The completion may refuse the file (a duplicate, not a video) and that answer be lost (the
    connection drops, a proxy gives up with 504). The server had deleted the session, so the page's
    retry got 404 and it said 'no upload session'; it now keeps the refusal and answers the status
    and a repeated completion with it. The page shows the refusal, as when it arrives at once, and
    offers no Resume: a duplicate's 409 was taken for a wait (as another chunk's 409), so Resume
    stayed and the saved session was kept, each resume told the same refusal. The answers here are
    the service's (tests/service/test_uploads.py::test_a_refusal_whose_answer_was_lost_answers_again_with_it)."""
    state = {"offset": 0, "completions": 0}

    def handler(route, method, path) -> None:  # noqa: ANN001
        refused = state["completions"] > 0
        if (method, path) == ("POST", "/api/uploads/sessions"):
            harness.fulfil_json(route, {"session_id": "s-1", "offset": 0, "size": len(DATA)}, 201)
        elif method == "GET" and refused:
            harness.fulfil_json(route, refusal, status)
        elif method == "GET":
            harness.fulfil_json(route, {"session_id": "s-1", "offset": state["offset"], "size": len(DATA),
                                        "filename": "flight.mp4", "state": "open", "upload_id": None, "job_id": None})
        elif method == "PATCH" and not refused:
            state["offset"] = len(DATA)
            harness.fulfil_json(route, {"offset": len(DATA), "size": len(DATA), "disconnected": False})
        elif method == "POST" and path == "/api/uploads/sessions/s-1/complete":
            state["completions"] += 1  # the server refused the file; the first answer is lost
            if state["completions"] == 1:
                harness.fulfil_json(route, {"detail": "gateway timeout"}, 504)
            else:
                harness.fulfil_json(route, refusal, status)
        else:
            harness.fulfil_json(route, {"detail": "unexpected", "code": "unexpected"}, 500)

    context, page, calls = _page(browser, handler, init=FAST_RETRY)
    try:
        page.click("#upload-submit")
        page.wait_for_selector("#upload-error:not([hidden])", timeout=10_000)
        page.wait_for_function("!/Trying again/.test(document.getElementById('upload-error').textContent)",
                               timeout=10_000)
        page.wait_for_timeout(300)  # two retry waits: nothing more is tried
        error = page.text_content("#upload-error")
        assert shown in error and "no upload session" not in error, error
        assert page.is_hidden("#upload-ok") and page.is_hidden("#upload-resume")
        assert _saved(page) == {}  # nothing left to resume
        assert calls.count(("PATCH", "/api/uploads/sessions/s-1")) == 1  # the file was not sent again
        assert calls.count(("POST", "/api/uploads/sessions")) == 1
    finally:
        context.close()
