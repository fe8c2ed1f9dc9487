"""Record a live camera stream to disk in fixed segments, by stream copy, never decoding.

A live camera (RTSP; also HTTP-FLV or HLS where PyAV opens it) is written as it arrives: the
camera's own compressed H.264 packets are remuxed into MP4 files of about ``segment_s`` seconds,
each cut at a keyframe (so every segment decodes on its own) and named by the wall-clock time of
its first picture (``20240501T080000.000Z.mp4``, UTC, so names sort in time). Nothing is decoded
or encoded: a recorder costs a socket and a few percent of a core, so one machine can record many
cameras, and the evidence cut later from a segment holds exactly what the camera sent.

Wall clock: the receive time of the first packet of a connection (stamped as it is read, before
the lookahead below holds it back), carried forward along the stream's own timestamps (so
segments of one connection join without gaps or jitter). The camera's clock is not the server's:
a crystal off by 100 ppm, or a camera that stamps its nominal frame rate while the sensor runs a
little slower, puts a timestamp-carried clock a second or more off after a few hours of one
connection, and case times with it. So at every segment cut the recorder compares the stream
clock with the receive times: how much earlier than the stream clock says the earliest-arriving
picture of the last ``DRIFT_SEGMENTS`` segments arrived (network delay only ever makes a picture
later), against the same measure over the connection's first segment (which also holds the
pictures FFmpeg buffered while opening the stream, read out at once). When that has moved by more
than ``DRIFT_TOLERANCE_S``, the next segment goes on from the receive clock: it begins that much
after the previous one ends (or overlaps it), its duration stays exact in stream time, and a
case's time never drifts further than about the tolerance however long the connection lasts. A
stream whose timestamps run ``MAX_DRIFT_RATE`` (1 %) or more from the receive clock is not being
received in real time (a file or a replay read as fast as it comes): it keeps its timestamps. After a drop
the recorder reconnects with exponential backoff; the time without pictures is a **gap**, recorded
with its start and end. Everything is appended to ``index.jsonl`` beside the segments (one JSON
object a line: ``segment``, ``gap``), so a crash loses at most the segment being written (kept as
``*.part`` until it is finished, then renamed; the next start discards such a file, ``discarded``
in the index, and counts its time as a gap; a finished one the killed recorder had not listed yet
is read and listed then, ``recovered``; one that cannot be read is renamed ``*.unreadable`` and
its time is a gap). A finished segment is fsynced before its rename, the folder after it, and each
index line once written, so a power cut cannot leave a listed segment without its data. The time between the last segment an earlier recorder of
the folder recorded and the first of the next is a gap too (no recorder was running), unless the
new recording follows on within ``DRIFT_TOLERANCE_S``. Every write of the index holds the folder's
index lock (``index_lock``), as retention trims it of the lines about footage it deleted
(``detector.media.index_trim``) by writing a new file over it.

RTSP quirk handled here: right after a connection, FFmpeg's RTP demuxer may hand out the first
keyframe without a presentation time and the first few packets without decode times (B-frames).
They are filled in from the following packets' timestamps and the frame duration (timestamps are
container data; the pictures stay untouched); when that is impossible they are dropped up to the
next fully timed keyframe.

Cameras that encode a picture as several slices and send their parameter sets (SPS, PPS) again
before every slice of a keyframe, as GStreamer's RTP payloader does (H.264; H.265 pictures are
read the same way, by first_slice_segment_in_pic_flag, although FFmpeg's H.265 parser was not seen
to cut them): a parameter set after a slice
begins a new access unit by the letter of H.264, so FFmpeg's parser hands out such a keyframe as
one packet per slice, all with the keyframe's presentation time, and the decode times it guesses
from presentation times for an RTSP stream (which carries none) go wrong for the pictures after
it. The pieces are joined again, by the slice header's first field (first_mb_in_slice: not 0 is
the same picture's next slice; a NAL header and one bit read, nothing decoded), and the decode
times guessed again over whole pictures (``_WholePictures``).
"""

from __future__ import annotations

import fcntl
import ipaddress
import itertools
import json
import logging
import os
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import av

log = logging.getLogger(__name__)

INDEX_NAME = "index.jsonl"
# Held (flock) by the recorder writing the folder: a second one for the same folder is refused.
LOCK_NAME = ".recorder.lock"
# Held (flock) for every write of ``index.jsonl``: the recorder's appends and the rewrite that trims
# it (``detector.media.index_trim``), which would otherwise lose a line appended meanwhile.
INDEX_LOCK_NAME = ".index.lock"
# A finished segment that cannot be read (its data lost to a power cut) is renamed so: set aside
# once, kept (evidence someone may want) as rolling footage, never read again; retention deletes it
# after ``live_retention_days`` like the segments around it.
UNREADABLE_SUFFIX = ".unreadable"
# Wall clock against the stream's timestamps (see the module docstring): re-read when they drift
# further apart than this, judged on the earliest-arriving picture of the last few segments.
DRIFT_TOLERANCE_S = 0.5
DRIFT_SEGMENTS = 5
# A camera's clock is off by parts per million; a stream whose timestamps run 1 % or more from the
# receive clock is not being received in real time at all (a file or a replay read as fast as it
# decodes, or a reader far behind a backlog): its timestamps are the better clock, kept as they are.
MAX_DRIFT_RATE = 0.01
NAME_FORMAT = "%Y%m%dT%H%M%S"
# Live stream URLs a camera may have (PyAV opens more, local files included: not for a camera).
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
# ``scheme://user:password@``: the password runs to the last @ before the path (an unencoded @ in
# it included, and quotes: ``'`` is a legal URL character and the API takes ``"``). Plain text, so
# it also finds the URL inside an FFmpeg error message.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s'\"?#]*:)[^/\s?#]*@")
# A URL in running text: it ends at whitespace, a double quote, an angle bracket, or a single quote
# that is not followed by more of the URL (one inside a credential, ``password=it's``, is kept).
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://(?:[^\s'\"<>]|'(?=[^\s'\"<>;,.:)\]}]))*")
# Query parameters that carry a credential (``?user=admin&password=...``, ``&token=``, ``&sig=``;
# also names that end so, ``access_token``, ``api-key``, ``X-Amz-Signature``), any case. The value
# runs to the next ``&`` or ``#`` (``=`` and anything malformed in it included); the name is kept.
# A harmless parameter masked by mistake (``monkey=``) costs nothing; a password shown does.
_SECRET_PARAM = re.compile(
    r"(?P<head>(?:^|(?<=[?&]))[\w.-]*"
    r"(?:password|passwd|passwort|pass|pwd|pw|token|key|apikey|authkey|auth|sig|signature|secret|credentials?)"
    r"=)[^&#]*", re.IGNORECASE)


def masked_url(url: str | None) -> str | None:
    """The URL with its password as ``***`` (``rtsp://user:***@host/...``) and the values of its
    credential query parameters as ``***`` (``...?user=admin&password=***``); never raises, also
    for a URL ``urlsplit`` cannot parse. Camera credentials never leave the server. Only for
    showing: the recorder connects with the URL as given."""
    if not url:
        return None
    return scrub_credentials(url)


def _mask_query(match: re.Match[str]) -> str:
    url = match.group(0)
    at = url.find("?")
    if at < 0:
        return url
    return url[: at + 1] + _SECRET_PARAM.sub(r"\g<head>***", url[at + 1:])


def scrub_credentials(text: str) -> str:
    """``text`` (a log line, an error message) with the credentials of every URL in it masked:
    the password of ``user:password@`` and the values of credential query parameters."""
    return _URL.sub(_mask_query, _USERINFO.sub(r"\g<head>***@", text))


def stream_url_problem(url: str) -> str | None:
    """Why ``url`` is not a camera's stream URL (None: it is one): one of ``STREAM_SCHEMES``, a
    host, a valid port, no whitespace or control characters."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "it holds spaces or control characters"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises for a port that is not 0-65535
        if host is not None and "[" in parts.netloc:
            ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError as err:
        return f"it cannot be parsed ({err})"
    if parts.scheme.lower() not in STREAM_SCHEMES:
        return f"a {'/'.join(STREAM_SCHEMES)} URL expected"
    if not host:
        return "it names no host"
    return None


def segment_name(start: datetime) -> str:
    """The file name of a segment starting at ``start`` (UTC, millisecond precision)."""
    start = start.astimezone(timezone.utc)
    return f"{start.strftime(NAME_FORMAT)}.{start.microsecond // 1000:03d}Z.mp4"


def parse_segment_name(name: str) -> datetime | None:
    try:
        stem = name.removesuffix(".mp4").removesuffix("Z")
        base, ms = stem.rsplit(".", 1)
        return datetime.strptime(base, NAME_FORMAT).replace(tzinfo=timezone.utc) + timedelta(milliseconds=int(ms))
    except ValueError:
        return None


@dataclass(frozen=True)
class Segment:
    """A finished segment file. ``start``/``end`` are wall clock (UTC); ``duration_s`` is exact
    in stream time (from its first keyframe to the next segment's, or past its last picture when
    the connection ended), so consecutive segments of one ``connection`` join without overlap."""

    path: Path
    start: datetime
    end: datetime
    duration_s: float
    connection: int  # counts unbroken timelines (connections, and a camera clock's jumps) of this run
    sequence: int  # the segment's number within its connection
    packets: int
    bytes: int
    # "length" (cut at a keyframe), "drop" (the stream ended), "stop", "clock" (see _ClockJump), "killed"
    # (finished, but its recorder was killed before listing it: Recorder.earlier_segments)
    ended_by: str

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(type="segment", path=self.path.name, start=self.start.isoformat(), end=self.end.isoformat())
        return d


@dataclass(frozen=True)
class Gap:
    """Time without recorded pictures: from the end of the last picture before a drop to the
    start of the first segment after the reconnect (``end`` None: still down when stopped)."""

    start: datetime
    end: datetime | None
    reason: str

    @property
    def duration_s(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()

    def to_json(self) -> dict:
        return {"type": "gap", "start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None,
                "duration_s": self.duration_s, "reason": self.reason}


@dataclass(frozen=True)
class EarlierSegment:
    """A finished segment an earlier recorder left in the folder (``Recorder.earlier_segments``),
    and ``follows``: the segment before it in the same unbroken recording (None: it began one), whose
    file retention may have deleted since. A consumer that missed the segment (a database that
    never took it) joins it to the recording it belongs to by that one."""

    segment: Segment
    follows: Path | None


@dataclass
class RecorderConfig:
    url: str
    out_dir: Path
    segment_s: float = 60.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 10.0  # no packet for this long = the stream dropped
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    rtsp_transport: str = "tcp"  # TCP: no packet loss on a lossy network, and passes firewalls


@dataclass
class RecorderStatus:
    """What a health page or a metric wants to know, updated as the recorder works."""

    # a connection is delivering pictures: set at its first recorded picture, not when the server
    # answers (one that answers and sends nothing would read as up on every try of the backoff)
    connected: bool = False
    last_packet_at: datetime | None = None  # wall clock of the newest picture received
    last_segment: Segment | None = None
    segments: int = 0
    gaps: int = 0
    connections: int = 0
    last_error: str | None = None
    gap_open_since: datetime | None = None
    history: list[str] = field(default_factory=list)


class RecorderBusy(RuntimeError):
    """Another recorder holds the folder (``LOCK_NAME``): one camera recorded twice would have the
    second recorder discard the first one's open segment as a killed recorder's, and every segment
    and case twice."""


class _ClockJump(Exception):
    """The camera's timestamps went back by more than ``_TimedPackets.JUMP_BACK_S`` while the
    connection stayed up (its clock was reset or set, a counter wrapped). The packets after it are
    real pictures arriving now, but a muxer refuses them and a wall clock carried forward along the
    timestamps would place them in the past: they begin a new timeline (``Segment.connection``)."""

    def __init__(self, packet: av.Packet, back_s: float):
        super().__init__(f"the camera's timestamps jumped back {back_s:.1f} s")
        self.packet = packet


class _TimedPackets:
    """Packets of one connection with complete timestamps (see the module docstring)."""

    LOOKAHEAD = 24
    JUMP_BACK_S = 1.0  # more than any reordering: the camera's clock went back (_ClockJump)

    def __init__(self, packets: Iterator[av.Packet], time_base: Fraction):
        self._packets = packets
        self.time_base = time_base
        self.last_dts: int | None = None
        self.duration = 0

    def __iter__(self) -> Iterator[av.Packet]:
        head: list[av.Packet] = []
        for packet in self._packets:
            if packet.size == 0:
                continue
            if packet.duration:
                self.duration = packet.duration
            if self.last_dts is None:
                head.append(packet)
                if len(head) < self.LOOKAHEAD:
                    continue
                yield from self._repair_head(head)
                head = []
                continue
            if packet.dts is None:
                # a picture shown long before the last one decoded: the clock jumped back (after
                # a jump, _WholePictures gives the first pictures no decode time, as after a connect)
                if packet.pts is not None and (self.last_dts - packet.pts) * self.time_base > self.JUMP_BACK_S:
                    raise _ClockJump(packet, float((self.last_dts - packet.pts) * self.time_base))
                packet.dts = self.last_dts + (self.duration or 1)
            if packet.pts is None:
                packet.pts = packet.dts
            if packet.dts <= self.last_dts:
                back_s = float((self.last_dts - packet.dts) * self.time_base)
                if back_s > self.JUMP_BACK_S:
                    raise _ClockJump(packet, back_s)
                continue  # a duplicate or out-of-order packet the muxer would refuse
            self.last_dts = packet.dts
            yield packet
        if self.last_dts is None and head:
            yield from self._repair_head(head)

    def _repair_head(self, head: list[av.Packet]) -> Iterator[av.Packet]:
        durations = Counter(p.duration for p in head if p.duration)
        dur = durations.most_common(1)[0][0] if durations else 0
        start = next((i for i, p in enumerate(head) if p.is_keyframe), None)
        if start is None:
            return
        head = head[start:]
        known = next((i for i, p in enumerate(head) if p.dts is not None), None)
        if dur and known is not None:
            for i in range(known):
                head[i].dts = head[known].dts - (known - i) * dur
        later = [p.pts for p in head[1:] if p.pts is not None]
        if head[0].pts is None and dur and later and head[0].dts is not None:
            head[0].pts = max(head[0].dts, min(later) - dur)
        # anything still untimed: start at the first keyframe after it whose timing is complete
        for i, p in enumerate(head):
            if p.pts is None or p.dts is None:
                nxt = next((j for j in range(i + 1, len(head)) if head[j].is_keyframe
                            and all(q.pts is not None and q.dts is not None for q in head[j:])), None)
                if nxt is None:
                    return
                head = head[nxt:]
                break
        for p in head:
            if self.last_dts is not None and p.dts <= self.last_dts:
                continue
            self.last_dts = p.dts
            yield p


# H.264 NAL unit types of coded slices whose header begins with first_mb_in_slice (non-IDR, data
# partition A, IDR). Its ue(v) code for 0 is a single 1 bit: the top bit of the header's next byte.
_SLICE_NAL_TYPES = (1, 2, 5)
# H.265: NAL unit types below 32 are coded slice segments, whose header (after the two-byte NAL
# header) begins with first_slice_segment_in_pic_flag, one bit.
_HEVC_VCL_TYPES = 32
# Demuxers whose packets carry no decode times (RTP): FFmpeg guesses them from presentation times.
_GUESSED_DTS_FORMATS = {"rtsp", "sdp", "rtp"}


def _nal_starts(data: bytes, length_size: int | None) -> Iterator[int]:
    """Where each NAL unit of ``data`` (one packet, Annex B or ``length_size``-prefixed) begins."""
    i, end = 0, len(data)
    while i < end:
        if length_size:
            start = i + length_size
            i = start + int.from_bytes(data[i:start], "big")
        else:
            start = data.find(b"\x00\x00\x01", i)
            if start < 0:
                return
            start += 3
            i = start
        yield start


def _is_slice(data: bytes, start: int, hevc: bool) -> bool:
    if hevc:
        return start + 2 < len(data) and (data[start] >> 1) & 0x3F < _HEVC_VCL_TYPES
    return start + 1 < len(data) and data[start] & 0x1F in _SLICE_NAL_TYPES


def _slices(data: bytes, length_size: int | None, hevc: bool = False) -> int:
    """How many coded slices ``data`` (one packet, Annex B or ``length_size``-prefixed) holds."""
    return sum(_is_slice(data, start, hevc) for start in _nal_starts(data, length_size))


def _continues_picture(data: bytes, length_size: int | None, hevc: bool = False) -> bool:
    """Whether the first slice in ``data`` (one packet, Annex B or ``length_size``-prefixed) is not
    the first of its picture (H.264: first_mb_in_slice is not 0; H.265, ``hevc``:
    first_slice_segment_in_pic_flag is 0): the next slice of the picture before."""
    for start in _nal_starts(data, length_size):
        if _is_slice(data, start, hevc):
            return not data[start + (2 if hevc else 1)] & 0x80
    return False


class _DtsGuess:
    """libavformat's decode time for a packet that has none: after each presentation time, the
    ``delay`` + 1-th largest seen (its ``pts_buffer``; None until there are that many)."""

    def __init__(self, delay: int):
        self.delay = delay
        self.reset()

    def reset(self) -> None:
        self.largest: list[int | None] = [None] * (self.delay + 1)

    def push(self, pts: int | None) -> int | None:
        if pts is None:
            return None
        b = self.largest
        b[0] = pts
        for i in range(self.delay):
            if b[i + 1] is not None and b[i] <= b[i + 1]:
                break
            b[i], b[i + 1] = b[i + 1], b[i]
        return b[0]


class _WholePictures:
    """(packet, receive time) pairs with the pieces of one picture joined into one packet, received
    when its first piece was (see the module docstring). A picture is held until the next packet
    shows it complete (a frame's time; a drop or the stream's end hands it on first).

    Only a packet with the same presentation time as the one before (or either without one) is
    read for its first slice: a camera sending whole pictures costs nothing more. Where FFmpeg
    guessed decode times (RTP), a guess is made again over whole pictures, by the same rule with
    the same reordering depth: with no piece joined it is FFmpeg's own guess. A decode time that
    is not FFmpeg's guess is kept. When the presentation times jump back by more than
    ``_TimedPackets.JUMP_BACK_S`` (the camera's clock) the guess starts again, as after a connect:
    FFmpeg's, made from the presentation times before the jump, gave every picture after it its
    presentation time as decode time, and every B-picture came out of order until the timestamps
    caught up with the old ones (after a clock set back an hour: for an hour)."""

    def __init__(self, pairs: Iterator[tuple[av.Packet, float]], stream, guessed_dts: bool):
        self._pairs = pairs
        self._time_base = stream.time_base
        ctx = stream.codec_context
        self._sliced = ctx.name in ("h264", "hevc")  # codecs whose pictures are told apart by slice header
        self._hevc = ctx.name == "hevc"
        extradata = ctx.extradata or b""
        # avcC / hvcC (MP4-style: FLV): the NAL length size is in the record; else start codes (RTSP)
        record_length = 21 if self._hevc else 4
        boxed = len(extradata) > record_length and extradata[0] == 1
        self._length_size = (extradata[record_length] & 0x03) + 1 if boxed else None
        delay = getattr(ctx, "reorder_depth", None) if guessed_dts else None  # newer PyAV; else FFmpeg's guesses stay
        self._theirs = _DtsGuess(delay) if delay is not None and 0 <= delay <= 16 else None  # FFmpeg's, over pieces
        self._ours = _DtsGuess(delay) if self._theirs is not None else None  # the same over whole pictures
        self._top: int | None = None  # the latest presentation time since the last jump
        self.cut_pictures = 0  # pictures left out because the stream dropped in the middle of them

    def __iter__(self) -> Iterator[tuple[av.Packet, float]]:
        pieces: list[av.Packet] = []
        pts: int | None = None  # the held picture's presentation time
        at = 0.0
        guessed = False  # its first piece's decode time is FFmpeg's guess
        whole = 0  # slices of the last picture known whole (the next one had begun)
        try:
            for packet, arrived in self._pairs:
                theirs = self._theirs.push(packet.pts) if self._theirs is not None else None
                if (
                    pieces
                    and self._sliced
                    and packet.size
                    and (pts is None or packet.pts is None or packet.pts == pts)
                    and _continues_picture(bytes(packet), self._length_size, self._hevc)
                ):
                    pieces.append(packet)
                    pts = packet.pts if pts is None else pts
                    continue
                if pieces and not packet.size:  # the demuxer's flush at the stream's end
                    if self._complete(pieces, whole):
                        yield self._whole(pieces, pts, guessed), at
                elif pieces:
                    whole = self._slice_count(pieces)
                    yield self._whole(pieces, pts, guessed), at
                pieces, pts, at = [packet], packet.pts, arrived
                guessed = self._theirs is not None and packet.dts == theirs
        except (av.FFmpegError, OSError, EOFError):
            if self._complete(pieces, whole):  # the stream dropped: the held picture first
                yield self._whole(pieces, pts, guessed), at
            raise
        if self._complete(pieces, whole):
            yield self._whole(pieces, pts, guessed), at

    def _slice_count(self, pieces: list[av.Packet]) -> int:
        return sum(_slices(bytes(p), self._length_size, self._hevc) for p in pieces) if self._sliced else 0

    def _complete(self, pieces: list[av.Packet], whole: int) -> bool:
        """Whether the picture held when the stream ended may be recorded: not when the camera
        went off in the middle of it (fewer slices than the picture before; cameras cut every
        picture into as many), as a cut picture decodes smeared, or not at all, as the last of its
        segment, the very moment a reviewer looks at when a camera dropped."""
        if not any(p.size for p in pieces):
            return bool(pieces)  # the demuxer's empty flush packet, handed on as before
        if (got := self._slice_count(pieces)) < whole:
            self.cut_pictures += 1
            log.info("the stream ended in the middle of a picture (%d of %d slices): the picture is left out", got, whole)
            return False
        return bool(pieces)

    def _whole(self, pieces: list[av.Packet], pts: int | None, guessed: bool) -> av.Packet:
        packet = pieces[0]
        if len(pieces) > 1:
            packet = av.Packet(b"".join(bytes(p) for p in pieces))
            packet.pts, packet.dts, packet.duration = pts, pieces[0].dts, pieces[0].duration
            packet.time_base, packet.is_keyframe = pieces[0].time_base, pieces[0].is_keyframe
        if self._ours is not None:
            if pts is not None:
                if self._top is not None and (self._top - pts) * self._time_base > _TimedPackets.JUMP_BACK_S:
                    self._ours.reset()
                    self._top = None
                self._top = pts if self._top is None else max(self._top, pts)
            ours = self._ours.push(pts)
            if guessed:
                packet.dts = ours
        return packet


class _SegmentWriter:
    """One open segment: an MP4 written under ``*.part`` and renamed when finished."""

    def __init__(self, out_dir: Path, template, key: av.Packet, wall: datetime, connection: int, sequence: int):
        self.final = out_dir / segment_name(wall)
        self.part = self.final.with_name(self.final.name + ".part")
        self.wall = wall
        self.key_pts = key.pts
        self.time_base = template.time_base
        self.connection, self.sequence = connection, sequence
        self.container = av.open(str(self.part), mode="w", format="mp4")
        self.stream = self.container.add_stream_from_template(template)
        self.packets = 0
        self.bytes = 0
        self.end_pts = key.pts
        self.lost: str | None = None  # why pictures written here were lost (the file not finished)

    def write(self, packet: av.Packet) -> None:
        if packet.pts < self.key_pts:
            return  # a leading picture of an open GOP that needs the previous segment
        self.end_pts = max(self.end_pts, packet.pts + (packet.duration or 0))
        self.bytes += packet.size
        self.packets += 1
        packet.pts -= self.key_pts
        packet.dts -= self.key_pts
        packet.stream = self.stream
        self.container.mux(packet)

    def close(self, next_key_pts: int | None, ended_by: str) -> Segment | None:
        try:
            self.container.close()
        except av.FFmpegError as err:
            log.warning("segment %s could not be finished: %s", self.final.name, err)
            self.part.unlink(missing_ok=True)
            self.lost = str(err) if self.packets else None
            return None
        if self.packets == 0:
            self.part.unlink(missing_ok=True)
            return None
        end_pts = next_key_pts if next_key_pts is not None else self.end_pts
        duration = float((end_pts - self.key_pts) * self.time_base)
        # The durable rename: the file's data reaches the disk before its new name does, and the
        # name before the index line that calls it finished. Without the first fsync a power cut
        # could leave a renamed, listed segment whose data never was written (the filesystem may
        # commit the rename first), and the next start took it for a whole one.
        _fsync_file(self.part)
        self.part.replace(self.final)
        _fsync_dir(self.final.parent)
        return Segment(self.final, self.wall, self.wall + timedelta(seconds=duration), duration,
                       self.connection, self.sequence, self.packets, self.bytes, ended_by)


class Recorder:
    """Records ``config.url`` into ``config.out_dir`` until ``stop`` is set.

    ``on_segment`` is called with every finished ``Segment`` and ``on_gap`` with every ``Gap``
    (also when a gap closes), after they were appended to the index; both run on the recorder's
    thread, so they must be quick (the service queues a job there).
    """

    def __init__(self, config: RecorderConfig, on_segment: Callable[[Segment], None] | None = None,
                 on_gap: Callable[[Gap], None] | None = None, clock: Callable[[], float] = time.time):
        self.config = config
        self.on_segment = on_segment
        self.on_gap = on_gap
        self.clock = clock
        self.status = RecorderStatus()
        self._timeline = 0  # Segment.connection of the pictures being recorded
        self._lock = threading.Lock()
        self._claim = None  # the open lock file while this recorder holds the folder
        # what earlier recorders left in the folder (read once a run: ``earlier_segments``)
        self._earlier: list[EarlierSegment] | None = None
        self._earlier_end: datetime | None = None  # the end of the last segment they recorded
        self._earlier_gaps: list[Gap] = []  # the gaps their index lists (``earlier_gaps``)
        # (start, why) of unreadable segments set aside after everything else they recorded: the
        # first gap of the run begins there and says so
        self._earlier_lost: tuple[datetime, str] | None = None
        config.out_dir.mkdir(parents=True, exist_ok=True)
        self.index_path = config.out_dir / INDEX_NAME

    # ---- index -------------------------------------------------------------------------------
    def _append(self, entry: dict) -> None:
        """Add ``entry`` to the index; a write that fails (disk full) is logged and the entry still
        goes to ``on_segment`` / ``on_gap``: the database, for the service, is where a camera's
        gaps are read, and an index error used to end the connection before it was told. Under the
        index lock (``index_lock``): retention trims the index by writing a new file over it, and a
        line appended to the old one meanwhile would be lost."""
        try:
            with self._lock, index_lock(self.config.out_dir):
                created = not self.index_path.exists()
                with self.index_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")
                    # on the disk before anyone is told (the database, a consumer): a power cut
                    # must not take a line whose segment the service already registered
                    f.flush()
                    os.fsync(f.fileno())
                if created:
                    _fsync_dir(self.index_path.parent)
        except OSError as err:
            log.error("%s: %s entry not written (%s)", self.index_path, entry.get("type"), err)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def _segment_done(self, segment: Segment | None) -> None:
        if segment is None:
            return
        self._append(segment.to_json())
        self.status.segments += 1
        self.status.last_segment = segment
        log.info("segment %s (%.2f s, %s)", segment.path.name, segment.duration_s, segment.ended_by)
        if self.on_segment is not None:
            try:
                self.on_segment(segment)
            except Exception:  # noqa: BLE001 - the recording must go on whatever the consumer does
                log.exception("on_segment failed for %s", segment.path.name)

    def _finish(self, writer: _SegmentWriter, next_key_pts: int | None, ended_by: str,
                until: datetime | None) -> Segment | None:
        """Close ``writer``; a segment that could not be finished (a full disk) is a gap of its
        own, from its first picture to ``until``: its pictures were received but are not on disk,
        and a drop's gap starts only at the last picture received, so without it a camera
        recording nothing for hours showed gaps of a second."""
        segment = writer.close(next_key_pts, ended_by)
        if segment is None and writer.lost and until is not None and until > writer.wall:
            self._gap(Gap(writer.wall, until, f"segment {writer.final.name} lost: {writer.lost}"))
        self._segment_done(segment)
        return segment

    def _gap(self, gap: Gap) -> None:
        self._append(gap.to_json())
        if gap.end is not None:
            self.status.gaps += 1
        if self.on_gap is not None:
            try:
                self.on_gap(gap)
            except Exception:  # noqa: BLE001
                log.exception("on_gap failed")

    # ---- the folder ---------------------------------------------------------------------------
    def claim(self) -> None:
        """Take the folder for this recorder (``run`` does, and lets go when it ends); raises
        ``RecorderBusy`` while another recorder, in this process or another, holds it."""
        if self._claim is not None:
            return
        fh = (self.config.out_dir / LOCK_NAME).open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise RecorderBusy(f"{self.config.out_dir} is already being recorded by another recorder "
                               f"({holder})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        self._claim = fh
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        """A recorder killed while appending to the index left its last line torn, without its
        newline: the next line written would continue it, and both would be unreadable (the next
        start's ``discarded`` or ``recovered`` line among them). The torn line is ended first."""
        try:
            with index_lock(self.config.out_dir), self.index_path.open("rb+") as f:
                if f.seek(0, os.SEEK_END) == 0:
                    return
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
        except FileNotFoundError:
            pass
        except OSError as err:
            log.error("%s: its torn last line not ended (%s)", self.index_path, err)

    def release(self) -> None:
        if self._claim is not None:
            fh, self._claim = self._claim, None
            fh.close()  # closing the file lets go of the lock

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Connect, record, and on every drop reconnect with exponential backoff, until ``stop``.
        Raises ``RecorderBusy`` at once when another recorder holds the folder."""
        self.claim()
        try:
            self._run(stop)
        finally:
            # a later run reads the folder again
            self._earlier = self._earlier_end = self._earlier_lost = None
            self._earlier_gaps = []
            self.release()

    def _run(self, stop: threading.Event) -> None:
        backoff = self.config.backoff_initial_s
        gap_start, gap_reason = self._discard_unfinished()
        # how far the first picture may begin after ``gap_start`` without a gap (None: any is one)
        slack_s: float | None = None
        try:
            self.earlier_segments()
        except Exception:  # noqa: BLE001 - the camera is recorded all the same, without that gap
            log.exception("%s: the segments earlier recorders left could not be read", self.config.out_dir)
        if self._earlier_lost is not None:
            # An unreadable segment (set aside) after everything else the earlier recorders left:
            # its pictures are lost from its start on, and nothing knows where it ended; the gap
            # runs from there (or the last readable segment's end) to this run's first picture.
            lost_at, lost_reason = self._earlier_lost
            if gap_start is None:
                end = self._earlier_end
                gap_start = end if end is not None and end < lost_at else lost_at
                gap_reason = f"no recorder was running; {lost_reason}"
            else:
                gap_start, gap_reason = min(gap_start, lost_at), f"{gap_reason}; {lost_reason}"
        elif gap_start is None and self._earlier_end is not None:
            # The time since the last recorder's last segment was recorded by nobody. Before, a
            # recorder stopped and started again later reported nothing, and the health page and
            # gap seconds showed the camera's footage as unbroken. A start that follows on within
            # the drift tolerance (how far one recording's own segments may sit apart) is no gap.
            gap_start, gap_reason = self._earlier_end, "no recorder was running"
            slack_s = DRIFT_TOLERANCE_S
        self.status.gap_open_since = gap_start
        ended_by = "stop"
        while not stop.is_set():
            self._timeline += 1
            try:
                first, last, ended_by = self._record_connection(self._timeline, stop, gap_start, gap_reason,
                                                                slack_s)
            except (av.FFmpegError, OSError, EOFError) as err:
                first, last, ended_by = None, None, f"{type(err).__name__}: {err}"
            # FFmpeg's messages name the URL, password and all: the reason goes to the log, the
            # index, the gap row and the health page, so it is kept without the password.
            ended_by = scrub_credentials(ended_by)
            self.status.connected = False
            if stop.is_set() and ended_by == "stop":
                break
            if first is not None:  # pictures were recorded: the next drop opens a new gap
                backoff = self.config.backoff_initial_s
                gap_start, gap_reason, slack_s = last, ended_by, None
                self.status.gap_open_since = gap_start
                if not stop.is_set():
                    # told now, open, and closed by the reconnect (the same start): before, the gap
                    # was told only once it closed, so while a camera was down its health said
                    # nothing of since when
                    self._gap(Gap(gap_start, None, gap_reason))
            elif gap_start is None:  # never connected since the start: the gap begins now
                gap_start, gap_reason, slack_s = self._now(), ended_by, None
                self.status.gap_open_since = gap_start
            if stop.is_set():
                break
            self.status.last_error = ended_by
            log.warning("stream %s: %s; reconnecting in %.1f s", masked_url(self.config.url), ended_by, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, self.config.backoff_max_s)
        if gap_start is not None and self.status.segments and ended_by != "stop":
            self._gap(Gap(gap_start, None, "recorder stopped while the stream was down"))

    def _discard_unfinished(self) -> tuple[datetime | None, str]:
        """Segments a killed recorder left as ``*.part``: an MP4 whose index (written when the file
        is closed) never was, so no player or window can read it. Each is removed, with an index
        line saying so, and the pictures it held become the start of a gap that the next recorded
        segment closes (they were lost: without it the health page showed the cameras' footage
        as unbroken). Returns (the gap's start, its reason), or (None, "") when nothing was left."""
        start: datetime | None = None
        names = []
        for part in sorted(self.config.out_dir.glob("*.mp4.part")):
            try:
                size = part.stat().st_size
                part.unlink()
            except OSError as err:
                log.warning("unfinished segment %s could not be removed: %s", part.name, err)
                continue
            at = parse_segment_name(part.name.removesuffix(".part"))
            reason = "the recorder stopped before the segment was finished: no MP4 index, not playable"
            self._append({"type": "discarded", "path": part.name, "bytes": size,
                          "start": at.isoformat() if at else None, "reason": reason})
            log.warning("unfinished segment %s (%d bytes) discarded: %s", part.name, size, reason)
            names.append(part.name)
            if at is not None and (start is None or at < start):
                start = at
        if start is None:
            return None, ""
        return start, f"recorder killed while writing {', '.join(names)} (discarded, not playable)"

    def earlier_segments(self) -> list[EarlierSegment]:
        """The finished segments earlier recorders left in the folder whose files are still there,
        oldest first: those ``index.jsonl`` lists, and any a killed recorder had renamed into place
        but not listed yet (its index line comes after the rename). Such a one is read (stream
        copy: its packets, never decoded) for its length, takes its start from its name, is listed
        now with ``recovered: true`` and ``ended_by: killed``. One that cannot be read (a power cut
        before its data reached the disk, from a recorder that renamed without an fsync) is set
        aside (``_set_aside``), so that no later start reads it again, and its time counted as a
        gap. A ``*.part`` is never one: it is no finished segment (``_discard_unfinished``).

        A consumer whose registration died with its recorder (``service.live.recorders``) registers
        from these what it does not know; the recorder's run starts its first gap at the end of the
        last. Takes the folder (``claim``) first, as nothing else may write it meanwhile; read once a
        run (the index may be long)."""
        self.claim()
        if self._earlier is None:
            self._earlier, self._earlier_gaps, self._earlier_end, self._earlier_lost = self._read_earlier()
        return self._earlier

    def earlier_gaps(self) -> list[Gap]:
        """The gaps earlier recorders left in ``index.jsonl``, oldest first, one per start (its
        last line: the close of a gap told open; one whose close was lost ends at the next segment
        listed after it, as the database ends it); with those ``earlier_segments`` just counted
        for unreadable segments. A recorder killed while gaps waited in its consumer's retry queue
        took them along: a consumer registers from these what it does not know."""
        self.earlier_segments()
        return self._earlier_gaps

    def _read_earlier(self) -> tuple[list[EarlierSegment], list[Gap], datetime | None, tuple[datetime, str] | None]:
        out_dir = self.config.out_dir
        on_disk = {p.name for p in out_dir.glob("*.mp4") if parse_segment_name(p.name) is not None}
        found: list[EarlierSegment] = []
        gaps: dict[datetime, Gap] = {}  # by start: a gap told open and then closed is one gap
        listed: set[str] = set()
        before: Segment | None = None  # the index's previous segment (run after run, in order)
        end: datetime | None = None
        for entry in _index_entries(out_dir):
            if entry.get("type") == "gap":
                gap = _gap_of(entry)
                if gap is not None and not (gap.end is None and gaps.get(gap.start, gap).end is not None):
                    gaps[gap.start] = gap
                continue
            segment = _segment_of(out_dir, entry) if entry.get("type") == "segment" else None
            if segment is None:
                continue
            for start, gap in gaps.items():
                if gap.end is None and start < segment.start:
                    gaps[start] = Gap(start, segment.start, gap.reason)
            follows = (before.path if before is not None and before.connection == segment.connection
                       and before.sequence == segment.sequence - 1 else None)
            before = segment
            end = segment.end if end is None else max(end, segment.end)
            listed.add(segment.path.name)
            if segment.path.name in on_disk:
                found.append(EarlierSegment(segment, follows))
        unreadable: list[tuple[Path, str]] = []
        for name in sorted(on_disk - listed):
            recovered = self._recover(out_dir / name, [e.segment for e in found])
            if isinstance(recovered, str):
                unreadable.append((out_dir / name, recovered))
                continue
            self._append({**recovered.segment.to_json(), "recovered": True})
            log.warning("segment %s was finished but never listed (the recorder was killed): listed now",
                        name)
            found.append(recovered)
            end = recovered.segment.end if end is None else max(end, recovered.segment.end)
        found.sort(key=lambda e: e.segment.start)
        lost: tuple[datetime, str] | None = None
        for path, why in unreadable:
            reason = self._set_aside(path, why)
            start = parse_segment_name(path.name)
            if reason is None or start is None:
                continue
            # Its pictures are lost from its start to whatever the folder holds next; a gap already
            # open or running then counts them (a later recorder's "no recorder was running").
            nxt = min([e.segment.start for e in found if e.segment.start > start]
                      + [g.start for g in gaps.values() if g.start > start], default=None)
            if any(g.start <= start and (g.end is None or g.end > start) for g in gaps.values()):
                continue
            if nxt is None:  # after everything: the next run's first gap begins here (``_run``)
                lost = (start, reason) if lost is None else (min(lost[0], start), f"{lost[1]}; {reason}")
                continue
            gap = Gap(start, nxt, reason)
            self._append(gap.to_json())
            gaps[start] = gap
        return found, sorted(gaps.values(), key=lambda g: g.start), end, lost

    def _set_aside(self, path: Path, why: str) -> str | None:
        """Rename an unreadable finished segment to ``*.unreadable`` (kept: it is evidence, and
        perhaps partly recoverable by hand), with an ``unreadable`` line in the index; returns the
        gap reason naming it (None: it could not be renamed, and is tried again at the next start).
        Before, it stayed as it was and was read again, with a warning, at every start, and the
        time it should have held was counted as footage."""
        aside = path.with_name(path.name + UNREADABLE_SUFFIX)
        try:
            size = path.stat().st_size
            path.replace(aside)
        except OSError as err:
            log.warning("unreadable segment %s could not be set aside: %s", path.name, err)
            return None
        _fsync_dir(path.parent)
        start = parse_segment_name(path.name)
        self._append({"type": "unreadable", "path": path.name, "set_aside_as": aside.name, "bytes": size,
                      "start": start.isoformat() if start else None, "reason": why})
        log.warning("segment %s cannot be read (%s): set aside as %s, its time counted as a gap",
                    path.name, why, aside.name)
        return f"segment {path.name} could not be read ({why}; set aside as {aside.name})"

    @staticmethod
    def _recover(path: Path, known: list[Segment]) -> EarlierSegment | str:
        """A finished segment file the index does not list, as a ``Segment``: its start from its
        name, its length from its packets; the next of the recording it follows on from (its start
        within the drift tolerance of a segment cut by length), else the first of its own. A str:
        why it cannot be read."""
        start = parse_segment_name(path.name)
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                first: int | None = None
                last: int | None = None
                packets = size = 0
                for packet in container.demux(stream):
                    if packet.pts is None:
                        continue  # the demuxer's flush packet
                    packets += 1
                    size += packet.size
                    first = packet.pts if first is None else min(first, packet.pts)
                    end_pts = packet.pts + (packet.duration or 0)
                    last = end_pts if last is None else max(last, end_pts)
                time_base = stream.time_base
        except (av.FFmpegError, OSError, EOFError, IndexError) as err:
            # FFmpeg's message names the file, by its full path: the reason says the error only
            return f"{type(err).__name__}: {getattr(err, 'strerror', None) or err}"
        if start is None or not packets or first is None or last is None:
            return "no pictures in it"
        duration = float((last - first) * time_base)
        prior = max((s for s in known if s.start < start), key=lambda s: s.start, default=None)
        if (prior is not None and prior.ended_by == "length"
                and abs((start - prior.end).total_seconds()) <= DRIFT_TOLERANCE_S):
            connection, sequence, follows = prior.connection, prior.sequence + 1, prior.path
        else:
            connection, sequence, follows = (prior.connection + 1 if prior is not None else 1), 1, None
        return EarlierSegment(Segment(path, start, start + timedelta(seconds=duration), duration, connection,
                                      sequence, packets, size, "killed"), follows)

    def _open(self):
        options = {}
        if self.config.url.lower().startswith(("rtsp://", "rtsps://")):
            options["rtsp_transport"] = self.config.rtsp_transport
        return av.open(self.config.url, options=options,
                       timeout=(self.config.connect_timeout_s, self.config.read_timeout_s))

    def _record_connection(self, connection: int, stop: threading.Event, gap_start: datetime | None,
                           gap_reason: str, slack_s: float | None = None,
                           ) -> tuple[datetime | None, datetime | None, str]:
        """One connection: returns (wall clock of its first and last recorded picture, why it ended).
        Its first picture closes the gap open since ``gap_start``; one that begins no more than
        ``slack_s`` after it (when given) follows on, and no gap is told."""
        container = self._open()
        self.status.connections += 1
        writer: _SegmentWriter | None = None
        first_wall: datetime | None = None
        last_wall: datetime | None = None
        ended_by = "drop"
        try:
            if not container.streams.video:
                # a server that answers with audio only (a misconfigured channel, a camera still
                # starting): a drop like any other, retried with backoff, not the recorder's end
                kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
                return None, None, f"the stream has no video (it sends {kinds})"
            stream = container.streams.video[0]
            tb: Fraction = stream.time_base
            anchor: tuple[datetime, int] | None = None  # (wall clock, pts) of the first picture
            sequence = 0
            not_before: datetime | None = None  # after a clock jump: the end of the last picture
            # receive times of the packets read but not yet handled (bounded: a stream whose packets
            # the timing repair keeps dropping must not hold them all)
            arrivals: deque[tuple[av.Packet, float]] = deque(maxlen=4096)
            earliest: deque[float] = deque(maxlen=DRIFT_SEGMENTS)  # per segment: min(receive - wall clock)
            lateness: float | None = None  # that minimum for the segment being written
            baseline: float | None = None  # that minimum over the timeline's first segment
            measured_from: int | None = None  # pts since which the drift is measured (the baseline or last re-read)
            unpaced_said = False

            def wall_of(pts: int) -> datetime:
                return anchor[0] + timedelta(seconds=float((pts - anchor[1]) * tb))

            def stamped(pairs: Iterator[tuple[av.Packet, float]]) -> Iterator[av.Packet]:
                for p, at in pairs:
                    arrivals.append((p, at))
                    yield p

            def received(packet: av.Packet) -> float:
                """When ``packet`` was read (packets the timing repair dropped are skipped)."""
                while arrivals:
                    p, at = arrivals.popleft()
                    if p is packet:
                        return at
                return self.clock()

            read = ((p, self.clock()) for p in container.demux(stream))  # stamped as read
            guessed_dts = container.format.name in _GUESSED_DTS_FORMATS
            demux: Iterator[av.Packet] = stamped(_WholePictures(read, stream, guessed_dts))
            while True:
                try:
                    for packet in _TimedPackets(demux, tb):
                        if stop.is_set():
                            ended_by = "stop"
                            break
                        arrived = received(packet)
                        if anchor is None:
                            now = datetime.fromtimestamp(arrived, timezone.utc)
                            anchor = (max(now, not_before) if not_before else now, packet.pts)
                        if writer is None or (packet.is_keyframe and packet.pts > writer.key_pts
                                              and (packet.pts - writer.key_pts) * tb >= self.config.segment_s):
                            if writer is None and not packet.is_keyframe:
                                continue
                            if writer is not None:
                                self._finish(writer, packet.pts, "length", wall_of(packet.pts))
                                if lateness is not None:
                                    earliest.append(lateness)
                                    if baseline is None:
                                        baseline, measured_from = lateness, packet.pts
                                lateness = None
                                drift = min(earliest) - baseline if earliest and baseline is not None else 0.0
                                measured_s = float((packet.pts - measured_from) * tb) if measured_from is not None else 0.0
                                paced = abs(drift) <= max(DRIFT_TOLERANCE_S, MAX_DRIFT_RATE * measured_s)
                                if not paced and not unpaced_said:
                                    unpaced_said = True
                                    log.info("stream %s: its timestamps ran %.1f s from the receive clock in %.1f s: not "
                                             "received in real time; the wall clock follows its timestamps",
                                             masked_url(self.config.url), drift, measured_s)
                                if paced and abs(drift) > DRIFT_TOLERANCE_S:
                                    log.info("stream %s: the camera's clock drifted %.3f s from the receive "
                                             "clock; segments go on from the receive clock",
                                             masked_url(self.config.url), drift)
                                    anchor = (wall_of(packet.pts) + timedelta(seconds=drift), packet.pts)
                                    earliest.clear()
                                    measured_from = packet.pts
                            sequence += 1
                            writer = _SegmentWriter(self.config.out_dir, stream, packet, wall_of(packet.pts),
                                                    connection, sequence)
                            if first_wall is None:
                                first_wall = writer.wall
                                self.status.connected = True
                                if gap_start is not None and (
                                        slack_s is None or (first_wall - gap_start).total_seconds() > slack_s):
                                    self._gap(Gap(gap_start, first_wall, gap_reason))
                                self.status.gap_open_since = None
                        late = arrived - wall_of(packet.pts).timestamp()
                        lateness = late if lateness is None else min(lateness, late)
                        last_wall = wall_of(packet.pts + (packet.duration or 0))
                        self.status.last_packet_at = last_wall
                        writer.write(packet)
                    else:
                        ended_by = "the stream ended"
                    break
                except _ClockJump as jump:
                    log.warning("stream %s: %s; the pictures after it start a new timeline",
                                masked_url(self.config.url), jump)
                    if writer is not None:
                        segment = self._finish(writer, None, "clock", last_wall)
                        last_wall = segment.end if segment is not None else last_wall
                        writer = None
                    self._timeline += 1
                    connection, sequence, anchor, not_before = self._timeline, 0, None, last_wall
                    earliest.clear()
                    lateness = baseline = measured_from = None
                    demux = itertools.chain([jump.packet], demux)
        except (av.FFmpegError, OSError, EOFError) as err:
            ended_by = f"{type(err).__name__}: {err}"
        finally:
            if writer is not None:
                segment = self._finish(writer, None, "stop" if ended_by == "stop" else "drop", last_wall)
                if segment is not None:
                    last_wall = segment.end
            try:
                container.close()
            except av.FFmpegError:
                pass
        return first_wall, last_wall, ended_by


def _fsync_file(path: Path) -> None:
    """Put ``path``'s data on the disk (``_SegmentWriter.close``: before its rename)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Put the names in folder ``path`` (a rename, a new file) on the disk. A filesystem that
    cannot sync a folder (some network ones refuse) is logged: the recording goes on."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as err:
        log.warning("%s: folder not synced (%s)", path, err)
        return
    try:
        os.fsync(fd)
    except OSError as err:
        log.warning("%s: folder not synced (%s)", path, err)
    finally:
        os.close(fd)


@contextmanager
def index_lock(out_dir: Path, wait: bool = True) -> Iterator[bool]:
    """Hold ``out_dir``'s index lock (``INDEX_LOCK_NAME``, flock) for a write of its index; yields
    whether it is held. ``wait=False``: do not wait for it (False while someone else holds it).
    A lock file that cannot be opened (a folder that takes no new file) yields False: the
    recorder's append goes on unlocked rather than losing its line, and a trim is not done."""
    try:
        fh = (Path(out_dir) / INDEX_LOCK_NAME).open("a+b")
    except OSError as err:
        log.warning("%s: index lock not taken (%s)", out_dir, err)
        yield False
        return
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held = True
        except OSError:
            held = False
        yield held
    finally:
        fh.close()  # closing the file lets go of the lock


def _index_entries(out_dir: Path) -> Iterator[dict]:
    """The entries of ``out_dir/index.jsonl`` in order, read a line at a time (it grows for as long
    as the camera is recorded); a torn line (a recorder killed mid-write) is skipped."""
    try:
        with (Path(out_dir) / INDEX_NAME).open(encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    yield entry
    except OSError:
        return


def _segment_of(out_dir: Path, entry: dict) -> Segment | None:
    """The ``Segment`` an index line describes (None: a line it cannot be read from)."""
    try:
        return Segment(Path(out_dir) / Path(entry["path"]).name, datetime.fromisoformat(entry["start"]),
                       datetime.fromisoformat(entry["end"]), float(entry["duration_s"]), int(entry["connection"]),
                       int(entry["sequence"]), int(entry.get("packets") or 0), int(entry.get("bytes") or 0),
                       str(entry.get("ended_by") or "length"))
    except (KeyError, TypeError, ValueError):
        return None


def _gap_of(entry: dict) -> Gap | None:
    """The ``Gap`` an index line describes (None: a line it cannot be read from)."""
    try:
        return Gap(datetime.fromisoformat(entry["start"]),
                   datetime.fromisoformat(entry["end"]) if entry.get("end") else None, str(entry.get("reason") or ""))
    except (KeyError, TypeError, ValueError):
        return None


def read_index(out_dir: Path) -> tuple[list[dict], list[dict]]:
    """(segments, gaps) as recorded in ``out_dir/index.jsonl``; a torn last line is ignored."""
    segments, gaps = [], []
    for entry in _index_entries(out_dir):
        (segments if entry.get("type") == "segment" else gaps if entry.get("type") == "gap" else []).append(entry)
    return segments, gaps
