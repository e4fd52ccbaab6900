"""Chunked preprocessing: one chunk of the frame grid at a time, the audio on its own, then assembly.

A chunk is grid slots [first, stop) (`heaters.domain.chunks`). `preprocess_chunk` runs the same one decode
pass as `preprocess.preprocess` (same encoders, same settings, same frame placement) over that range only,
seeking to a source keyframe shortly before it, and writes three segments: master (FFV1, video only),
proxy (all-intra H.264, video only) and features. Both codecs are intra-only, so a segment boundary is a
valid cut: `assemble` stream-copies the segments' packets one after another, with the audio encoded once
over the whole video (`preprocess_audio`), into the same master.mkv / proxy.mp4 / features.npy a one-pass
preprocess writes. Nothing is decoded or encoded again during assembly.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from heaters.adapters.media.analysis import load_features
from heaters.adapters.media.inputs import as_source, open_media
from heaters.adapters.media.preprocess import (
    FEATURES_FILENAME,
    SEEK_MARGIN_FRAMES,
    Progress,
    SeekMissed,
    Slots,
    _check_free_space,
    _decode,
    _demux,
    _EncoderThread,
    _one_pass,
    _retime_audio,
)
from heaters.adapters.media.probe import MediaLimits, ProbeInfo
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.framegrid import choose_output_rate
from heaters.domain.profiles import DEFAULT_PROXY_CRF, master_profile, proxy_profile
from heaters.domain.shots import FEATURE_SIZE

# Frames before a chunk to seek to, tried in turn; None decodes from the start of the file.
SEEK_MARGINS = (SEEK_MARGIN_FRAMES, 10 * SEEK_MARGIN_FRAMES, None)
MASTER_SEGMENT = "master.mkv"
PROXY_SEGMENT = "proxy.mp4"
FEATURES_SEGMENT = FEATURES_FILENAME
MASTER_AUDIO = "audio.mka"
PROXY_AUDIO = "audio.m4a"


@dataclass(frozen=True)
class Segment:
    """A chunk's written frames: grid slots [first, first + frame_count). The master and proxy are local
    paths or URLs (read in place from the object store); features are whatever `assemble`'s
    `read_features` takes (a local path by default)."""

    first: int
    frame_count: int
    master_path: Path | str
    proxy_path: Path | str
    features_path: Path | str


def preprocess_chunk(
    source: Path | str,
    info: ProbeInfo,
    out_dir: Path | str,
    slots: Slots,
    *,
    proxy_crf: int = DEFAULT_PROXY_CRF,
    limits: MediaLimits = MediaLimits(),
    progress: Progress | None = None,
) -> Segment:
    """Write out_dir/{master.mkv, proxy.mp4, features.npy} for grid slots `slots` (video only).

    The last chunk (`slots.stop` None) runs to the end of the video; any chunk may come out shorter than
    asked when the video ends inside it (a duration estimate is only an estimate): `frame_count` says."""
    source, out_dir = as_source(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = {
        "master": out_dir / MASTER_SEGMENT,
        "proxy": out_dir / PROXY_SEGMENT,
        "features": out_dir / FEATURES_SEGMENT,
    }
    temp = {key: path.with_name(f".{path.stem}.partial{path.suffix}") for key, path in final.items()}
    _check_free_space(source, info, out_dir, slots)
    try:
        for margin in SEEK_MARGINS:  # further back when a container's index lands too late
            try:
                stats = _one_pass(
                    source,
                    info,
                    master_profile(),
                    proxy_profile(crf=proxy_crf),
                    temp,
                    progress,
                    limits,
                    slots=slots,
                    with_audio=False,
                    seek_margin=margin,
                )
                break
            except SeekMissed:
                if margin is None:
                    raise
        for key in final:
            os.replace(temp[key], final[key])
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
    return Segment(slots.first, stats.frame_count, final["master"], final["proxy"], final["features"])


def preprocess_audio(source: Path | str, info: ProbeInfo, out_dir: Path | str) -> tuple[Path, Path] | None:
    """Decode the source's audio once and encode it as the master's (FLAC) and the proxy's (AAC) audio,
    exactly as the one-pass code does (same retiming, same encoders). None when the source has no audio."""
    if not info.has_audio:
        return None
    source, out_dir = as_source(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = [out_dir / MASTER_AUDIO, out_dir / PROXY_AUDIO]
    temp = [path.with_name(f".{path.stem}.partial{path.suffix}") for path in final]
    rate = choose_output_rate(info.average_rate, info.nominal_rate)
    master, proxy = master_profile(), proxy_profile()
    try:
        with open_media(source, source.name) as container:
            audio = container.streams.audio[0]
            sample_rate = audio.codec_context.sample_rate
            writers = [
                _EncoderThread(temp[0], _audio_only(master, "matroska"), None, None, rate, audio, lossless_audio=True),
                _EncoderThread(temp[1], _audio_only(proxy, "mp4"), None, None, rate, audio),
            ]
            for writer in writers:
                writer.start()
            try:
                next_pts = 0
                errors: list[str] = []
                for packet in _demux(container, [audio], source):
                    for frame in _decode(packet, errors):
                        if frame.time is not None and frame.time + frame.samples / sample_rate <= info.start_seconds:
                            continue
                        next_pts = _retime_audio(frame, info.start_seconds, sample_rate, next_pts)
                        for writer in writers:
                            writer.put(frame)
            except BaseException:
                for writer in writers:
                    writer.abort()
                raise
            for writer in writers:
                writer.finish()
            for writer in writers:
                writer.join()
            for writer in writers:
                if writer.error is not None:
                    raise writer.error
        for src, dst in zip(temp, final, strict=True):
            os.replace(src, dst)
    finally:
        for path in temp:
            path.unlink(missing_ok=True)
    return final[0], final[1]


def _audio_only(profile, container: str):
    from dataclasses import replace

    return replace(profile, container=container)


@dataclass(frozen=True)
class Assembled:
    frame_count: int
    master_path: Path
    proxy_path: Path
    features_path: Path


def assemble(
    segments: Sequence[Segment],
    audio: tuple[Path | str, Path | str] | None,
    out_dir: Path | str,
    rate: Fraction,
    *,
    read_features: Callable[[Path | str], np.ndarray] = load_features,
    max_output_bytes: int | None = None,
) -> Assembled:
    """`assemble_into` out_dir/{master.mkv, proxy.mp4, features.npy} (temporary names, renamed at the end)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = {
        "master": out_dir / MASTER_SEGMENT,
        "proxy": out_dir / PROXY_SEGMENT,
        "features": out_dir / FEATURES_SEGMENT,
    }
    temp = {key: path.with_name(f".{path.stem}.partial{path.suffix}") for key, path in final.items()}
    try:
        frames = assemble_into(
            segments, audio, temp, rate, read_features=read_features, max_output_bytes=max_output_bytes
        )
        for key in final:
            os.replace(temp[key], final[key])
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
    return Assembled(frames, final["master"], final["proxy"], final["features"])


def assemble_into(
    segments: Sequence[Segment],
    audio: tuple[Path | str, Path | str] | None,
    out: dict[str, Path | BinaryIO],
    rate: Fraction,
    *,
    read_features: Callable[[Path | str], np.ndarray] = load_features,
    max_output_bytes: int | None = None,
) -> int:
    """Stream-copy the segments (in order, contiguous) and the audio into out["master"], out["proxy"] and
    out["features"] (local paths, or seekable file objects such as a streaming upload); returns the frame
    count. Memory stays bounded: packets are interleaved by time as they are read, features are written
    one segment at a time. `max_output_bytes` is the video's output budget (each chunk was held to it on
    its own; here the whole): BadInput as soon as the copied bytes pass it."""
    segments = [s for s in sorted(segments, key=lambda s: s.first) if s.frame_count > 0]
    expected = 0
    for segment in segments:
        if segment.first != expected:
            raise HeatersError(f"chunk segments are not contiguous: frame {expected} expected, {segment.first} found")
        expected += segment.frame_count
    if not segments:
        raise HeatersError("no chunk segment holds any frame")
    master, proxy = master_profile(), proxy_profile()
    budget = _Budget(max_output_bytes)
    _concat(
        [(s.first, s.master_path) for s in segments],
        audio[0] if audio else None,
        out["master"],
        master.container,
        master.container_option_dict(),
        rate,
        budget,
    )
    _concat(
        [(s.first, s.proxy_path) for s in segments],
        audio[1] if audio else None,
        out["proxy"],
        proxy.container,
        proxy.container_option_dict(),
        rate,
        budget,
    )
    budget.spend(expected * FEATURE_SIZE)
    _append_features([s.features_path for s in segments], expected, out["features"], read_features)
    return expected


class _Budget:
    """Bytes copied so far against the video's output budget (None: no budget)."""

    def __init__(self, limit: int | None):
        self.limit, self.spent = limit, 0

    def spend(self, count: int) -> None:
        self.spent += count
        if self.limit is not None and self.spent > self.limit:
            raise BadInput(
                f"the assembled video passes {self.limit:,} bytes, the output budget (HEATERS_MAX_OUTPUT_BYTES)"
            )


def _append_features(paths: Sequence[Path | str], frame_count: int, out: Path | BinaryIO, read) -> None:
    """One .npy of (frame_count, FEATURE_SIZE) uint8 rows, written front to back (no seek, no memory map)."""
    with ExitStack() as stack:
        stream = stack.enter_context(open(out, "wb")) if isinstance(out, Path) else out
        header = {"descr": "|u1", "fortran_order": False, "shape": (frame_count, FEATURE_SIZE)}
        np.lib.format.write_array_header_1_0(stream, header)
        row = 0
        for path in paths:
            part = np.ascontiguousarray(read(path), dtype=np.uint8)
            if part.ndim != 2 or part.shape[1] != FEATURE_SIZE or row + len(part) > frame_count:
                raise HeatersError(f"feature segments hold more rows than {frame_count} frames, or bad rows")
            stream.write(part.tobytes())
            row += len(part)
    if row != frame_count:
        raise HeatersError(f"feature segments hold {row} rows for {frame_count} frames")


def _video_packets(
    segments: Sequence[tuple[int, Path | str]], rate: Fraction
) -> Iterator[tuple[Fraction, int, av.Packet]]:
    """(time in seconds, 0, packet) of every segment's video, re-stamped on the whole video's grid."""
    for first, path in segments:
        with open_media(path, "chunk segment", derived=True) as container:
            stream = container.streams.video[0]
            base = stream.time_base
            start = None
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                if start is None:
                    start = packet.pts  # an MP4 may start at a small offset (edit list)
                slot = first + round((packet.pts - start) * base * rate)
                packet.pts = packet.dts = slot
                packet.duration = 1  # one frame, on the grid's time base set next
                packet.time_base = 1 / rate
                yield Fraction(slot) / rate, 0, packet


def _audio_packets(path: Path | str) -> Iterator[tuple[Fraction, int, av.Packet]]:
    with open_media(path, "audio", derived=True) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            yield packet.pts * stream.time_base, 1, packet


def _concat(
    segments: Sequence[tuple[int, Path | str]],
    audio: Path | str | None,
    out: Path | BinaryIO,
    container_format: str,
    options: dict[str, str],
    rate: Fraction,
    budget: _Budget,
) -> None:
    if isinstance(out, Path):
        target, buffer_size = str(out), 32768
    else:
        # `+faststart` moves the MP4 index to the front by reading the whole file back, which a streaming
        # upload cannot give: the index stays at the end (FFmpeg, the proxy's only reader, seeks to it).
        target, buffer_size = out, 1024 * 1024
        options = {k: v for k, v in options.items() if not (k == "movflags" and "faststart" in v)}
    with open_media(segments[0][1], "chunk segment", derived=True) as first:
        template_video = first.streams.video[0]
        with av.open(target, "w", format=container_format, options=options, buffer_size=buffer_size) as output:
            vout = output.add_stream_from_template(template_video)
            vout.time_base = 1 / rate if container_format == "mp4" else vout.time_base
            aout = None
            audio_container = None
            if audio is not None:
                audio_container = open_media(audio, "audio", derived=True)
                aout = output.add_stream_from_template(audio_container.streams.audio[0])
            try:
                streams = [vout, aout]
                packets = _video_packets(segments, rate)
                if audio is not None:
                    packets = heapq.merge(packets, _audio_packets(audio), key=lambda item: (item[0], item[1]))
                for _, kind, packet in packets:
                    budget.spend(packet.size)
                    packet.stream = streams[kind]
                    output.mux(packet)
            finally:
                if audio_container is not None:
                    audio_container.close()


def cut_from_segments(
    segments: Sequence[tuple[int, Path | str]], start_frame: int, end_frame: int, out_path: Path, rate: Fraction
) -> Path:
    """Frames [start_frame, end_frame) of the video, by stream copy from the proxy segments (first frame,
    local path or URL) that hold them: clip playback while the rest of the video is still preprocessed.
    Video only (the audio is encoded once for the whole video, and joins the assembled proxy)."""
    from heaters.adapters.files import atomic_file

    covering = [s for s in segments if s[0] < end_frame]
    with atomic_file(Path(out_path)) as tmp_path:
        with open_media(covering[0][1], "chunk segment", derived=True) as first:
            with av.open(str(tmp_path), "w", format="mp4", options={"movflags": "+faststart"}) as output:
                vout = output.add_stream_from_template(first.streams.video[0])
                copied = 0
                for _, _, packet in _video_packets(covering, rate):
                    slot = packet.pts
                    if slot < start_frame:
                        continue
                    if slot >= end_frame:
                        break
                    packet.pts = packet.dts = slot - start_frame
                    packet.stream = vout
                    output.mux(packet)
                    copied += 1
        if copied != end_frame - start_frame:
            raise HeatersError(f"the proxy segments hold {copied} of frames [{start_frame}, {end_frame})")
    return Path(out_path)
