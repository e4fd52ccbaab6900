"""Highest-quality clip export: decode frames [start, end) of the lossless master and re-encode them.

The optional alternative to stream copy from the proxy (SPEC §6). The master (FFV1 in Matroska, FLAC
audio, written by `preprocess`) holds the same frames as the proxy's constant-rate grid, so master frame
i is proxy frame i, and the same frame numbers address both. The output has the proxy's geometry: an
odd master is cropped by its last column/row exactly as preprocess crops the proxy, so a re-encoded
export and a stream-copied one line up pixel for pixel.

Frame numbering: frame index = round((pts - first_pts) * time_base * fps). Every FFV1 frame is a
keyframe, so we seek to a little before the start (the margin catches the audio packet that straddles
the start time) and skip whole packets by that index without decoding them.

Audio: the master's audio is decoded, trimmed sample-exactly to [start/fps, end/fps) and encoded with
the profile's audio codec (AAC by default). Output timestamps start at 0; MP4 with `+faststart`;
written to a temporary name and renamed, so a failure leaves nothing that looks finished.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import av.filter

from heaters.adapters.files import atomic_file, sha256_of_file
from heaters.adapters.media.clip import ClipInfo
from heaters.adapters.media.inputs import check_frame_range, open_video
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.profiles import OutputProfile, export_reencode_profile

# Seek this far before the clip start: the audio packet covering the start time can sit in the file
# before the first wanted video packet. Skipped packets are only demuxed, never decoded.
_SEEK_MARGIN_SECONDS = 2


def reencode_clip(
    master_source: str | Path,
    start_frame: int,
    end_frame: int,
    out_path: Path,
    *,
    profile: OutputProfile | None = None,
) -> ClipInfo:
    """Write master frames [start_frame, end_frame) re-encoded with `profile` (default: the export
    re-encode profile) to `out_path`, atomically. `master_source` is a local path or an http(s) URL."""
    check_frame_range(start_frame, end_frame)
    profile = profile or export_reencode_profile()
    with atomic_file(Path(out_path)) as tmp_path:
        tmp_name = str(tmp_path)
        fps, counts = _reencode(str(master_source), start_frame, end_frame, tmp_name, profile)
        digest, size = sha256_of_file(Path(tmp_name))
    return ClipInfo(start_frame, end_frame, fps, counts[0], counts[1], size, digest)


def _reencode(
    source: str, start_frame: int, end_frame: int, out_file: str, profile: OutputProfile
) -> tuple[Fraction, tuple[int, int]]:
    with open_video(source, "master") as master:
        container, vin, ain, fps = master.container, master.video, master.audio, master.fps
        if vin.frames and end_frame > vin.frames:
            raise BadInput(f"clip end frame {end_frame} is beyond the master's last frame ({vin.frames} frames)")
        if container.duration and Fraction(start_frame) / fps >= Fraction(container.duration, av.time_base):
            raise BadInput(f"clip start frame {start_frame} is beyond the end of the master")
        if start_frame > 0:
            seek_seconds = max(Fraction(start_frame) / fps - _SEEK_MARGIN_SECONDS, 0)
            container.seek(int(seek_seconds * av.time_base), backward=True)

        width, height = vin.codec_context.width, vin.codec_context.height
        out_size = (width - width % 2, height - height % 2)  # same crop as the proxy (see preprocess)
        with av.open(out_file, "w", format=profile.container, options=profile.container_option_dict()) as out:
            video = _VideoSide(vin, fps, start_frame, end_frame, out, profile, out_size)
            audio = _AudioSide(ain, fps, start_frame, end_frame, out, profile) if ain is not None else None
            for packet in container.demux(*([vin] + ([ain] if ain is not None else []))):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream packets: the decoders are flushed in finish()
                if packet.stream is vin:
                    video.feed(packet)
                else:
                    audio.feed(packet)
                if video.done and (audio is None or audio.done):
                    break
            video.finish()
            if audio is not None:
                audio.finish()
    if video.written != end_frame - start_frame:
        raise BadInput(
            f"master ended after {start_frame + video.written} frames; clip [{start_frame}, {end_frame}) is beyond it"
        )
    return fps, (video.packets, audio.packets if audio is not None else 0)


class _VideoSide:
    """Decodes the wanted master frames, crops them to the proxy's geometry and encodes them."""

    def __init__(self, vin, fps: Fraction, start: int, end: int, out, profile: OutputProfile, size) -> None:
        self.vin, self.fps, self.start, self.end, self.out = vin, fps, start, end, out
        self.time_base = Fraction(vin.time_base)
        self.first_pts = vin.start_time or 0
        self.done = False
        self.written = 0
        self.packets = 0
        self.size = size
        self.crop = None
        self.stream = out.add_stream(profile.video.codec, rate=fps)
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = profile.video.pix_fmt or vin.codec_context.pix_fmt
        self.stream.codec_context.time_base = 1 / fps
        self.stream.options = profile.video.option_dict()

    def index(self, pts: int) -> int:
        return round((pts - self.first_pts) * self.time_base * self.fps)

    def feed(self, packet) -> None:
        if self.done or packet.pts is None:
            return
        index = self.index(packet.pts)
        if index < self.start:
            return  # all-intra: skip without decoding
        if index >= self.end:
            self.done = True
            return
        for frame in packet.decode():
            self._encode(frame)

    def finish(self) -> None:
        for frame in self.vin.codec_context.decode(None):
            self._encode(frame)
        packets = self.stream.encode(None)
        self.packets += len(packets)
        self.out.mux(packets)

    def _encode(self, frame) -> None:
        index = self.index(frame.pts) if frame.pts is not None else None
        if index is None or not self.start <= index < self.end:
            return
        if index != self.start + self.written:
            raise HeatersError(f"master frame numbering is not constant-rate: expected {self.start + self.written}")
        if (frame.width, frame.height) != self.size:
            frame = self._cropped(frame)
        frame.pts, frame.time_base = self.written, 1 / self.fps
        # The profile alone decides picture types (decoded frames carry the source's I type).
        frame.pict_type = av.video.frame.PictureType.NONE
        packets = self.stream.encode(frame)
        self.packets += len(packets)
        self.out.mux(packets)
        self.written += 1
        if self.written == self.end - self.start:
            self.done = True

    def _cropped(self, frame):
        if self.crop is None:
            graph = av.filter.Graph()
            nodes = [
                graph.add_buffer(
                    width=frame.width, height=frame.height, format=frame.format, time_base=frame.time_base
                ),
                graph.add("crop", f"{self.size[0]}:{self.size[1]}:0:0"),
                graph.add("buffersink"),
            ]
            graph.link_nodes(*nodes)
            graph.configure()
            self.crop = graph
        self.crop.vpush(frame)
        return self.crop.vpull()


class _AudioSide:
    """Decodes the master's audio, trims it to the clip's time span to the sample, and encodes it."""

    def __init__(self, ain, fps: Fraction, start: int, end: int, out, profile: OutputProfile) -> None:
        ctx = ain.codec_context
        self.ain = ain
        self.rate = ctx.sample_rate
        self.first = Fraction(ain.start_time or 0) * Fraction(ain.time_base)
        self.begin = round(Fraction(start) / fps * self.rate)  # first wanted sample
        self.stop = round(Fraction(end) / fps * self.rate)  # one past the last wanted sample
        self.position: int | None = None  # sample index of the next decoded sample
        self.done = False
        self.packets = 0
        self.out = out
        self.stream = out.add_stream(profile.audio.codec, rate=self.rate)
        self.stream.layout = ctx.layout
        if profile.audio.bit_rate:
            self.stream.bit_rate = profile.audio.bit_rate
        self.stream.options = profile.audio.option_dict()
        self.stream.codec_context.time_base = Fraction(1, self.rate)

    def feed(self, packet) -> None:
        if self.done:
            return
        if packet.pts is not None:
            packet_start = round((packet.pts * Fraction(packet.time_base) - self.first) * self.rate)
            packet_end = packet_start + round(packet.duration * packet.time_base * self.rate)
            if packet.duration and packet_end < self.begin - self.rate // 100:
                return  # well before the clip (10 ms slack for rounded timestamps): no need to decode
            if packet_start >= self.stop:
                self.done = True
                return
        for frame in packet.decode():
            self._encode(frame)

    def finish(self) -> None:
        if not self.done:
            for frame in self.ain.codec_context.decode(None):
                self._encode(frame)
        packets = self.stream.encode(None)
        self.packets += len(packets)
        self.out.mux(packets)

    def _encode(self, frame) -> None:
        if self.position is None:
            # Container timestamps are rounded (Matroska: 1 ms), so only the first decoded frame's is used
            # and samples are counted from there: contiguous, so the trim is exact relative to it.
            self.position = round((frame.pts * Fraction(frame.time_base) - self.first) * self.rate)
        first, self.position = self.position, self.position + frame.samples
        lo, hi = max(first, self.begin), min(self.position, self.stop)
        if lo >= hi:
            if first >= self.stop:
                self.done = True
            return
        if (lo, hi) != (first, self.position):
            frame = _slice_samples(frame, lo - first, hi - first)
        frame.pts, frame.time_base = lo - self.begin, Fraction(1, self.rate)
        packets = self.stream.encode(frame)
        self.packets += len(packets)
        self.out.mux(packets)
        if self.position >= self.stop:
            self.done = True


def _slice_samples(frame, lo: int, hi: int):
    """Samples [lo, hi) of an audio frame, same format and layout."""
    data = frame.to_ndarray()
    if frame.format.is_planar:
        part = data[:, lo:hi]
    else:
        channels = frame.layout.nb_channels
        part = data[:, lo * channels : hi * channels]
    sliced = av.AudioFrame.from_ndarray(part.copy(), format=frame.format.name, layout=frame.layout.name)
    sliced.sample_rate = frame.sample_rate
    return sliced
