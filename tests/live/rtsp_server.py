#!/usr/bin/python3
"""A tiny RTSP camera for the live-recorder tests: serves an H.264 (or, with ``--h265``, H.265)
MP4 in an endless loop, without re-encoding, on rtsp://127.0.0.1:PORT/cam.

Runs under the *system* Python with Debian's GObject bindings (python3-gi,
gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good/-bad), not the project's venv: the test
starts it as a subprocess. The clip's access units are read once (qtdemux ! h264parse ! appsink)
and pushed into ``appsrc ! h264parse ! rtph264pay`` for every client, their timestamps moved on
by the clip's length at each loop, so a client sees one continuous stream of the camera's own
compressed pictures. The server's sinks pace it in real time. Every client starts at the clip's
start (a fresh media per connection).

Usage: rtsp_server.py CLIP.mp4 PORT [--h265] [--audio-only | --stall-after=N | --cut-picture-after=N | --clock-reset]
``--h265``: the clip is H.265 (HEVC): ``h265parse ! rtph265pay`` instead, parameter sets again before
every slice of a keyframe as well (config-interval=-1), as many Chinese IP cameras send H.265.
``--audio-only``: a camera that answers but sends no video (a test tone, G.711, and nothing else).
``--stall-after=N``: a camera whose encoder hangs: each connection gets the first N pictures, then
nothing, while the RTSP session stays up.
``--cut-picture-after=N``: a camera that goes off in the middle of a picture: the first connection
gets N pictures, then the first slice only of the next (an H.264 clip of several slices a picture),
and half a second later the server exits (the connection drops).
``--clock-reset``: a camera whose clock starts again after the first loop: the second loop's
timestamps are the first's again (a jump back by one loop; being late, that loop goes out at once),
the loops after it follow on from there in real time.
Prints "ready rtsp://127.0.0.1:PORT/cam" on stdout once it listens.
"""

from __future__ import annotations

import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def load_access_units(path: str, codec: str = "h264"):
    """(pts, dts, duration, is_key, bytes) of every access unit, and the byte-stream caps."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! {codec}parse ! '
        f"video/x-{codec},stream-format=byte-stream,alignment=au ! appsink name=sink sync=false")
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    units, caps = [], None
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        buf = sample.get_buffer()
        caps = sample.get_caps()
        units.append((buf.pts, buf.dts, buf.duration, not buf.has_flags(Gst.BufferFlags.DELTA_UNIT),
                      buf.extract_dup(0, buf.get_size())))
    pipeline.set_state(Gst.State.NULL)
    if not units:
        raise SystemExit(f"{path}: no {codec} access units")
    return units, caps


def _first_slice(data: bytes) -> bytes:
    """An H.264 access unit (start codes) up to the end of its first slice: what a camera that went
    off after that slice had sent of the picture."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i)
        i = data.find(b"\x00\x00\x01", i + 3)
    for n, at in enumerate(starts):
        if data[at + 3] & 0x1F in (1, 5):  # the first slice: keep it and everything before it
            end = starts[n + 1] if n + 1 < len(starts) else len(data)
            return data[:end].rstrip(b"\x00") if n + 1 < len(starts) else data
    return data


class LoopFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, units, caps, stall_after: int | None = None, clock_reset: bool = False, codec: str = "h264",
                 cut_after: int | None = None):
        super().__init__()
        self.units = units
        self.cut_after = cut_after
        self.codec = codec
        self.stall_after = stall_after
        self.clock_reset = clock_reset
        self.caps = caps
        # one loop lasts until the last picture's end, in presentation order
        self.loop_ns = max(u[0] + (u[2] if u[2] != Gst.CLOCK_TIME_NONE else 0) for u in units) - units[0][0]
        self.set_shared(False)
        self.connect("media-configure", self._configure)

    def do_create_element(self, url):  # noqa: ANN001, D401 - GstRtspServer vfunc
        return Gst.parse_launch(f"( appsrc name=src format=time ! {self.codec}parse ! "
                                f"rtp{self.codec}pay name=pay0 pt=96 config-interval=-1 )")

    def _configure(self, factory, media):  # noqa: ANN001
        src = media.get_element().get_child_by_name("src")
        src.set_property("caps", self.caps)
        state = {"i": 0}
        # the earliest timestamp (a decode time before the first picture's, with B-frames) -> 0
        base = min(min(u[0], u[1] if u[1] != Gst.CLOCK_TIME_NONE else u[0]) for u in self.units)

        def need_data(appsrc, _length):  # noqa: ANN001
            if self.stall_after is not None and state["i"] >= self.stall_after:
                return  # the encoder hung: appsrc asks again, nothing comes
            if self.cut_after is not None and state["i"] > self.cut_after:
                return  # the picture was cut: nothing more before the exit
            loop, k = divmod(state["i"], len(self.units))
            pts, dts, duration, key, data = self.units[k]
            if self.cut_after is not None and state["i"] == self.cut_after:
                data = _first_slice(data)
                GLib.timeout_add(500, lambda: os._exit(0))
            buf = Gst.Buffer.new_wrapped(data)
            shift = (loop - (loop >= 1 and self.clock_reset)) * self.loop_ns - base
            buf.pts = pts + shift
            buf.dts = dts + shift if dts != Gst.CLOCK_TIME_NONE else Gst.CLOCK_TIME_NONE
            buf.duration = duration
            if not key:
                buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
            state["i"] += 1
            appsrc.emit("push-buffer", buf)

        src.connect("need-data", need_data)


def main() -> None:
    clip, port, flags = sys.argv[1], sys.argv[2], sys.argv[3:]
    Gst.init(None)
    if "--audio-only" in flags:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch("( audiotestsrc is-live=true ! alawenc ! rtppcmapay name=pay0 pt=8 )")
    else:
        codec = "h265" if "--h265" in flags else "h264"
        units, caps = load_access_units(clip, codec)
        stall = next((int(f.split("=", 1)[1]) for f in flags if f.startswith("--stall-after=")), None)
        cut = next((int(f.split("=", 1)[1]) for f in flags if f.startswith("--cut-picture-after=")), None)
        factory = LoopFactory(units, caps, stall_after=stall, clock_reset="--clock-reset" in flags, codec=codec,
                              cut_after=cut)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on port {port}")
    print(f"ready rtsp://127.0.0.1:{port}/cam", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
