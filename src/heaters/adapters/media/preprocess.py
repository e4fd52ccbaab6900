"""One decode pass of a source video → lossless master, all-intra proxy and shot-detection features.

The source is demuxed and decoded exactly once. Every decoded video frame is
1. turned upright when the source carries a display-matrix rotation (master and proxy both store the
   upright picture, so every artifact shares one geometry and no player has to honour metadata);
2. placed on the proxy's constant-frame-rate grid (`heaters.domain.framegrid`): a CFR source maps one to
   one, a VFR source gets frames repeated or dropped by timestamp like FFmpeg's `fps` filter;
3. handed to the master encoder (FFV1, source pixel format, all pixels) and the proxy encoder (H.264
   all-intra yuv420p). Odd dimensions are made even for the proxy by CROPPING the last column/row:
   cropping invents no pixels and keeps pixel positions identical to the master (padding would add a
   black line to every review frame and export);
4. fed to `FeatureCollector.add` once per proxy grid slot, so feature row n describes proxy frame n.
Audio is decoded once and encoded twice (FLAC into the master, AAC into the proxy).

Each output container is encoded and muxed by its own thread: PyAV releases the GIL inside
`avcodec_send_frame`, so decoding, FFV1 and x264 run concurrently like the stages of `ffmpeg` itself.
Frames are shared read-only between the threads: timestamps are set before a frame is queued and both
encoders use the same time base, so PyAV never rescales (mutates) a shared frame.

Outputs are written under temporary names and renamed at the very end: a failed pass leaves nothing
that looks finished.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.filter

from heaters.adapters.media.analysis import FeatureCollector, save_features
from heaters.adapters.media.inputs import open_media
from heaters.adapters.media.probe import MediaLimits, ProbeInfo, bound_decoder, probe
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.framegrid import (
    RESUME_SETTLE_FRAMES,
    GridMapper,
    GridNotSettled,
    ResumedGrid,
    TimestampGuesser,
    choose_output_rate,
)
from heaters.domain.profiles import DEFAULT_PROXY_CRF, OutputProfile, master_profile, proxy_profile

FEATURES_FILENAME = "features.npy"
_QUEUE_DEPTH = 8  # frames in flight per encoder: enough to smooth stalls, small enough for 4K memory
_PROGRESS_STEP = 0.01
# Decoding less than this share of the duration the header announces means the file was cut short.
# (The demuxers end quietly at a truncated file's end, so the shortfall is how truncation shows.)
TRUNCATION_RATIO = 0.9

Progress = Callable[[float], None]


@dataclass(frozen=True)
class PreprocessResult:
    probe: ProbeInfo
    frame_count: int  # exact: frames in the proxy (= rows of features)
    fps: Fraction  # the proxy's constant frame rate
    width: int  # proxy
    height: int
    master_width: int
    master_height: int
    has_audio: bool
    duplicated_frames: int  # VFR → CFR conversion
    dropped_frames: int
    damaged_packets: int  # skipped while decoding
    master_path: Path
    proxy_path: Path
    features_path: Path
    seconds: dict[str, float]

    @property
    def duration_seconds(self) -> float:
        return self.frame_count / float(self.fps)

    def summary(self) -> dict:
        """A JSON-ready summary (paths as strings, rates as floats and exact "num/den" strings)."""
        probe_info = probe_summary(self.probe)
        return {
            "frame_count": self.frame_count,
            "fps": float(self.fps),
            "fps_exact": str(self.fps),
            "duration_seconds": round(self.duration_seconds, 6),
            "width": self.width,
            "height": self.height,
            "master_width": self.master_width,
            "master_height": self.master_height,
            "has_audio": self.has_audio,
            "duplicated_frames": self.duplicated_frames,
            "dropped_frames": self.dropped_frames,
            "damaged_packets": self.damaged_packets,
            "master": str(self.master_path),
            "proxy": str(self.proxy_path),
            "features": str(self.features_path),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "probe": probe_info,
        }


def probe_summary(info: ProbeInfo) -> dict:
    """The probe as JSON-ready values (rates as exact "num/den" strings)."""
    probe_info = asdict(info)
    for key in ("average_rate", "nominal_rate"):
        value = probe_info[key]
        probe_info[key] = str(value) if value is not None else None
    return probe_info


def preprocess(
    source: Path | str,
    out_dir: Path | str,
    *,
    proxy_crf: int = DEFAULT_PROXY_CRF,
    limits: MediaLimits = MediaLimits(),
    progress: Progress | None = None,
) -> PreprocessResult:
    """Probe `source` and write out_dir/master.mkv, out_dir/proxy.mp4 and out_dir/features.npy in one pass.

    Raises BadInput for a source that can never be processed (see `probe`) or that fails mid-decode.
    """
    source, out_dir = Path(source), Path(out_dir)
    started = time.perf_counter()
    info = probe(source, limits)
    probed = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_free_space(source, info, out_dir)
    master, proxy = master_profile(), proxy_profile(crf=proxy_crf)
    final = {
        "master": out_dir / master.filename,
        "proxy": out_dir / proxy.filename,
        "features": out_dir / FEATURES_FILENAME,
    }
    # Hidden temp names keep the real suffix (numpy appends ".npy" to names without it).
    temp = {key: path.with_name(f".{path.stem}.partial{path.suffix}") for key, path in final.items()}
    try:
        stats = _one_pass(source, info, master, proxy, temp, progress, limits)
        for key in final:
            os.replace(temp[key], final[key])
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
    finished = time.perf_counter()
    if progress:
        progress(1.0)
    return PreprocessResult(
        probe=info,
        frame_count=stats.frame_count,
        fps=stats.rate,
        width=stats.proxy_size[0],
        height=stats.proxy_size[1],
        master_width=stats.master_size[0],
        master_height=stats.master_size[1],
        has_audio=info.has_audio,
        duplicated_frames=stats.duplicated,
        dropped_frames=stats.dropped,
        damaged_packets=stats.decode_errors,
        master_path=final["master"],
        proxy_path=final["proxy"],
        features_path=final["features"],
        seconds={"probe": probed - started, "pass": finished - probed, "total": finished - started},
    )


@dataclass(frozen=True)
class _PassStats:
    frame_count: int
    rate: Fraction
    master_size: tuple[int, int]
    proxy_size: tuple[int, int]
    duplicated: int
    dropped: int
    decode_errors: int


class SeekMissed(HeatersError):
    """A seek landed after the frames a slot range needs (imprecise index): seek further back."""


@dataclass(frozen=True)
class Slots:
    """Grid slots [first, stop) to write (stop None: to the end of the video). A range that does not start
    at 0 decodes from the source keyframe at or before `first - SEEK_MARGIN_FRAMES` and discards the grid
    slots before `first`, so the frames written are exactly those a whole-video pass writes there (proven
    frame by frame by `ResumedGrid`; when it cannot be, `SeekMissed` asks for a seek further back)."""

    first: int = 0
    stop: int | None = None

    def holds(self, slot: int) -> bool:
        return slot >= self.first and (self.stop is None or slot < self.stop)


ALL_SLOTS = Slots()
# Frames given to the proxy encoder before a range's first frame (their packets dropped) so that its rate
# control starts from the state a whole-video pass has there (x264's short-term complexity halves every frame).
WARMUP_FRAMES = 48
# Frames decoded before those so that the resumed grid proves it is in the state a whole-video pass has there
# (`ResumedGrid`); a source it cannot settle in this margin is sought again further back.
SEEK_MARGIN_FRAMES = WARMUP_FRAMES + RESUME_SETTLE_FRAMES


def _one_pass(
    source: Path,
    info: ProbeInfo,
    master: OutputProfile,
    proxy: OutputProfile,
    temp: dict[str, Path],
    progress: Progress | None,
    limits: MediaLimits = MediaLimits(),
    slots: Slots = ALL_SLOTS,
    with_audio: bool = True,
    seek_margin: int | None = SEEK_MARGIN_FRAMES,
) -> _PassStats:
    rate = choose_output_rate(info.average_rate, info.nominal_rate)
    frame_time_base = 1 / rate
    master_size = (info.display_width, info.display_height)
    proxy_size = (master_size[0] - master_size[0] % 2, master_size[1] - master_size[1] % 2)
    grid: GridMapper | ResumedGrid = GridMapper(rate)  # from the first frame: the whole-video pass itself
    features = FeatureCollector()
    # None: no seek, decode from the start (a container whose seeking lands too late)
    warmup = max(0, slots.first - seek_margin) if slots.first and seek_margin is not None else 0

    with open_media(source, source.name) as container:
        video = next(s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic)
        video.thread_type = "AUTO"
        bound_decoder(limits, video)
        audio = container.streams.audio[0] if info.has_audio and with_audio else None
        audio_rate = audio.codec_context.sample_rate if audio else None
        resume = warmup > 0 and bool(video.time_base)  # else decoded from the start, as a whole pass
        if resume:
            seconds = info.start_seconds + float(warmup / rate)
            container.seek(int(seconds / video.time_base), stream=video, backward=True, any_frame=False)

        orient = _orientation_filter(info, frame_time_base)
        crop = _crop_filter(master_size, proxy_size, frame_time_base)
        writers = [
            _EncoderThread(
                temp["master"], master, master_size, _master_pix_fmt(info.pix_fmt), rate, audio, lossless_audio=True
            ),
            _EncoderThread(temp["proxy"], proxy, proxy_size, proxy.video.pix_fmt, rate, audio, crop=crop),
        ]
        for writer in writers:
            writer.start()

        out_index = 0
        written = 0
        decode_errors: list[str] = []
        timestamps = TimestampGuesser()
        previous = None
        next_audio_pts = 0
        reported = 0.0
        wanted = (slots.stop - slots.first) if slots.stop is not None else None
        estimate = max(wanted if wanted is not None else info.frame_count_estimate - slots.first, 1)
        streams = [video] + ([audio] if audio else [])

        def emit(frame, index: int) -> int:
            nonlocal written
            warming = slots.first - WARMUP_FRAMES <= index < slots.first
            if not (warming or slots.holds(index)):
                return index + 1
            # Slots just before the range go to the proxy encoder only, to warm up its rate control; it
            # drops their packets (`first_slot`). Written frames are stamped from 0 within the range.
            targets = writers if index >= slots.first else writers[1:]
            _emit(frame, index - slots.first, frame_time_base, targets, features if index >= slots.first else None)
            written += index >= slots.first
            return index + 1

        try:
            for packet in _demux(container, streams, source):
                for frame in _decode(packet, decode_errors):
                    if packet.stream is audio:
                        # Time zero is the first picture (from the probe: with frame threading the first
                        # picture leaves the decoder after some audio already has). Earlier sound is cut.
                        if frame.time is not None and frame.time + frame.samples / audio_rate <= info.start_seconds:
                            continue
                        next_audio_pts = _retime_audio(frame, info.start_seconds, audio_rate, next_audio_pts)
                        for writer in writers:
                            writer.put(frame)
                        continue
                    _check_frame(source, info, frame, limits)
                    stamp = timestamps.best(frame.pts, frame.dts)
                    seconds = float(stamp * frame.time_base) if stamp is not None and frame.time_base else None
                    if resume and previous is None and not isinstance(grid, ResumedGrid):
                        if seconds is None:
                            raise HeatersError(f"{source.name}: no timestamp after seeking to frame {warmup}")
                        if seconds <= info.start_seconds:  # landed on the first frame: this is the whole pass
                            resume = False
                            grid = GridMapper(rate)
                        else:
                            grid = ResumedGrid(rate, info.start_seconds, seconds, settle_by=slots.first - WARMUP_FRAMES)
                            out_index = grid.first_slot
                        if out_index > slots.first - WARMUP_FRAMES:
                            raise SeekMissed(f"{source.name}: seeking for frame {warmup} landed on frame {out_index}")
                    _check_running_duration(source, info, limits, seconds, out_index / rate)
                    try:
                        repeats, emitted = grid.place(seconds)
                    except GridNotSettled as error:
                        raise SeekMissed(f"{source.name}: seeking for frame {warmup}: {error}") from error
                    if not emitted:
                        continue
                    if orient is not None:
                        frame = orient(frame)
                    for _ in range(repeats):
                        out_index = emit(_duplicate(previous), out_index)
                    out_index = emit(frame, out_index)
                    previous = frame
                    if progress and (written / estimate - reported >= _PROGRESS_STEP or out_index % 64 == 0):
                        reported = max(reported, min(written / estimate, 0.99))
                        progress(reported)  # also every 64 frames: the stage's time limit is checked there
                    if out_index % 64 == 0:
                        _check_output_budget(source, temp, limits)
                    _raise_worker_errors(writers)
                    if slots.stop is not None and out_index >= slots.stop:
                        break
                else:
                    continue
                break
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        for writer in writers:
            writer.finish()
        for writer in writers:
            writer.join()
        _raise_worker_errors(writers)

    if slots.first == 0 and written == 0:
        raise BadInput(f"{source.name} has no decodable video frames")
    decoded_seconds = out_index / rate
    if slots.stop is None and decoded_seconds < TRUNCATION_RATIO * info.duration_seconds - 2 / rate:
        detail = f", {len(decode_errors)} damaged packets" if decode_errors else ""
        raise BadInput(
            f"{source.name} is truncated or corrupt: its header announces {info.duration_seconds:.2f} s of "
            f"video but only {float(decoded_seconds):.2f} s could be decoded{detail}"
        )
    save_features(temp["features"], features.result())
    mapper = grid.mapper if isinstance(grid, ResumedGrid) else grid
    return _PassStats(written, rate, master_size, proxy_size, mapper.duplicated, mapper.dropped, len(decode_errors))


def _check_frame(source: Path, info: ProbeInfo, frame, limits: MediaLimits) -> None:
    """Every decoded picture, not just the header's promise: same size as the first, within the limits."""
    if (frame.width, frame.height) != (info.width, info.height):
        raise BadInput(
            f"{source.name} changes picture size mid-stream (from {info.width}x{info.height} to "
            f"{frame.width}x{frame.height}); re-encode it to one size first"
        )
    if frame.width * frame.height > limits.max_pixels:
        raise BadInput(f"{source.name} has a {frame.width}x{frame.height} picture, over the limit")


def _check_running_duration(
    source: Path, info: ProbeInfo, limits: MediaLimits, seconds: float | None, decoded: Fraction
) -> None:
    """The duration limit against what is decoded so far (a header can under-state the duration)."""
    elapsed = max(float(decoded), (seconds - info.start_seconds) if seconds is not None else 0.0)
    if elapsed > limits.max_duration_seconds:
        raise BadInput(
            f"{source.name} runs past {limits.max_duration_seconds:.0f} s, the duration limit (its header "
            f"announced {info.duration_seconds:.0f} s); set HEATERS_MAX_DURATION_SECONDS to allow longer videos"
        )


def _check_output_budget(source: Path, temp: dict[str, Path], limits: MediaLimits) -> None:
    if limits.max_output_bytes is None:
        return
    written = sum(path.stat().st_size for path in temp.values() if path.exists())
    if written > limits.max_output_bytes:
        raise BadInput(
            f"preprocessing {source.name} wrote over {limits.max_output_bytes:,} bytes, the output budget "
            "(HEATERS_MAX_OUTPUT_BYTES)"
        )


class NotEnoughSpace(HeatersError):
    """The scratch disk cannot hold the outputs now; a retry after space is freed may succeed."""


# FFV1 keeps every pixel: a master is about half the raw picture size on typical footage; the all-intra
# proxy a tenth. The estimate only has to be right within a factor of two or so.
_MASTER_RAW_RATIO = 0.5
_PROXY_RAW_RATIO = 0.1


def estimated_output_bytes(info: ProbeInfo) -> int:
    frames = info.frame_count_estimate or round(info.duration_seconds * float(info.average_rate or 25))
    raw = info.width * info.height * 1.5 * frames
    return int(raw * (_MASTER_RAW_RATIO + _PROXY_RAW_RATIO))


def _check_free_space(source: Path, info: ProbeInfo, out_dir: Path, slots: Slots = ALL_SLOTS) -> None:
    needed = estimated_output_bytes(info)
    if slots != ALL_SLOTS:  # a chunk writes its share of the frames
        rate = choose_output_rate(info.average_rate, info.nominal_rate)
        total = max(1, round(info.duration_seconds * rate))
        stop = total if slots.stop is None else min(slots.stop, total)
        needed = needed * max(0, stop - slots.first) // total
    free = shutil.disk_usage(out_dir).free
    if needed > free:
        raise NotEnoughSpace(
            f"preprocessing {source.name} needs about {needed / 1e9:.1f} GB of scratch space for its master and "
            f"proxy; only {free / 1e9:.1f} GB are free in {out_dir.parent}"
        )


def _demux(container, streams, source: Path):
    """Packets of the wanted streams; a read error (a file cut short mid-packet) is a bad input."""
    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as error:
            raise BadInput(f"{source.name} is truncated or corrupt ({error})") from error
        yield packet


def _decode(packet, errors: list[str]):
    """Decode one packet; a damaged packet is skipped and counted, as the `ffmpeg` CLI does (real files
    often carry a few broken audio packets). Severe damage shows up as missing frames instead."""
    try:
        return packet.decode()
    except av.error.FFmpegError as error:
        errors.append(f"{packet.stream.type} packet at pts {packet.pts}: {error}")
        return []


def _emit(frame, index: int, time_base: Fraction, writers, features: FeatureCollector | None) -> int:
    frame.pts = index
    frame.time_base = time_base
    # Decoded frames keep their source I/P/B type, which libx264 takes as a request; clear it so the profile
    # alone decides (as the ffmpeg CLI does).
    frame.pict_type = av.video.frame.PictureType.NONE
    for writer in writers:
        writer.put(frame)
    if features is not None:
        features.add(frame)
    return index + 1


def _duplicate(frame):
    """A new frame object sharing the picture buffers (frames in flight must not be mutated)."""
    graph = av.filter.Graph()
    source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format, time_base=frame.time_base)
    sink = graph.add("buffersink")
    graph.link_nodes(source, sink)
    graph.configure()
    graph.vpush(frame)
    return graph.vpull()


def _retime_audio(frame, video_start: float, sample_rate: int, next_pts: int) -> int:
    """Put an audio frame on the outputs' 1/sample_rate time base, relative to the first picture."""
    if frame.pts is not None and frame.time_base:
        pts = round((frame.pts * frame.time_base - Fraction(video_start)) * sample_rate)
    else:
        pts = next_pts
    frame.pts = pts
    frame.time_base = Fraction(1, sample_rate)
    return pts + frame.samples


class _FrameFilter:
    """A fixed FFmpeg filter chain applied frame by frame (each input frame yields one output frame)."""

    def __init__(self, filters: list[tuple[str, str]], width: int, height: int, pix_fmt: str, time_base) -> None:
        self.graph = av.filter.Graph()
        nodes = [self.graph.add_buffer(width=width, height=height, format=pix_fmt, time_base=time_base)]
        nodes += [self.graph.add(name, args) for name, args in filters]
        nodes.append(self.graph.add("buffersink"))
        self.graph.link_nodes(*nodes)
        self.graph.configure()
        self.lock = threading.Lock()

    def __call__(self, frame):
        with self.lock:
            self.graph.vpush(frame)
            return self.graph.vpull()


ROTATION_FILTERS = {
    90: [("transpose", "clock")],
    180: [("hflip", ""), ("vflip", "")],
    270: [("transpose", "cclock")],
}


def _orientation_filter(info: ProbeInfo, time_base) -> _FrameFilter | None:
    if not info.rotation:
        return None
    return _FrameFilter(ROTATION_FILTERS[info.rotation], info.width, info.height, info.pix_fmt, time_base)


def _crop_filter(master_size, proxy_size, time_base) -> Callable | None:
    if master_size == proxy_size:
        return None
    width, height = proxy_size
    # Built lazily in the proxy thread, on the first frame, because the pixel format is known there.
    return lambda pix_fmt: _FrameFilter(
        [("crop", f"{width}:{height}:0:0")], master_size[0], master_size[1], pix_fmt, time_base
    )


_RGB_LIKE = {"rgb24", "bgr24", "rgb0", "0rgb", "0bgr", "argb", "rgba", "abgr", "pal8", "rgb8", "bgr8"}


def _master_pix_fmt(source_pix_fmt: str) -> str:
    """Keep the source pixel format when FFV1 can store it (bit-exact); otherwise the nearest format
    FFV1 stores without loss of precision for that family."""
    supported = {f.name for f in av.codec.Codec("ffv1", "w").video_formats}
    if source_pix_fmt in supported:
        return source_pix_fmt
    if source_pix_fmt in _RGB_LIKE:
        return "bgra" if "a" in source_pix_fmt.replace("pal", "") else "bgr0"
    if source_pix_fmt.startswith("yuvj"):
        return "yuv" + source_pix_fmt[4:]
    return "yuv444p16le" if any(depth in source_pix_fmt for depth in ("10", "12", "16")) else "yuv444p"


class _EncoderThread(threading.Thread):
    """Owns one output container: encodes the frames it is given and muxes the packets."""

    def __init__(
        self,
        path: Path,
        profile: OutputProfile,
        size: tuple[int, int] | None,
        pix_fmt: str | None,
        rate: Fraction,
        audio_source,
        *,
        crop: Callable | None = None,
        lossless_audio: bool = False,
    ) -> None:
        super().__init__(name=f"encode-{profile.name}", daemon=True)
        self.queue: queue.Queue = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.error: BaseException | None = None
        self._aborted = threading.Event()
        self._crop_factory = crop
        self._crop: _FrameFilter | None = None
        self.container = av.open(str(path), mode="w", format=profile.container, options=profile.container_option_dict())
        try:
            self.video = None  # an audio-only output (chunked preprocessing encodes the audio on its own)
            if size is not None:
                self.video = self.container.add_stream(profile.video.codec, rate=rate)
                self.video.width, self.video.height = size
                self.video.pix_fmt = pix_fmt
                self.video.codec_context.time_base = 1 / rate
                self.video.options = _openable_options(profile.video.codec, size, pix_fmt, profile.video.option_dict())
            self.audio = None
            if audio_source is not None:
                source_ctx = audio_source.codec_context
                self.audio = self.container.add_stream(profile.audio.codec, rate=source_ctx.sample_rate)
                self.audio.layout = source_ctx.layout
                if lossless_audio:
                    self.audio.format = (
                        "s16"
                        if source_ctx.format.bytes <= 2 and not source_ctx.format.name.startswith("flt")
                        else "s32"
                    )
                if profile.audio.bit_rate:
                    self.audio.bit_rate = profile.audio.bit_rate
                self.audio.options = profile.audio.option_dict()
                self.audio.codec_context.time_base = Fraction(1, source_ctx.sample_rate)
        except BaseException:
            self.container.close()
            raise

    def put(self, frame) -> None:
        while True:
            try:
                self.queue.put(frame, timeout=0.5)
                return
            except queue.Full:
                if self.error is not None or not self.is_alive():
                    return  # the error is raised by the caller's next check

    def finish(self) -> None:
        self.put(None)

    def abort(self) -> None:
        self._aborted.set()
        self.join()

    def run(self) -> None:
        try:
            while not self._aborted.is_set():
                try:
                    item = self.queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                if item is None:
                    self._flush()
                    break
                if isinstance(item, av.AudioFrame):
                    self.container.mux(self.audio.encode(item))
                else:
                    self._mux_video(self.video.encode(self._cropped(item)))
        except BaseException as error:  # reported to the decoding thread
            self.error = error
        finally:
            self.container.close()

    def _cropped(self, frame):
        if self._crop_factory is None:
            return frame
        if self._crop is None:
            self._crop = self._crop_factory(frame.format.name)
        cropped = self._crop(frame)
        cropped.pict_type = frame.pict_type
        return cropped

    def _mux_video(self, packets) -> None:
        # Negative timestamps are warm-up frames before a chunk's range (see WARMUP_FRAMES): not written.
        self.container.mux([p for p in packets if p.pts is None or p.pts >= 0])

    def _flush(self) -> None:
        if self.video is not None:
            self._mux_video(self.video.encode(None))
        if self.audio is not None:
            self.container.mux(self.audio.encode(None))


# FFV1 accepts a slice count only if it tiles the picture (which depends on width, height and chroma
# subsampling in ways the encoder checks at open time); these are tried after the profile's own count.
_FALLBACK_SLICES = ("24", "12", "9", "6", "4", "1", None)


def _openable_options(codec: str, size: tuple[int, int], pix_fmt: str, options: dict[str, str]) -> dict[str, str]:
    """The profile's options, with the slice count lowered if the encoder refuses it for this size."""
    if "slices" not in options:
        return options
    for slices in (options["slices"], *_FALLBACK_SLICES):
        candidate = {k: v for k, v in options.items() if k != "slices"} | ({"slices": slices} if slices else {})
        probe_ctx = av.CodecContext.create(codec, "w")
        probe_ctx.width, probe_ctx.height, probe_ctx.pix_fmt = size[0], size[1], pix_fmt
        probe_ctx.time_base = Fraction(1, 25)
        probe_ctx.options = candidate
        try:
            probe_ctx.open()
        except av.error.FFmpegError:
            continue
        return candidate
    return options


def _raise_worker_errors(writers) -> None:
    for writer in writers:
        if writer.error is not None:
            raise writer.error
