"""How media is opened (the one place), and what every frame-addressing reader (clip stream copy, master
re-encode, keyframes, timeline strips) shares: the video stream on its frame grid, and the frame-range check.

Every input is opened with an explicit demuxer allow-list and protocol allow-list (`open_media`). FFmpeg
otherwise picks the demuxer from the file's content, and some demuxers read other files or URLs that the
file names: HLS playlists (`.m3u`/`.m3u8`), `concat`/`ffconcat` lists, image sequences. A user-supplied
file is therefore read only by a video container demuxer, from the local file system only. Our own derived
files (proxy, master, exports) may also come from the object store through presigned http(s) URLs, or from
memory; those are read by the MP4/Matroska demuxers only.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av

from heaters.domain.errors import BadInput
from heaters.domain.sources import not_a_video_reason

# FFmpeg http options: reuse one connection for the seeks (multiple_requests); ask for bounded byte
# ranges (request_size) rather than open-ended `bytes=N-`, so opening or seeking never leaves the rest
# of a large file streaming in for nothing; and bound a stalled read (microseconds).
HTTP_OPTIONS = {
    "multiple_requests": "1",
    "seekable": "1",
    "request_size": str(2 * 1024 * 1024),
    "rw_timeout": "15000000",
}


# Demuxers (FFmpeg names) that read one self-contained video file. Deliberately absent: hls, dash, concat,
# ffconcat, image2 and the *_pipe image demuxers, lavfi, and anything else that opens further inputs.
SOURCE_DEMUXERS = frozenset(
    {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "mpegvideo"}
    | {"asf", "ogg", "mxf", "nut", "yuv4mpegpipe", "h264", "hevc", "m4v", "dv", "ivf", "mjpeg_2000"}
)
# What we write ourselves: the proxy and exports (MP4) and the master (Matroska).
DERIVED_DEMUXERS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"})
LOCAL_PROTOCOLS = "file"
_READ_BUFFER = 256 * 1024  # FFmpeg's read size from a file object (a StoredOriginal); files ignore it
REMOTE_PROTOCOLS = "file,http,https,tcp,tls"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@dataclass(frozen=True)
class StoredOriginal:
    """A video's original in our object store, read by byte ranges through `open()` (a seekable binary
    file object): a chunk of a long video reads its minute of the original and never downloads the whole
    file. FFmpeg is never handed a URL for a user-supplied file: it gets bytes from us, and any nested open a
    demuxer tries stays limited to local files, exactly as for a local original."""

    name: str
    size: int
    open: Callable[[], BinaryIO]


def source_name(source: str | Path) -> str:
    """The file name of a path or URL, for messages (a presigned URL's signature is never echoed)."""
    return Path(str(source).split("?", 1)[0]).name


def as_source(source: str | Path | StoredOriginal) -> Path | StoredOriginal:
    """A source as the media code takes it: a local Path, or a StoredOriginal kept as it is."""
    return source if isinstance(source, StoredOriginal) else Path(source)


def open_media(
    source: str | Path,
    what: str = "file",
    *,
    derived: bool = False,
    allow_remote: bool | None = None,
    options: dict[str, str] | None = None,
) -> av.container.InputContainer:
    """Open `source` for demuxing with the demuxer and protocol allow-lists.

    User-supplied sources (`derived=False`) are read by a video container demuxer; our own derived files
    (`derived=True`: proxy, master, exports) must be MP4 or Matroska. http(s) URLs (presigned URLs of our
    object store) are accepted for derived files, and for sources only with `allow_remote=True` (an original
    already in our store); the protocol allow-list then admits http/https/tcp/tls and nothing else.
    BadInput names what was refused; FFmpeg errors become BadInput too.
    """
    if isinstance(source, StoredOriginal):
        stream = source.open()
        head = stream.read(512)
        stream.seek(0)
        source, remote, name = stream, False, source.name
    else:
        source = str(source)
        remote = is_url(source)
        name = source_name(source)
        head = None if remote else _head(source, what)
    if remote and not (derived if allow_remote is None else allow_remote):
        raise BadInput(f"{what} {name}: only local files are opened as sources")
    if head is not None:
        reason = not_a_video_reason(head)
        if reason:
            raise BadInput(f"{name} is {reason}")
    allowed = DERIVED_DEMUXERS if derived else SOURCE_DEMUXERS
    container_options = {
        "protocol_whitelist": REMOTE_PROTOCOLS if remote else LOCAL_PROTOCOLS,
        "format_whitelist": ",".join(sorted(allowed)),
    }
    if remote:
        container_options |= HTTP_OPTIONS
    try:
        container = av.open(
            source, mode="r", options=options or {}, container_options=container_options, buffer_size=_READ_BUFFER
        )
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, av.ArgumentError):  # EINVAL from the allow-lists: FFmpeg found another format
            reason = "not a video container we read (e.g. a playlist, image sequence or unknown format)"
        raise BadInput(f"{name} is not a readable video file ({reason})") from exc
    demuxers = set(container.format.name.split(","))
    if not demuxers & allowed:  # the allow-list is FFmpeg's; this is the check that it held
        container.close()
        raise BadInput(f"{name} is read by FFmpeg's {container.format.name!r} demuxer, which is not allowed")
    return container


def _head(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(512)
    except FileNotFoundError:
        raise BadInput(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {Path(path).name} is a directory, not a file") from None
    except OSError as error:
        raise BadInput(f"cannot read {Path(path).name}: {error.strerror}") from error


def open_input(source: str, what: str) -> av.container.InputContainer:
    """Open a derived file (path or presigned URL) for demuxing; `what` names it in errors ("proxy", "master")."""
    return open_media(source, what, derived=True)


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
    if isinstance(source, bytes | bytearray):  # a clip we just cut, in memory: our own MP4
        try:
            return av.open(io.BytesIO(source), container_options={"format_whitelist": ",".join(DERIVED_DEMUXERS)})
        except av.FFmpegError as exc:
            raise BadInput(f"cannot open {what}: {exc}") from exc
    return open_input(str(source), what)
