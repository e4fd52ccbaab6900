"""Download one video with yt-dlp's Python API, quality first, into a private work directory.

Owns the yt-dlp options (format choice, merge container, the packaged FFmpeg used for merging,
timeouts, no cookies/proxies/cache) and the translation of yt-dlp's failures into Heaters errors with
messages a user can act on.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heaters.domain.errors import BadInput, HeatersError

log = logging.getLogger(__name__)

# Best video and best audio merged; a single file with both when the site has no separate streams.
FORMAT = "bestvideo*+bestaudio/best"
# Keep MP4 when the streams fit in it, else Matroska (takes any codec).
MERGE_OUTPUT_FORMAT = "mp4/mkv"
SOCKET_TIMEOUT_SECONDS = 20
RETRIES = 2
# Input options for every FFmpeg that yt-dlp runs on downloaded files (merging, fix-ups): local files only,
# read by a container demuxer (never a playlist or a list that names further inputs).
_LOCAL_INPUT_ONLY = [
    "-protocol_whitelist",
    "file",
    "-format_whitelist",
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,aac,mp3,wav,flac,ac3,eac3,opus,mxf,nut",
]
_FFMPEG_POSTPROCESSORS = ("merger", "ffmpegfixupm3u8", "ffmpegfixupm4a", "ffmpegfixupstretched", "ffmpegfixupduration")


class SourceUnavailable(HeatersError):
    """The source could not be fetched now (unreachable host, server error); a later retry may succeed."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    title: str
    webpage_url: str | None


def ffmpeg_exe() -> str:
    """The FFmpeg binary shipped in the imageio-ffmpeg wheel, so no system FFmpeg is needed for merging."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def download(
    url: str, work_dir: Path, progress: Callable[[float], None] | None, stop_reason: Callable[[], str | None]
) -> Downloaded:
    """Download `url` into `work_dir`; `stop_reason()` explains a connection our guard refused."""
    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError

    logger = _Logger()
    hook = _ProgressHook(progress) if progress else None
    options: dict[str, Any] = {
        "format": FORMAT,
        "merge_output_format": MERGE_OUTPUT_FORMAT,
        "ffmpeg_location": ffmpeg_exe(),
        "outtmpl": {"default": "download.%(ext)s"},
        "paths": {"home": str(work_dir), "temp": str(work_dir)},
        "restrictfilenames": True,
        "noplaylist": True,
        "overwrites": True,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "retries": RETRIES,
        "fragment_retries": RETRIES,
        "extractor_retries": 1,
        "file_access_retries": 1,
        # One thread and yt-dlp's own downloaders: every connection goes through the guarded thread.
        "concurrent_fragment_downloads": 1,
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "postprocessor_args": {f"{pp}+ffmpeg_i": list(_LOCAL_INPUT_ONLY) for pp in _FFMPEG_POSTPROCESSORS},
        # No surprises from the environment: no proxy variables, no cookies, no cache directory.
        "proxy": "",
        "cachedir": False,
        "cookiefile": None,
        "updatetime": False,
        "logger": logger,
        "quiet": True,
        "no_warnings": False,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "progress_hooks": [hook] if hook else [],
        "match_filter": logger.refuse_live,
    }
    with YoutubeDL(options) as ydl:
        if hook:
            ydl.add_post_processor(_count_parts_before_download(hook), when="before_dl")
        try:
            result = ydl.extract_info(url, download=False, process=False)
            result = _single_video(url, result)
            info = ydl.process_ie_result(result, download=True)
        except DownloadError as exc:
            ours = next(
                (c for c in _causes(exc.exc_info[1] if exc.exc_info else None) if isinstance(c, HeatersError)), None
            )
            if ours is not None:  # e.g. the stage's time limit, raised from our progress hook
                raise ours from None
            raise _explain(url, exc, stop_reason()) from None
        except HeatersError:
            raise
        except Exception as exc:  # yt-dlp extractors can fail in many ways; report, never crash the worker
            refused = stop_reason()
            if refused:
                raise BadInput(f"{url}: {refused}") from None
            raise SourceUnavailable(f"{url}: download failed: {type(exc).__name__}: {exc}") from exc

    downloads = (info or {}).get("requested_downloads") or []
    if not downloads:
        if (info or {}).get("is_live") or logger.live_refused:
            raise BadInput(f"{url} is a live stream; only recorded videos can be ingested")
        raise BadInput(f"{url}: no video was downloaded ({logger.last_problem or 'yt-dlp selected nothing'})")
    path = Path(downloads[0]["filepath"])
    return Downloaded(path=path, title=str(info.get("title") or path.stem), webpage_url=info.get("webpage_url"))


def _single_video(url: str, result: dict[str, Any] | None) -> dict[str, Any]:
    if not result:
        raise BadInput(f"{url}: no video found at this address")
    if result.get("is_live"):
        raise BadInput(f"{url} is a live stream; only recorded videos can be ingested")
    if result.get("_type") in ("playlist", "multi_video"):
        entries = list(itertools.islice(result.get("entries") or [], 2))
        if not entries:
            raise BadInput(f"{url}: no video found at this address (an empty playlist or page)")
        if len(entries) > 1:
            raise BadInput(f"{url} is a playlist or a page with several videos; ingest the videos one by one")
        return _single_video(url, entries[0])
    return result


class _ProgressHook:
    """yt-dlp reports each part (video, then audio) from 0 to 100 %, one after the other; report the
    whole as one fraction that never goes backwards. `parts` is set before the download starts."""

    def __init__(self, progress: Callable[[float], None]) -> None:
        self._progress = progress
        self._last = 0.0
        self.parts = 1
        self._files: list[str] = []

    def __call__(self, status: dict[str, Any]) -> None:
        name = str(status.get("filename") or "")
        if name not in self._files:
            self._files.append(name)
        if status.get("status") == "finished":
            part_fraction = 1.0
        elif status.get("status") == "downloading":
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            if not total:
                self._progress(self._last)  # no fraction to report, but the stage's time limit is checked there
                return
            part_fraction = min(1.0, (status.get("downloaded_bytes") or 0) / total)
        else:
            return
        parts = max(self.parts, len(self._files))
        fraction = (self._files.index(name) + part_fraction) / parts
        if fraction > self._last:
            self._last = fraction
            self._progress(fraction)


def _count_parts_before_download(hook: _ProgressHook):
    """A yt-dlp post-processor run before the download: the chosen formats are known there."""
    from yt_dlp.postprocessor.common import PostProcessor

    class CountParts(PostProcessor):
        def run(self, info):
            hook.parts = max(1, len(info.get("requested_formats") or ()))
            return [], info

    return CountParts(None)


class _Logger:
    """Keeps yt-dlp quiet on the console; its messages go to our log and the last problem is kept."""

    def __init__(self) -> None:
        self.last_problem: str | None = None
        self.live_refused = False

    def refuse_live(self, info: dict[str, Any], *, incomplete: bool = False) -> str | None:
        """A yt-dlp match filter: live streams are fetched by an FFmpeg child process, outside the
        connection guard, and never end."""
        if info.get("is_live"):
            self.live_refused = True
            return "live streams cannot be ingested"
        return None

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        self.last_problem = _clean(msg)
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        self.last_problem = _clean(msg)
        log.info("yt-dlp: %s", msg)


def _clean(msg: str) -> str:
    msg = re.sub(r"^(ERROR|WARNING):\s*", "", msg.strip())
    msg = re.sub(r"^\[[\w:]+\]\s*[^:]*:\s*", "", msg)  # "[generic] video-id: "
    return re.sub(r"\s*\(caused by .*\)$", "", msg, flags=re.S)


def _causes(exc: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while exc is not None and exc not in chain and len(chain) < 10:
        chain.append(exc)
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return chain


def _explain(url: str, exc: Exception, refused: str | None) -> HeatersError:
    """One readable error per failure kind; BadInput when retrying cannot help."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import UnsupportedError

    if refused:
        return BadInput(f"{url}: {refused}")
    if "Did not get any data blocks" in str(exc):  # yt-dlp's words for a zero-byte response body
        return BadInput(f"{url} is empty (0 bytes)")
    chain = _causes(exc.exc_info[1] if getattr(exc, "exc_info", None) else None) + _causes(exc)
    for cause in chain:
        if isinstance(cause, UnsupportedError):
            return BadInput(f"{url}: no video found at this address (a web page without a video yt-dlp can read)")
        if isinstance(cause, HTTPError):
            status = cause.status
            if status in (404, 410):
                return BadInput(f"{url}: not found (HTTP {status}) — check the address")
            if status in (401, 403):
                return BadInput(f"{url}: access denied (HTTP {status}); the video may be private")
            return SourceUnavailable(f"{url}: the server answered HTTP {status} {cause.reason or ''}".rstrip())
    for cause in chain:
        if isinstance(cause, TransportError | OSError):
            return SourceUnavailable(f"{url}: cannot reach the server ({_transport_reason(str(cause))})")
    return SourceUnavailable(f"{url}: download failed: {_clean(str(getattr(exc, 'msg', None) or exc))}")


def _transport_reason(text: str) -> str:
    match = re.search(r"\[Errno -?\d+\]\s*([^\"')]+)", text)
    if match:
        return match.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return _clean(text)
