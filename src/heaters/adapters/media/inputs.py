"""What every frame-addressing reader (clip stream copy, master re-encode, keyframes, timeline strips) shares:
opening stored media — a local file, a presigned URL read by HTTP byte ranges, or bytes in memory — the video
stream on its frame grid, and the frame-range check."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from heaters.domain.errors import BadInput

# FFmpeg http options: reuse one connection for the seeks (multiple_requests); ask for bounded byte
# ranges (request_size) rather than open-ended `bytes=N-`, so opening or seeking never leaves the rest
# of a large file streaming in for nothing; and bound a stalled read (microseconds).
HTTP_OPTIONS = {
    "multiple_requests": "1",
    "seekable": "1",
    "request_size": str(2 * 1024 * 1024),
    "rw_timeout": "15000000",
}


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def open_input(source: str, what: str) -> av.container.InputContainer:
    """Open `source` (path or URL) for demuxing; `what` names it in errors ("proxy", "master")."""
    try:
        if is_url(source):
            return av.open(source, options=HTTP_OPTIONS)
        if not Path(source).is_file():
            raise BadInput(f"{what} not found: {source}")
        return av.open(source)
    except av.FFmpegError as exc:
        where = source.split("?", 1)[0]  # never echo a presigned URL's signature
        raise BadInput(f"cannot open {what} {where}: {exc}") from exc


def check_frame_range(start_frame: int, end_frame: int) -> None:
    for name, value in (("start frame", start_frame), ("end frame", end_frame)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadInput(f"{name} must be a non-negative integer, got {value!r}")
    if start_frame >= end_frame:
        raise BadInput(f"clip frame range is empty: start {start_frame} must be before end {end_frame}")


@dataclass(frozen=True)
class VideoInput:
    """An opened input's video stream on its frame grid: what every frame-addressing reader needs."""

    container: av.container.InputContainer
    video: av.video.stream.VideoStream
    audio: av.audio.stream.AudioStream | None
    fps: Fraction
    time_base: Fraction
    first_pts: int
    frames: int  # from the container's index (MP4 sample table); 0 when it does not say

    def frame_index(self, pts: int) -> int:
        """The grid frame a timestamp falls on."""
        return round((pts - self.first_pts) * self.time_base * self.fps)

    def pts_of(self, frame: int) -> int:
        return self.first_pts + round(Fraction(frame) / self.fps / self.time_base)

    def seek_to_frame(self, frame: int) -> None:
        """Seek backward to the keyframe at or before `frame` (on an all-intra input: the frame itself)."""
        self.container.seek(self.pts_of(frame), stream=self.video, backward=True)


@contextmanager
def open_video(source: str | Path | bytes, what: str) -> Iterator[VideoInput]:
    """Open `source` (a path, a byte-range URL, or MP4 bytes in memory) and check it has a video stream with a
    frame rate: the one prelude of the clip cutter, the re-encoder, keyframes and timeline strips."""
    container = _open_any(source, what)
    with container:
        if not container.streams.video:
            raise BadInput(f"{what} has no video stream")
        video = container.streams.video[0]
        rate = video.average_rate or video.guessed_rate
        if not rate:
            raise BadInput(f"{what} has no frame rate; cannot address frames")
        audio = container.streams.audio[0] if container.streams.audio else None
        yield VideoInput(
            container, video, audio, Fraction(rate), Fraction(video.time_base), video.start_time or 0, video.frames
        )


def _open_any(source: str | Path | bytes, what: str) -> av.container.InputContainer:
    if isinstance(source, bytes | bytearray):
        try:
            return av.open(io.BytesIO(source))
        except av.FFmpegError as exc:
            raise BadInput(f"cannot open {what}: {exc}") from exc
    return open_input(str(source), what)
