"""What the frame-range cutters (clip stream copy, master re-encode) share: opening stored media — a local
file, or a presigned URL read by HTTP byte ranges — the range check, atomic output and its checksum."""

from __future__ import annotations

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
