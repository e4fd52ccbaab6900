"""The storage interface every backend implements (local filesystem, S3).

Contract shared by all backends:
- Keys come from `heaters.domain.storage_keys` and are validated on every call (BadInput otherwise).
- Writes are atomic: a reader sees either the previous object or the complete new one, never a partial
  file, and a failed write leaves nothing behind under the key.
- A missing object raises `NotFound`; `delete` of a missing object is not an error (idempotent retries).
- `read_range(key, start, end)` uses HTTP semantics: `end` is inclusive and clipped to the object's size;
  a `start` at or beyond the size raises BadInput (HTTP 416).
- `list(prefix)` yields keys in lexicographic order (what S3 returns), prefix matched as a string.
- `storage_class` and `content_type` are hints: S3 records them, the local backend ignores them.
- `open_writer(key)` streams an object in as its bytes arrive (a browser upload): nothing is visible
  under the key until `commit()`, and `abort()` (or a failed commit) leaves nothing behind — on S3 the
  multipart upload is aborted, so no parts linger in the bucket.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from heaters.adapters.files import atomic_file
from heaters.domain.errors import BadInput


class ObjectWriter(abc.ABC):
    """An object being written piece by piece (see `Storage.open_writer`). Blocking calls: from async code
    run them in a thread. Use as a context manager: leaving the block by an exception aborts."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None:
        """Make the object visible under its key (atomically); on failure it aborts and re-raises."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Discard everything written; idempotent, never raises for a writer already finished."""

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


class Storage(abc.ABC):
    """One object store. Subclasses: LocalStorage, S3Storage."""

    @abc.abstractmethod
    def open_writer(
        self, key: str, *, storage_class: str | None = None, content_type: str | None = None
    ) -> ObjectWriter:
        """A writer for `key` that receives the bytes as they arrive (see the module docstring)."""

    def browser_url(self, key: str, *, expires: int | None = None) -> str:
        """Like `url`, for a browser: S3 signs it for the public endpoint when one is configured."""
        return self.url(key, expires=expires)

    @abc.abstractmethod
    def check(self) -> None:
        """Raise if the store cannot be reached (readiness probe); cheap."""

    @abc.abstractmethod
    def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        storage_class: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """Store a copy of the local file at `path` under `key`, atomically."""

    @contextmanager
    def media_output(
        self, key: str, scratch_dir: Path, *, storage_class: str | None = None, content_type: str | None = None
    ) -> Iterator[Path | BinaryIO]:
        """Where a muxer writes the object `key` (it may seek back into what it wrote): a local path, or a
        seekable binary file object (PyAV takes either); stored under `key` when the block ends without an
        error, else nothing is stored. Here: a file in `scratch_dir`, uploaded at the end. The local backend
        writes in place, S3 streams a multipart upload: neither copies a large file through scratch."""
        path = Path(scratch_dir) / f"object-{os.getpid()}-{id(self)}-{Path(key).name}"
        try:
            yield path
            self.put_file(key, path, storage_class=storage_class, content_type=content_type)
        finally:
            path.unlink(missing_ok=True)

    @abc.abstractmethod
    def put_bytes(
        self, key: str, data: bytes, *, storage_class: str | None = None, content_type: str | None = None
    ) -> None:
        """Store `data` under `key`, atomically."""

    @abc.abstractmethod
    def put_stream(
        self, key: str, stream: BinaryIO, *, storage_class: str | None = None, content_type: str | None = None
    ) -> None:
        """Store everything read from the binary file-like `stream` (e.g. an upload), atomically.
        If reading the stream raises, the error propagates and nothing is stored."""

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A binary file-like object reading the whole object (use it as a context manager). Not
        necessarily seekable (S3 gives a stream): to decode media, hand FFmpeg `media_input(key)`."""

    @abc.abstractmethod
    def open_ranged(self, key: str) -> BinaryIO:
        """A seekable binary file object over the object, reading only the byte ranges asked for (a decoder
        seeking into a long video): the file itself (local), ranged GETs in blocks (S3)."""

    @abc.abstractmethod
    def read_range(self, key: str, start: int, end_inclusive: int) -> bytes:
        """Bytes `start..end_inclusive` of the object (HTTP Range semantics, see module docstring)."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Size of the object in bytes."""

    @abc.abstractmethod
    def url(self, key: str, *, expires: int | None = None) -> str:
        """A URL from which a browser or FFmpeg can read the object, with Range requests.

        S3: a presigned GET URL valid for `expires` seconds. Local: a `file://` URL (FFmpeg reads it; a
        browser cannot — the web app serves local objects itself, through its own authenticated route)."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The object's real path if this backend keeps it on the local filesystem (so FFmpeg can read
        it in place), else None. Read-only use: never write to it (writes must go through put_*)."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order."""

    @abc.abstractmethod
    def download_to(self, key: str, path: str | os.PathLike[str]) -> Path:
        """Copy the object to the local file `path` (atomically: temp file + rename); returns the path."""

    # --- conveniences built on the primitives

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def object_uri(self, key: str) -> str:
        """A lasting name of the object for other tools (an editor's timeline): `file://` for a local
        file, `s3://bucket/key` on S3 (never an expiring presigned URL)."""
        path = self.local_path(key)
        return path.as_uri() if path is not None else self.url(key)

    def media_input(self, key: str, *, expires: int | None = None) -> str:
        """What to hand FFmpeg/PyAV as an input: the local path when there is one (no copy, no URL
        quoting issues), else a URL that supports byte ranges."""
        path = self.local_path(key)
        return str(path) if path is not None else self.url(key, expires=expires)


def check_range(start: int, end_inclusive: int) -> None:
    if start < 0 or end_inclusive < start:
        raise BadInput(f"invalid byte range {start}-{end_inclusive}")


TEMP_PREFIX = ".tmp-"


def write_atomically(write: Callable[[str], object], destination: Path) -> Path:
    """Run `write(temp_path)` on a temp file beside `destination`, then rename it over `destination`."""
    with atomic_file(destination, prefix=TEMP_PREFIX) as temp:
        write(str(temp))
    return destination
