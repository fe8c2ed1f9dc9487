"""Bad stream URLs: credentials never reach a log line or the recorder's status, a malformed URL
is masked without an error, and ``civicwatch record`` refuses what is not a stream URL at once."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detector.media.recorder import Recorder, RecorderConfig, masked_url, scrub_credentials, stream_url_problem

from .helpers import free_port, recording


def run_for_a_second(url: str, tmp_path: Path, caplog) -> Recorder:
    """A recorder pointed at ``url`` (nothing listens there), run for a second and stopped."""
    recorder = Recorder(RecorderConfig(url, Path(tmp_path), connect_timeout_s=1,
                                       backoff_initial_s=0.1, backoff_max_s=0.2))
    with caplog.at_level(logging.INFO), recording(recorder, join_s=10):
        time.sleep(1.0)
    return recorder


def test_credentials_stay_out_of_the_log_and_the_status(tmp_path, caplog):
    url = f"rtsp://admin:s3cret-pw@127.0.0.1:{free_port()}/cam"
    recorder = run_for_a_second(url, tmp_path, caplog)
    assert recorder.status.last_error  # the reason is kept (the health page shows it) ...
    assert "s3cret-pw" not in recorder.status.last_error  # ... without the password
    assert "admin:***@127.0.0.1" in recorder.status.last_error
    assert caplog.records and not any("s3cret-pw" in r.getMessage() for r in caplog.records)
    assert all("s3cret-pw" not in p.read_text() for p in Path(tmp_path).glob("*.jsonl"))


@pytest.mark.parametrize("url, masked", [
    ("rtsp://op:s3cret@10.0.0.7:554/main", "rtsp://op:***@10.0.0.7:554/main"),
    ("rtsp://cam.local/main", "rtsp://cam.local/main"),
    ("rtsp://u:p@ss@host/x", "rtsp://u:***@host/x"),  # an unencoded @ in the password
    ("rtsp://u:pw@[::1]:554/x", "rtsp://u:***@[::1]:554/x"),
    ("rtsp://u:pw@host:99999/x", "rtsp://u:***@host:99999/x"),  # urlsplit refuses the port
    ("rtsp://u:pw@[::1/x", "rtsp://u:***@[::1/x"),  # ... and the bracket
    # credentials in the query: the name stays, the value goes, any case
    ("rtsp://cam/stream?user=admin&password=s3cret", "rtsp://cam/stream?user=admin&password=***"),
    ("rtsp://cam/live?PWD=s3cret&channel=1", "rtsp://cam/live?PWD=***&channel=1"),
    ("rtsp://cam/live?channel=1&Passwd=s3cret", "rtsp://cam/live?channel=1&Passwd=***"),
    ("http://cam/flv?token=abc123#t=5", "http://cam/flv?token=***#t=5"),
    ("rtmp://cam/live?KEY=abc&auth=def&sig=0a1b", "rtmp://cam/live?KEY=***&auth=***&sig=***"),
    ("https://cdn/hls/i.m3u8?access_token=abc&X-Amz-Signature=0a1b", "https://cdn/hls/i.m3u8?access_token=***&X-Amz-Signature=***"),
    ("rtsp://cam/live?channel=1&subtype=0&keyframe=2", "rtsp://cam/live?channel=1&subtype=0&keyframe=2"),
    ("rtsp://op:s3cret@cam:554/live?user=op&password=s3cret", "rtsp://op:***@cam:554/live?user=op&password=***"),  # both forms
    ("rtsp://op:s3cret@cam:554/live", "rtsp://op:***@cam:554/live"),  # no query
    ("rtsp://cam/live?", "rtsp://cam/live?"),
    ("rtsp://u:pw@[fe80::7%25eth0]:554/x?token=abc", "rtsp://u:***@[fe80::7%25eth0]:554/x?token=***"),  # IPv6 host
    ("rtsp://[::1]:554/x?pwd=abc&c=1", "rtsp://[::1]:554/x?pwd=***&c=1"),
    # malformed queries: masked all the same, never an error
    ("rtsp://cam/x??password=a=b&&token=%ZZ&=v", "rtsp://cam/x??password=***&&token=***&=v"),
    ("rtsp://cam/x?password&token=", "rtsp://cam/x?password&token=***"),
    ("rtsp://cam:99999/x?auth=s3cret", "rtsp://cam:99999/x?auth=***"),
    ("rtsp://[::1/x?key=s3cret", "rtsp://[::1/x?key=***"),
])
def test_masking_never_fails_and_never_shows_the_password(url, masked):
    assert masked_url(url) == masked


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_is_none(url):
    assert masked_url(url) is None


def test_credentials_in_an_error_message_are_masked_and_the_rest_kept():
    text = ("ConnectionRefusedError: [Errno 111] Connection refused: "
            "'rtsp://op:pw1@cam/x?user=op&password=pw2&token=pw3'; retry http://cam/y?sig=pw4 later")
    scrubbed = scrub_credentials(text)
    assert not any(f"pw{i}" in scrubbed for i in range(1, 5)), scrubbed
    assert scrubbed == ("ConnectionRefusedError: [Errno 111] Connection refused: "
                        "'rtsp://op:***@cam/x?user=op&password=***&token=***'; retry http://cam/y?sig=*** later")
    assert scrub_credentials("no URL here?password=x") == "no URL here?password=x"  # only inside URLs


def test_query_credentials_stay_out_of_the_log_and_the_status_but_the_recorder_connects_with_them(
        tmp_path, caplog, monkeypatch):
    import av

    url = f"rtsp://127.0.0.1:{free_port()}/cam?user=admin&password=s3cret-pw&channel=1"
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda target, *a, **kw: (opened.append(target), real_open(target, *a, **kw))[1])
    recorder = run_for_a_second(url, tmp_path, caplog)
    assert opened and all(target == url for target in opened)  # the URL as given, password and all
    assert recorder.config.url == url
    assert recorder.status.last_error and "s3cret-pw" not in recorder.status.last_error
    assert caplog.records and not any("s3cret-pw" in r.getMessage() for r in caplog.records)
    assert any("password=***" in r.getMessage() for r in caplog.records)
    assert all("s3cret-pw" not in p.read_text() for p in Path(tmp_path).glob("*.jsonl"))


@pytest.mark.parametrize("url", [
    "ftp://cam/x", "/etc/passwd", "file:///etc/passwd", "rtsp://", "rtsp:///main", "rtsp://[::1",
    "rtsp://cam:99999/x", "rtsp://cam:abc/x", "rtsp://u:p@[zz]/x", "rtsp://cam/ma in", "rtsp://cam/\x00x",
])
def test_what_is_not_a_stream_url_is_named(url):
    assert stream_url_problem(url)


@pytest.mark.parametrize("url", ["rtsp://op:s3cret@10.0.0.7:554/main", "rtsps://cam/x", "http://cam:8080/live.flv",
                                 "https://cam/hls/index.m3u8", "rtmp://cam/live", "rtsp://[fe80::1]:554/x"])
def test_stream_urls_pass(url):
    assert stream_url_problem(url) is None


@pytest.mark.parametrize("args", [
    ["--url", "ftp://cam/x"],
    ["--url", "/etc/passwd"],
    ["--url", "rtsp://cam/x", "--backoff-max-s", "0"],
    ["--url", "rtsp://cam/x", "--read-timeout-s", "-1"],
    ["--url", "rtsp://cam/x", "--segment-s", "nan"],
])
def test_record_refuses_bad_input_at_once(tmp_path, args):
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "record", *args, "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    # stdout carries one JSON line per segment: the refusal goes to stderr, never into that stream
    assert "civicwatch record:" in run.stderr and "Traceback" not in run.stderr and run.stdout == ""


@pytest.mark.parametrize("password", ["it's-mine", 'a"b', "o'k\"x", "p'w@x"])
def test_a_password_with_a_quote_is_masked_in_the_url_and_in_an_error_message(password):
    # a quote is a legal character of a URL's password (the API takes such a URL); it must not
    # stop the masking, neither in the URL shown (camera answers, the audit log) nor in FFmpeg's
    # error message, which PyAV quotes with the other kind of quote
    url = f"rtsp://admin:{password}@10.0.0.9:554/ch1"
    assert stream_url_problem(url) is None
    assert masked_url(url) == "rtsp://admin:***@10.0.0.9:554/ch1"
    message = f"ConnectionRefusedError: [Errno 111] Connection refused: {url!r}; retrying"
    scrubbed = scrub_credentials(message)
    assert password not in scrubbed and password.split("'")[-1] not in scrubbed, scrubbed
    q = repr(url)[0]  # the rest of the message is kept, its quotes too
    assert scrubbed == f"ConnectionRefusedError: [Errno 111] Connection refused: {q}rtsp://admin:***@10.0.0.9:554/ch1{q}; retrying"


@pytest.mark.parametrize("value", ["it's-mine", "o'k"])
def test_a_query_credential_with_a_quote_is_masked_whole(value):
    url = f"rtsp://10.0.0.9/live?user=admin&password={value}&channel=1"
    assert masked_url(url) == "rtsp://10.0.0.9/live?user=admin&password=***&channel=1"
    scrubbed = scrub_credentials(f"OSError: {url!r}: refused")
    assert value.split("'")[-1] not in scrubbed, scrubbed
