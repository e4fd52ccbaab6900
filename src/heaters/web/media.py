"""Serving clip videos and timeline strips: a byte-budgeted LRU of cut media, and HTTP Range responses.

A clip is cut from the all-intra proxy by stream copy on first request (milliseconds) into a file of a
per-process cache directory on disk, and kept in an LRU keyed by (clip id, start frame, end frame): a cut
operation that changes a clip changes its key and its ETag, so a stale clip is never served. A range
request reads only its bytes from that file, so a 1 KB range of a 60-second 1080p clip costs 1 KB of
memory, not the clip. Small media (timeline strips, keyframes) stay in memory. Concurrent requests for
one key (the player and a prefetch) share a single cut.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class CachedMedia:
    """Media bytes in memory (`data`) or in a cache file (`path`, `size`)."""

    data: bytes | None
    etag: str
    content_type: str
    path: Path | None = None
    size: int = field(default=-1)
    handle: BinaryIO | None = None  # an open, already unlinked file: media served once, not kept

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.data) if self.data is not None else self.path.stat().st_size)

    @classmethod
    def from_file(cls, path: Path, etag: str, content_type: str) -> CachedMedia:
        return cls(None, etag, content_type, path=path)

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end] (inclusive), read in bounded chunks."""
        if self.data is not None:
            yield self.data[start : end + 1]
            return
        if self.handle is not None:
            offset = start
            while offset <= end:
                block = os.pread(self.handle.fileno(), min(_CHUNK, end + 1 - offset), offset)
                if not block:
                    return
                offset += len(block)
                yield block
            return
        with open(self.path, "rb") as handle:
            handle.seek(start)
            left = end + 1 - start
            while left > 0:
                block = handle.read(min(_CHUNK, left))
                if not block:
                    return
                left -= len(block)
                yield block

    def discard(self) -> None:
        if self.path is not None and self.handle is None:
            self.path.unlink(missing_ok=True)

    def served_once(self) -> CachedMedia:
        """The same media from an open handle, its file already removed (closed when the response is gone)."""
        if self.path is None:
            return self
        handle = open(self.path, "rb")  # noqa: SIM115 — lives as long as the response that reads it
        self.path.unlink(missing_ok=True)
        return CachedMedia(None, self.etag, self.content_type, path=self.path, size=self.size, handle=handle)


def content_disposition(kind: str, filename: str) -> str:
    """`attachment`/`inline` with the file name for every browser: an ASCII fallback and the UTF-8 name
    (RFC 6266 / RFC 5987). Header values must be Latin-1; titles are anything."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class MediaCache:
    """A byte-budgeted LRU with single-flight fill: one producer per key at a time."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, CachedMedia] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._filling: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> CachedMedia | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def get_or_make(self, key: Hashable, make: Callable[[], CachedMedia]) -> CachedMedia:
        item = self.get(key)
        if item is not None:
            return item
        with self._lock:
            fill_lock = self._filling.setdefault(key, threading.Lock())
        with fill_lock:
            item = self.get(key)
            if item is None:
                item = make()
                if item.size > self.max_bytes:
                    item = item.served_once()
                else:
                    self._put(key, item)
        with self._lock:
            self._filling.pop(key, None)
        return item

    def _put(self, key: Hashable, item: CachedMedia) -> None:
        if item.size > self.max_bytes:
            return  # too big to keep; served once (a file-backed item is removed when its response ends)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old.size
                old.discard()  # an open response keeps reading an unlinked file
            self._items[key] = item
            self._size += item.size
            while self._size > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._size -= evicted.size
                evicted.discard()


def media_response(request: Request, media: CachedMedia, *, max_age: int = 3600) -> Response:
    """200, 206 or 416 (single byte ranges; RFC 9110 lets a server answer several ranges with the whole
    body), 304 on a matching If-None-Match. The URL carries the clip's range, so private caching is safe."""
    size = media.size
    headers = {
        "ETag": media.etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": f"private, max-age={max_age}",
    }
    if _etag_matches(request.headers.get("if-none-match"), media.etag):
        return Response(status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header and (if_range is None or if_range.strip() == media.etag):
        match = _RANGE.match(range_header)
        if match:
            first, last = match.groups()
            if first == "" and last == "":
                match = None
            elif first == "":  # suffix: the last N bytes
                start, end = max(0, size - int(last)), size - 1
                if int(last) == 0:
                    return _unsatisfiable(size, headers)
            else:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
                if start >= size or (last and int(last) < start):
                    return _unsatisfiable(size, headers)
            if match:
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                return _body(media, start, end, 206, headers)
    return _body(media, 0, size - 1, 200, headers)


def _body(media: CachedMedia, start: int, end: int, status: int, headers: dict) -> Response:
    if media.data is not None or end + 1 - start <= _CHUNK:
        body = b"".join(media.chunks(start, end)) if end >= start else b""
        return Response(body, status_code=status, headers=headers, media_type=media.content_type)
    headers = {**headers, "Content-Length": str(end + 1 - start)}
    return StreamingResponse(
        media.chunks(start, end), status_code=status, headers=headers, media_type=media.content_type
    )


def _unsatisfiable(size: int, headers: dict) -> Response:
    return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates
