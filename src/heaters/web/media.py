"""Serving clip videos and timeline strips: an in-memory LRU of cut bytes, and HTTP Range responses.

A clip's bytes are cut from the all-intra proxy by stream copy on first request (milliseconds) and kept
in a small LRU keyed by (clip id, start frame, end frame): a cut operation that changes a clip changes
its key and its ETag, so a stale clip is never served. Concurrent requests for one key (the player and a
prefetch) share a single cut.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from fastapi import Request, Response

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class CachedMedia:
    data: bytes
    etag: str
    content_type: str


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
                self._put(key, item)
        with self._lock:
            self._filling.pop(key, None)
        return item

    def _put(self, key: Hashable, item: CachedMedia) -> None:
        if len(item.data) > self.max_bytes:
            return  # too big to keep; served once
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old.data)
            self._items[key] = item
            self._size += len(item.data)
            while self._size > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted.data)


def media_response(request: Request, media: CachedMedia, *, max_age: int = 3600) -> Response:
    """200, 206 or 416 (single byte ranges; RFC 9110 lets a server answer several ranges with the whole
    body), 304 on a matching If-None-Match. The URL carries the clip's range, so private caching is safe."""
    size = len(media.data)
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
                return Response(
                    media.data[start : end + 1], status_code=206, headers=headers, media_type=media.content_type
                )
    return Response(media.data, status_code=200, headers=headers, media_type=media.content_type)


def _unsatisfiable(size: int, headers: dict) -> Response:
    return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates
