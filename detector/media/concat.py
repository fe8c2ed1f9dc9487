"""Join consecutive recorded segments into one file by stream copy (remux, never decode).

A live camera's segment is analysed inside a *window*: the segment before it (preroll: tracks,
stays and signal state need history), the segment itself, and the one after it (post-roll for the
evidence clip). The window is the segments' own packets one after the other in a fresh MP4, each
part's timestamps moved on by the stream time before it, so the window plays as the camera sent
it and a case's clip may span two segments.

Parts must come from one unbroken recording (the recorder's ``connection``) and share the codec
configuration (SPS/PPS); a part's ``duration_s`` is the stream time from its first keyframe to
the next part's, so decode times stay increasing across the joins even with B-frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


class ConcatError(RuntimeError):
    """The parts cannot be joined by stream copy (different codec settings, unreadable)."""


@dataclass(frozen=True)
class Part:
    path: Path
    duration_s: float  # stream time from this part's first keyframe to the next part's


@dataclass(frozen=True)
class Joined:
    path: Path
    offsets_s: list[float]  # where each part starts in the joined file
    duration_s: float

    def span_of(self, index: int, parts: list[Part]) -> tuple[float, float]:
        """[from, to) of part ``index`` in the joined file (seconds)."""
        start = self.offsets_s[index]
        return start, start + parts[index].duration_s


def concat_remux(parts: list[Part], out_path: Path, metadata: dict[str, str] | None = None) -> Joined:
    """Write ``parts`` one after another into ``out_path`` (MP4, faststart) by stream copy.

    ``metadata``: container tags (``title``, ``comment``, ``creation_time``...) written into the
    file, never into the pictures; the live windows name the segment they are made for there,
    which also keeps two windows of the same pictures (a looping or frozen camera) apart."""
    if not parts:
        raise ConcatError("nothing to join")
    inputs = []
    try:
        for part in parts:
            inputs.append(av.open(str(part.path)))
        streams = [c.streams.video[0] for c in inputs]
        config = streams[0].codec_context.extradata
        for part, stream in zip(parts[1:], streams[1:]):
            if stream.codec_context.extradata != config or stream.codec_context.name != streams[0].codec_context.name:
                raise ConcatError(f"{part.path.name}: codec settings differ from {parts[0].path.name}")
        offsets: list[float] = []
        offset = 0.0
        tmp = out_path.with_name(out_path.name + ".part")
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
            ostream = out.add_stream_from_template(streams[0])
            if metadata:
                out.metadata.update(metadata)
            last_dts = None
            for part, container, stream in zip(parts, inputs, streams):
                offsets.append(offset)
                shift = round(offset / stream.time_base)
                for packet in container.demux(stream):
                    if packet.size == 0 or packet.pts is None or packet.dts is None:
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    if last_dts is not None and packet.dts <= last_dts:
                        raise ConcatError(f"{part.path.name}: decode times overlap the part before "
                                          "(not consecutive segments of one recording)")
                    last_dts = packet.dts
                    packet.stream = ostream
                    out.mux(packet)
                offset += part.duration_s
        tmp.replace(out_path)
    except av.FFmpegError as err:
        raise ConcatError(f"cannot join the segments: {err}") from None
    finally:
        for c in inputs:
            c.close()
    return Joined(Path(out_path), offsets, offset)
