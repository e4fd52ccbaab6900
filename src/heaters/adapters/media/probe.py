"""Probe a source file with PyAV: what it is, and whether we accept it.

`probe()` opens the file, reads stream metadata and decodes the first video frame (the only reliable way
to know a file really decodes, and where FFmpeg exposes the display-matrix rotation). Anything we can
never process raises `BadInput` with a message a user can act on. The exact frame count and the exact
VFR verdict come from the one preprocessing pass; here they are estimates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from heaters.adapters.media.inputs import as_source, open_media
from heaters.domain.errors import BadInput
from heaters.domain.limits import MediaLimits


@dataclass(frozen=True)
class ProbeInfo:
    container: str
    duration_seconds: float
    average_rate: Fraction | None
    nominal_rate: Fraction | None  # r_frame_rate: the lowest rate that represents every timestamp
    frame_count_estimate: int
    width: int  # coded, before rotation
    height: int
    rotation: int  # clockwise degrees to apply for display: 0, 90, 180 or 270
    pix_fmt: str
    video_codec: str
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None
    likely_vfr: bool  # from the header rates; the pass gives the exact answer
    start_seconds: float  # timestamp of the first picture: time zero of every output

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


def clockwise_rotation(frame_rotation: float) -> int:
    """FFmpeg reports the display matrix as counter-clockwise degrees in [-180, 180]; we apply
    clockwise quarter turns (odd angles are snapped to the nearest quarter turn)."""
    return int(round(-frame_rotation / 90.0)) % 4 * 90


def probe(path: Path | str, limits: MediaLimits = MediaLimits()) -> ProbeInfo:
    path = as_source(path)
    try:
        size = os.stat(path).st_size if isinstance(path, Path) else path.size
    except OSError as error:
        raise BadInput(f"cannot read {path.name}: {error.strerror}") from error
    if size == 0:
        raise BadInput(f"{path.name} is empty (zero bytes)")
    container = open_media(path, path.name)
    with container:
        return _probe_open(path, container, limits)


def _probe_open(path: Path, container, limits: MediaLimits) -> ProbeInfo:
    videos = [s for s in container.streams.video if not _is_cover_art(s)]
    audios = list(container.streams.audio)
    if not videos:
        if audios:
            raise BadInput(f"{path.name} has audio but no video stream (audio-only files are not videos)")
        raise BadInput(f"{path.name} contains no video stream")
    video = videos[0]
    audio = audios[0] if audios else None
    limits.check_header_size(path.name, video.codec_context.width, video.codec_context.height)
    bound_decoder(limits, video)
    first = _first_frame(path, container, video)
    width, height = first.width, first.height
    if width <= 0 or height <= 0:
        raise BadInput(f"{path.name} has invalid dimensions {width}x{height}")
    rotation = clockwise_rotation(first.rotation)
    display_w, display_h = (height, width) if rotation in (90, 270) else (width, height)
    if display_w > limits.max_width or display_h > limits.max_height:
        raise BadInput(
            f"{path.name} is {display_w}x{display_h}, over the limit of {limits.max_width}x{limits.max_height}"
        )
    average = _fraction(video.average_rate)
    nominal = _fraction(video.guessed_rate)
    duration = _duration_seconds(container, video)
    estimate = video.frames or (round(duration * float(average)) if duration and average else 0)
    if duration is None:
        duration = estimate / float(average) if estimate and average else 0.0
    if duration > limits.max_duration_seconds:
        raise BadInput(f"{path.name} lasts {duration:.0f} s, over the limit of {limits.max_duration_seconds:.0f} s")
    likely_vfr = bool(average and nominal and abs(average - nominal) / nominal > Fraction(1, 100))
    return ProbeInfo(
        container=container.format.name,
        duration_seconds=float(duration),
        average_rate=average,
        nominal_rate=nominal,
        frame_count_estimate=int(estimate),
        width=width,
        height=height,
        rotation=rotation,
        pix_fmt=first.format.name,
        video_codec=video.codec_context.name,
        has_audio=audio is not None,
        audio_codec=audio.codec_context.name if audio else None,
        audio_sample_rate=audio.codec_context.sample_rate if audio else None,
        audio_channels=audio.codec_context.channels if audio else None,
        likely_vfr=likely_vfr,
        start_seconds=_frame_seconds(first),
    )


def _first_frame(path: Path, container, video) -> av.VideoFrame:
    try:
        for frame in container.decode(video):
            return frame
    except av.error.FFmpegError as error:
        raise BadInput(
            f"{path.name} could not be decoded ({_reason(error)}); it may be truncated or corrupt"
        ) from error
    raise BadInput(f"{path.name} has no decodable video frames (zero-length, truncated or corrupt)")


def _frame_seconds(frame) -> float:
    stamp = frame.pts if frame.pts is not None else frame.dts
    return float(stamp * frame.time_base) if stamp is not None and frame.time_base else 0.0


def _duration_seconds(container, video) -> float | None:
    if video.duration is not None and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _is_cover_art(stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _fraction(rate) -> Fraction | None:
    if not rate:
        return None
    return Fraction(rate)


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def bound_decoder(limits: MediaLimits, stream) -> None:
    """Make the decoder itself refuse any picture over the pixel limit, whatever the header said (FFmpeg checks
    `max_pixels` before allocating a frame)."""
    stream.codec_context.options = {**stream.codec_context.options, "max_pixels": str(limits.max_pixels)}
