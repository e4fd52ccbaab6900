"""Bring a source video onto local disk: an http(s) URL (yt-dlp), a local path, or a browser upload.

Every way in ends the same: one file in `dest_dir`, written under a temporary name and renamed into
place (no partial files under the final name), described by a `FetchedSource` with its SHA-256 so
the caller can deduplicate by content. Whether the file really is a decodable video is the
preprocess probe's business; this module only refuses what can be seen without decoding (empty
files, forbidden addresses and paths, oversized or non-video uploads).

SSRF safety for URLs, in two layers:
1. Before anything is downloaded the URL must be http(s) and its host must resolve only to public
   addresses, unless the host or address is listed in `settings.allow_private_urls` (host names or
   IP networks such as "127.0.0.1" or "10.0.0.0/8"). A literal private IP is refused without any
   connection.
2. While yt-dlp runs, every connection the downloading thread opens is checked again at
   `socket.connect` (see `_guard`): redirects to private addresses and DNS answers that change
   between the check and the download are refused too.

Errors: `BadInput` when retrying cannot help (forbidden address or path, 404, no video on the page,
empty file, upload over the limit or not a video container); `SourceUnavailable` (a HeatersError)
when the server could not be reached or failed, which a retry may fix.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from heaters.adapters.download._guard import ConnectionGuard, guarded_connections
from heaters.adapters.download._ytdlp import SourceUnavailable, download, ffmpeg_exe
from heaters.adapters.files import atomic_file, copy_hashing, sha256_of_file
from heaters.config import Settings
from heaters.domain.errors import BadInput
from heaters.domain.sources import (
    SNIFF_BYTES,
    VIDEO_EXTENSIONS,
    AddressPolicy,
    HttpUrl,
    SourceKind,
    classify_source,
    family_of,
    normalize_url,
    parse_http_url,
    require_video_container,
    safe_filename,
    upload_extension,
)

__all__ = [
    "FetchedSource",
    "SourceUnavailable",
    "adopt_upload",
    "allowed_local_path",
    "check_path_allowed",
    "check_url_allowed",
    "fetch_source",
    "ffmpeg_exe",
    "sha256_file",
]

CHUNK = 1024 * 1024
STORED_STEM = "source"  # the file in dest_dir is source.<ext>; dest_dir is expected to be per-video


@dataclass(frozen=True)
class FetchedSource:
    path: Path  # dest_dir / "source.<ext>"
    original_filename: str  # the name a user would recognise: "<title>.<ext>" for URLs
    extension: str  # ".mp4", ".mkv", … (lower case, with the dot)
    title: str  # yt-dlp's title, or the file name without extension
    source_url: str | None  # the URL as given; None for local paths and uploads
    canonical_url: str | None  # normalised page URL reported by yt-dlp (for dedupe); None if not a URL
    content_sha256: str
    size_bytes: int


def sha256_file(path: Path) -> str:
    return sha256_of_file(path)[0]


def fetch_source(
    source: str,
    dest_dir: Path,
    *,
    settings: Settings,
    progress: Callable[[float], None] | None = None,
) -> FetchedSource:
    """Download (URL) or copy (local path under `settings.allowed_roots`) `source` into `dest_dir`."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    if classify_source(source) is SourceKind.URL:
        return _fetch_url(parse_http_url(source), dest_dir, settings, progress)
    return _copy_local(source, dest_dir, settings, progress)


def adopt_upload(tmp_path: Path, original_filename: str, dest_dir: Path, max_bytes: int) -> FetchedSource:
    """Move a browser upload already on disk into `dest_dir`, after the size and container checks.

    On refusal the temporary file is left where it is (the caller owns it); on success it is moved.
    """
    name = safe_filename(original_filename)
    size = tmp_path.stat().st_size
    if size > max_bytes:
        raise BadInput(f"upload {name!r} is {_human(size)}, over the limit of {_human(max_bytes)}")
    _refuse_empty(size, f"upload {name!r}")
    with open(tmp_path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    extension = upload_extension(name, head)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / f"{STORED_STEM}{extension}"
    try:
        os.replace(tmp_path, final)  # same file system: atomic, no copy
    except OSError:  # another file system: copy under a temporary name, then rename
        _copy_atomically(tmp_path, final, None)
        tmp_path.unlink(missing_ok=True)
    digest = sha256_file(final)
    return FetchedSource(
        path=final,
        original_filename=name,
        extension=extension,
        title=_stem(name),
        source_url=None,
        canonical_url=None,
        content_sha256=digest,
        size_bytes=size,
    )


# --- URLs


def _fetch_url(
    url: HttpUrl, dest_dir: Path, settings: Settings, progress: Callable[[float], None] | None
) -> FetchedSource:
    policy = AddressPolicy.from_allow_list(settings.allow_private_urls)
    guard = ConnectionGuard(policy=policy, extra_allowed=_check_host(url, policy))
    work_dir = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest_dir))
    try:
        with guarded_connections(guard):
            downloaded = download(url.url, work_dir, progress, lambda: _refusal_message(guard))
        size = downloaded.path.stat().st_size
        _refuse_empty(size, url.url)
        extension = _checked_extension(downloaded.path, url.url)
        final = dest_dir / f"{STORED_STEM}{extension}"
        digest = sha256_file(downloaded.path)
        os.replace(downloaded.path, final)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if progress:
        progress(1.0)
    return FetchedSource(
        path=final,
        original_filename=safe_filename(f"{downloaded.title}{extension}"),
        extension=extension,
        title=downloaded.title,
        source_url=url.url,
        canonical_url=_normalize_or_none(downloaded.webpage_url),
        content_sha256=digest,
        size_bytes=size,
    )


def _check_host(url: HttpUrl, policy: AddressPolicy) -> frozenset[str]:
    """Refuse a URL whose host resolves to a forbidden address; return addresses allowed by host name."""
    try:
        infos = socket.getaddrinfo(url.host, url.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SourceUnavailable(f"{url.url}: cannot resolve host {url.host!r} ({exc.strerror})") from None
    addresses = sorted({info[4][0] for info in infos})
    allowed_by_name = _addresses_of_allowed_names(policy)
    if policy.allows_host_name(url.host):
        allowed_by_name |= set(addresses)
    elif policy.allows_host_name(url.host, url.port):
        allowed_by_name |= {f"{a}:{url.port}" for a in addresses}
    forbidden = [a for a in addresses if not policy.allows(a, frozenset(allowed_by_name), url.port)]
    if forbidden:
        target = url.host if url.host == forbidden[0] else f"{url.host} ({forbidden[0]})"
        raise BadInput(
            f"{url.url}: refused to download from {target}, a private, loopback or reserved address; "
            "allow it explicitly with HEATERS_ALLOW_PRIVATE_URLS (the allow_private_urls setting) if this is intended"
        )
    return frozenset(allowed_by_name)


def check_url_allowed(text: str, settings: Settings) -> None:
    """The submit-time check of a URL: valid http(s), and its host resolves to allowed addresses only.
    An unresolvable host is left to the download (DNS may be down for a moment)."""
    url = parse_http_url(text)
    try:
        _check_host(url, AddressPolicy.from_allow_list(settings.allow_private_urls))
    except SourceUnavailable:
        pass


def _addresses_of_allowed_names(policy: AddressPolicy) -> set[str]:
    addresses: set[str] = set()
    for name in policy.host_names:
        addresses |= _resolve_quietly(name)
    for name, port in policy.host_name_ports:
        addresses |= {f"{address}:{port}" for address in _resolve_quietly(name)}
    return addresses


def _resolve_quietly(name: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)}
    except OSError:
        return set()  # an allowed name that does not resolve simply allows nothing


def _refusal_message(guard: ConnectionGuard) -> str | None:
    if not guard.refused:
        return None
    if guard.refused[0].startswith("a child process"):
        return (
            f"refused {guard.refused[0]}: this source needs a download method outside the address guard "
            "(e.g. an encrypted HLS stream handed to FFmpeg)"
        )
    return (
        f"refused to connect to {guard.refused[0]}, a private, loopback or reserved address "
        "(reached through a redirect or a changed DNS answer); allow it with allow_private_urls if intended"
    )


def _normalize_or_none(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return normalize_url(url)
    except BadInput:
        return None


# --- local paths


def _copy_local(
    text: str, dest_dir: Path, settings: Settings, progress: Callable[[float], None] | None
) -> FetchedSource:
    source = _allowed_local_path(text, settings.allowed_roots)
    size = source.stat().st_size
    _refuse_empty(size, f"file {str(source)!r}")
    extension = _checked_extension(source, str(source))
    final = dest_dir / f"{STORED_STEM}{extension}"
    try:
        digest, copied = _copy_atomically(source, final, (lambda done: progress(done / size)) if progress else None)
    except PermissionError:
        raise BadInput(f"file {str(source)!r} cannot be read (permission denied)") from None
    return FetchedSource(
        path=final,
        original_filename=source.name,
        extension=extension,
        title=source.stem,
        source_url=None,
        canonical_url=None,
        content_sha256=digest,
        size_bytes=copied,
    )


def _allowed_local_path(text: str, allowed_roots: list[Path]) -> Path:
    given = Path(text).expanduser()
    resolved = given.resolve()  # follows symlinks: a link inside a root pointing outside is outside
    roots = [root.expanduser().resolve() for root in allowed_roots]
    if not any(resolved.is_relative_to(root) for root in roots):
        shown = f"{text!r}" if str(resolved) == text else f"{text!r} (resolves to {str(resolved)!r})"
        listed = ", ".join(str(r) for r in roots) or "none configured"
        raise BadInput(
            f"path {shown} is outside the allowed roots ({listed}); add its folder to HEATERS_ALLOWED_ROOTS "
            "(the allowed_roots setting) to ingest it"
        )
    if not resolved.exists():
        raise BadInput(f"path {text!r} does not exist")
    if not resolved.is_file():
        raise BadInput(f"path {text!r} is not a regular file")
    return resolved


def allowed_local_path(text: str, allowed_roots: list[Path]) -> Path:
    """The resolved file `text` names, if it lies under one of `allowed_roots`; BadInput otherwise."""
    return _allowed_local_path(text, allowed_roots)


def check_path_allowed(text: str, settings: Settings) -> None:
    """The submit-time check of a local path: inside the allowed roots, a non-empty video file."""
    source = _allowed_local_path(text, settings.allowed_roots)
    _refuse_empty(source.stat().st_size, f"file {str(source)!r}")
    _checked_extension(source, str(source))


# --- shared


def _checked_extension(path: Path, name: str) -> str:
    """Downloads and local files pass the same sniffer as uploads: the stored extension is the container's."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except PermissionError:
        raise BadInput(f"file {name!r} cannot be read (permission denied)") from None
    sniffed = require_video_container(name, head)
    claimed = path.suffix.lower()
    return claimed if claimed in VIDEO_EXTENSIONS and family_of(claimed) == family_of(sniffed) else sniffed


def _copy_atomically(source: Path, final: Path, progress: Callable[[int], None] | None) -> tuple[str, int]:
    """Copy under a temporary name in the destination folder, hashing on the way, then rename."""
    with atomic_file(final, prefix=".copy-") as temp, open(source, "rb") as src, open(temp, "wb") as dst:
        return copy_hashing(src, dst, progress)


def _refuse_empty(size: int, what: str) -> None:
    if size == 0:
        raise BadInput(f"{what} is empty (0 bytes)")


def _stem(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
