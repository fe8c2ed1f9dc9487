"""Cut the original footage of a case without re-encoding it, and prove later that it was.

A reviewer, a court or a citizen may ask whether the clip in a case is what the camera recorded.
A re-encoded clip can only be "similar"; a clip made by **stream copy** holds the camera's own
compressed packets. So when the source is H.264 in 4:2:0 (what every review browser plays), the
clip is a remux: the packets from the keyframe at or before the span's start up to the span's end,
their timestamps shifted so the clip starts at 0, in a fresh MP4. Nothing is decoded or encoded,
which also makes it cheap (milliseconds instead of seconds per case).

The clip starts at a keyframe, usually a little before the case span; the case records
``clip_offset_s`` (where the span starts inside the clip) for the player to seek to, and
``clip_start_s`` (the source video time of the clip's first frame) to map clip time to video time.

``PacketRange`` records which source packets were copied (by decode timestamp, plus the key
frame's presentation timestamp: open-GOP leading pictures before it cannot be decoded without the
previous GOP and are left out) and a SHA-256 over their NAL units. ``verify_copy`` demuxes the same
range from the source again and compares it with the clip's packets NAL unit by NAL unit, and
their presentation times and the container's display matrix, so a clip that was edited,
re-encoded, retimed, turned or mirrored, or cut from other footage is refused. NAL units rather than raw
packets are compared because a container change may re-frame them (Annex B start codes in MPEG-TS
become length prefixes in MP4) without touching a byte of picture data; access unit delimiters,
which carry no picture data and which muxers add or drop, are ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
from av.sidedata.sidedata import Type as SideDataType

from detector.decode import VideoInfo

# What the review browsers (Chromium, Firefox, Safari) all play inside MP4.
PLAYABLE_CODECS = {"h264"}
PLAYABLE_PIX_FMTS = {"yuv420p", "yuvj420p"}
_AUD = 9  # H.264 NAL unit type of an access unit delimiter


class StreamCopyError(RuntimeError):
    """The span could not be cut by stream copy (the caller transcodes instead)."""


def copy_refusal(info: VideoInfo) -> str | None:
    """Why this source cannot be stream-copied into a browser-playable clip, or None if it can."""
    if info.codec not in PLAYABLE_CODECS:
        return f"the source codec {info.codec} does not play in review browsers"
    if info.pix_fmt is not None and info.pix_fmt not in PLAYABLE_PIX_FMTS:
        return f"the source pixel format {info.pix_fmt} does not play in review browsers"
    if info.rotation:
        # The display matrix is not carried by the remux; an upright transcode is what the
        # reviewer and the zones (drawn on the upright picture) expect.
        return f"the source is stored rotated ({info.rotation} degrees)"
    return None


@dataclass(frozen=True)
class PacketRange:
    """Which source video packets a clip holds, and a hash of their picture data.

    Packets are taken in decode order with ``first_dts <= dts <= last_dts`` and
    ``pts >= key_pts``; timestamps are in the source stream's ``time_base``.
    """

    time_base: str  # e.g. "1/15360"
    key_pts: int  # the keyframe the clip starts at
    first_dts: int
    last_dts: int
    last_pts: int  # the latest presentation timestamp among the copied packets
    count: int
    nal_sha256: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PacketRange":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CopiedClip:
    path: Path
    start_s: float  # source video time of the clip's first frame (its keyframe)
    end_s: float  # source video time of the clip's last frame
    offset_s: float  # where the requested span starts, in clip time
    packets: PacketRange


def _nal_length_size(extradata: bytes | None) -> int | None:
    """Length-prefix size of AVCC-framed H.264 (MP4/MOV), None for Annex B (start codes)."""
    if extradata and len(extradata) >= 5 and extradata[0] == 1:
        return (extradata[4] & 0x03) + 1
    return None


def nal_units(data: bytes, length_size: int | None) -> Iterator[bytes]:
    """The NAL units of one packet, without their framing (length prefixes or start codes)."""
    if length_size:
        i = 0
        while i + length_size <= len(data):
            n = int.from_bytes(data[i:i + length_size], "big")
            i += length_size
            yield data[i:i + n]
            i += n
        return
    starts: list[tuple[int, int]] = []  # (start code position, payload position)
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        begin = i - 1 if i > 0 and data[i - 1] == 0 else i
        starts.append((begin, i + 3))
        i = data.find(b"\x00\x00\x01", i + 3)
    for k, (_, payload) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(data)
        yield data[payload:end].rstrip(b"\x00") if k + 1 < len(starts) else data[payload:end]


class _NalHash:
    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def add(self, packet_bytes: bytes, length_size: int | None) -> None:
        for nal in nal_units(packet_bytes, length_size):
            if nal and (nal[0] & 0x1F) != _AUD:
                self._h.update(len(nal).to_bytes(4, "big"))
                self._h.update(nal)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _frame_step(stream) -> int:  # noqa: ANN001
    """One frame's duration in the stream's time base (0 when the stream does not say its rate)."""
    rate, tb = stream.average_rate or stream.guessed_rate, stream.time_base
    return round(1 / (float(rate) * float(tb))) if rate and tb else 0


def _packets(container, stream) -> Iterator[av.Packet]:
    """Demuxed packets; a truncated or damaged file ends the stream instead of raising, so a case
    near the damage keeps the footage before it.

    Matroska stores presentation times only; FFmpeg derives decode times once it has seen how
    B-frames are reordered, so the first packets of such a stream (the first keyframe among them)
    come with none. They are given decode times counted back a frame apart from the first known
    one, never after their presentation time, as the MP4 muxer needs: without them no clip from
    the stream's first group of pictures could be copied, and the case said "no keyframe"."""
    step, waiting = _frame_step(stream), []
    try:
        for packet in container.demux(stream):
            if step and packet.dts is None and packet.pts is not None and packet.size and waiting is not None:
                waiting.append(packet)
                continue
            if waiting and packet.dts is not None:
                for k, early in enumerate(waiting):
                    dts = packet.dts - (len(waiting) - k) * step
                    if dts <= early.pts:
                        early.dts = dts
                yield from waiting
            if packet.dts is not None:
                waiting = None  # decode times known from here on: any later gap is the demuxer's
            yield packet
        yield from waiting or ()
    except (av.FFmpegError, EOFError):
        return


def _select(container, stream, key_pts: int | None, start_pts: int, end_pts: int) -> list[av.Packet]:
    """Packets from the last keyframe at or before ``start_pts`` (or exactly ``key_pts``) until the
    first packet decoded after ``end_pts``; empty when the demuxer started past the keyframe."""
    chosen: list[av.Packet] = []
    started = False
    for packet in _packets(container, stream):
        if packet.dts is None or packet.pts is None or packet.size == 0 or packet.is_corrupt:
            continue  # flush packet, damaged data, or one without timing we could not place
        if packet.is_keyframe and (packet.pts == key_pts if key_pts is not None else packet.pts <= start_pts):
            chosen, started = [packet], True  # a later keyframe still before the start wins
            continue
        if not started:
            if packet.is_keyframe and packet.pts > start_pts:
                return []  # the seek landed past the start
            continue
        if packet.dts > end_pts:
            break  # every frame shown up to end_pts is decoded before this packet
        if packet.pts >= chosen[0].pts:
            chosen.append(packet)
    return chosen if started else []


def _demux_range(source: Path, key_pts: int | None, start_pts: int, end_pts: int):
    """Open ``source`` and return (container, stream, packets) for the range; seek first, fall
    back to reading from the top when the seek overshoots or the container cannot seek."""
    for attempt in ("seek", "top"):
        container = av.open(str(source))
        stream = container.streams.video[0]
        if attempt == "seek":
            try:
                container.seek(max(start_pts - 1, 0), stream=stream, backward=True, any_frame=False)
            except (av.FFmpegError, OSError, ValueError):
                container.close()
                continue
        packets = _select(container, stream, key_pts, start_pts, end_pts)
        if packets:
            return container, stream, packets
        container.close()
    raise StreamCopyError(f"{source.name}: no keyframe at or before the span")


def copy_clip(source: Path, out_path: Path, start_s: float, end_s: float, info: VideoInfo) -> CopiedClip:
    """Remux the source's packets covering ``start_s..end_s`` (video seconds) into ``out_path``."""
    source = Path(source)
    refusal = copy_refusal(info)
    if refusal:
        raise StreamCopyError(refusal)
    tb = info.time_base
    start_pts = info.first_pts + int(max(0.0, start_s) / tb)
    end_pts = info.first_pts + int(-(-Fraction(max(start_s, end_s)) // tb))
    try:
        container, stream, packets = _demux_range(source, None, start_pts, end_pts)
    except av.FFmpegError as err:
        raise StreamCopyError(f"{source.name}: cannot read packets ({err})") from None
    repeat = next((b for a, b in zip(packets, packets[1:]) if b.dts <= a.dts), None)
    if repeat is not None:
        container.close()
        # MP4 needs strictly increasing decode times; the muxer's refusal named only our
        # temporary file ("Invalid argument: '.../.staging-.../clip.mp4'") in the case record.
        raise StreamCopyError(f"the source's timestamps repeat or go back at "
                              f"{float((repeat.dts - info.first_pts) * tb):.2f} s")
    if packets[0].pts < info.first_pts:
        container.close()
        # An edit list that starts the video after this keyframe (a phone's non-destructive trim):
        # the copy would show frames the source never plays, before its time 0.
        raise StreamCopyError(f"the source's edit list starts {float((info.first_pts - packets[0].pts) * tb):.2f} s "
                              "after its first keyframe")
    shown_until = max(p.pts for p in packets)
    if shown_until < start_pts:
        container.close()
        # A file cut short after its index was written (a recorder killed, a truncated upload):
        # the index promises a span the data no longer holds. The copy was the last pictures
        # before it, with the player told to start seconds past their end.
        raise StreamCopyError(f"the source's pictures end at {float((shown_until - info.first_pts) * tb):.2f} s, "
                              f"before the span at {start_s:.2f} s")
    try:
        length_size = _nal_length_size(stream.codec_context.extradata)
        key_pts = packets[0].pts
        # The range in the source's time base, read before muxing: the muxer rewrites each
        # packet's times in place into the MP4 track's time base (1/16000 for a Matroska
        # source's 1/1000), and the record read after it named a range the source does not have.
        last_pts = max(p.pts for p in packets)
        first_dts, last_dts = packets[0].dts, packets[-1].dts
        digest = _NalHash()
        with av.open(str(out_path), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
            ostream = out.add_stream_from_template(stream)
            for packet in packets:
                digest.add(bytes(packet), length_size)
                packet.pts -= key_pts
                packet.dts -= key_pts
                packet.stream = ostream
                out.mux(packet)
    except av.FFmpegError as err:
        # strerror, not str(err): FFmpeg's message names the output, a temporary path.
        raise StreamCopyError(f"{source.name}: remux failed ({getattr(err, 'strerror', None) or err})") from None
    finally:
        container.close()
    clip_start = float((key_pts - info.first_pts) * tb)
    return CopiedClip(
        path=Path(out_path),
        start_s=clip_start,
        end_s=float((last_pts - info.first_pts) * tb),
        offset_s=max(0.0, float(start_s) - clip_start),
        packets=PacketRange(f"{tb.numerator}/{tb.denominator}", int(key_pts), int(first_dts), int(last_dts),
                            int(last_pts), len(packets), digest.hexdigest()),
    )


@dataclass(frozen=True)
class _Digest:
    sha256: str
    count: int
    times: list[Fraction | None]  # each packet's presentation time, seconds after the first packet's
    tick: Fraction  # the stream's time base


def _relative_times(pts: list[int | None], tb: Fraction) -> list[Fraction | None]:
    origin = pts[0] if pts and pts[0] is not None else 0
    return [(p - origin) * tb if p is not None else None for p in pts]


def _clip_digest(clip: Path) -> _Digest:
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        length_size = _nal_length_size(stream.codec_context.extradata)
        digest, pts = _NalHash(), []
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            digest.add(bytes(packet), length_size)
            pts.append(packet.pts)
        tb = Fraction(stream.time_base)
        return _Digest(digest.hexdigest(), len(pts), _relative_times(pts, tb), tb)


def _source_digest(source: Path, packets: PacketRange) -> _Digest:
    container, stream, chosen = _demux_range(source, packets.key_pts, packets.key_pts, packets.last_dts)
    try:
        length_size = _nal_length_size(stream.codec_context.extradata)
        digest = _NalHash()
        for packet in chosen:
            digest.add(bytes(packet), length_size)
        tb = Fraction(stream.time_base)
        return _Digest(digest.hexdigest(), len(chosen), _relative_times([p.pts for p in chosen], tb), tb)
    finally:
        container.close()


def _same_times(clip: _Digest, source: _Digest) -> bool:
    """Does every clip packet show at the source's time (shifted to the clip's start)? Up to one
    tick of the coarser time base: the remux may rescale (Matroska's 1/1000 to MP4's 1/16000)."""
    tolerance = max(clip.tick, source.tick)
    return all(a is not None and b is not None and abs(a - b) <= tolerance for a, b in zip(clip.times, source.times))


def _display_matrix(path: Path) -> bytes | None:
    """The display matrix (a turn or mirror players apply) on the stream's first picture, raw; None
    when there is none. The container's matrix lies outside the packets the NAL hash covers."""
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            side = frame.side_data.get(SideDataType.DISPLAYMATRIX)
            return bytes(side) if side is not None else None
    return None


def verify_copy(clip: Path, source: Path | None, packets: PacketRange) -> list[str]:
    """Problems found (empty when the clip's packets are the recorded range of the source).

    Without ``source`` only the clip is checked against the recorded hash; with it, the range is
    demuxed from the source again, so the record itself is checked too.
    """
    problems: list[str] = []
    try:
        clip_digest = _clip_digest(clip)
    except (av.FFmpegError, OSError, IndexError) as err:
        return [f"{clip.name}: unreadable clip ({err})"]
    if clip_digest.count != packets.count or clip_digest.sha256 != packets.nal_sha256:
        problems.append(f"{clip.name}: its packets are not the ones recorded when it was cut")
    if source is not None:
        try:
            source_digest = _source_digest(Path(source), packets)
        except (StreamCopyError, av.FFmpegError, OSError) as err:
            return problems + [f"{clip.name}: the recorded packet range is not in {Path(source).name} ({err})"]
        if source_digest.count != clip_digest.count or source_digest.sha256 != clip_digest.sha256:
            problems.append(f"{clip.name}: its packets differ from {Path(source).name} "
                            f"(dts {packets.first_dts}..{packets.last_dts})")
        elif not _same_times(clip_digest, source_digest):
            # The same pictures shown at other times (slowed down, sped up): not what the camera recorded.
            problems.append(f"{clip.name}: its frame times differ from {Path(source).name}'s (the packets were retimed)")
        else:
            try:
                turned = _display_matrix(clip) != _display_matrix(Path(source))
            except (av.FFmpegError, OSError) as err:
                return problems + [f"{clip.name}: cannot read how it is displayed ({err})"]
            if turned:
                # Same pictures, but a player shows them turned or mirrored (a rider's direction reversed).
                problems.append(f"{clip.name}: its display matrix (rotation or mirroring) differs from "
                                f"{Path(source).name}'s")
    return problems

