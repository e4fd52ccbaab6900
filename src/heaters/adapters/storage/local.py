"""Local-filesystem storage: objects are files under one root directory (default `data_dir/storage`).

Atomic writes: the bytes go to a hidden temp file in the destination directory, are fsynced, then
`os.replace`d over the key (a rename within one filesystem is atomic), and the directory is fsynced so
the rename survives a crash. Temp files start with `.tmp-` which no valid key can (see storage_keys),
so they never show up as objects.

Containment: every key is validated, and the resolved path (symlinks followed) must stay inside the
root, so neither `../x` nor a symlink planted inside the root can reach outside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from heaters.adapters.files import atomic_file
from heaters.adapters.storage.base import TEMP_PREFIX, ObjectWriter, Storage, check_range, write_atomically
from heaters.domain.errors import BadInput, NotFound
from heaters.domain.storage_keys import validate_key, validate_prefix

_COPY_CHUNK = 1024 * 1024


class LocalStorage(Storage):
    def __init__(self, root: str | os.PathLike[str]):
        root_path = Path(root).expanduser()
        root_path.mkdir(parents=True, exist_ok=True)
        self.root = root_path.resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    # --- paths

    def _inside_root(self, path: Path) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise BadInput(f"storage path escapes the storage root: {path}")
        return resolved

    def _path(self, key: str) -> Path:
        """The checked path of `key`. The key itself is kept as the path (not the resolved target) so a
        file is replaced in place rather than through a symlink."""
        validate_key(key)
        path = self.root / key
        self._inside_root(path)
        return path

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"no stored object {key!r}")
        return path

    # --- writes

    def _write_atomically(self, key: str, fill: Callable[[BinaryIO], None]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Re-check after mkdir: a symlinked directory on the way is only visible once it exists.
        self._inside_root(path.parent)
        with atomic_file(path, prefix=TEMP_PREFIX, fsync=True) as temp_path, open(temp_path, "wb") as temp:
            fill(temp)
        _fsync_directory(path.parent)

    def open_writer(self, key, *, storage_class=None, content_type=None) -> ObjectWriter:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._inside_root(path.parent)
        return _LocalWriter(path)

    def check(self) -> None:
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise OSError(f"storage root {self.root} is not writable")

    @contextmanager
    def media_output(self, key, scratch_dir, *, storage_class=None, content_type=None) -> Iterator[Path]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._inside_root(path.parent)
        with atomic_file(path, prefix=TEMP_PREFIX, fsync=True) as temp_path:
            yield Path(temp_path)
        _fsync_directory(path.parent)

    def put_file(self, key, path, *, storage_class=None, content_type=None) -> None:
        source = Path(path)
        if not source.is_file():
            raise NotFound(f"no local file to store: {source}")

        def fill(temp: BinaryIO) -> None:
            with source.open("rb") as src:
                _copy_file(src, temp)

        self._write_atomically(key, fill)

    def put_bytes(self, key, data, *, storage_class=None, content_type=None) -> None:
        self._write_atomically(key, lambda temp: temp.write(data))

    def put_stream(self, key, stream, *, storage_class=None, content_type=None) -> None:
        self._write_atomically(key, lambda temp: shutil.copyfileobj(stream, temp, _COPY_CHUNK))

    # --- reads

    def open(self, key: str) -> BinaryIO:
        return self._existing(key).open("rb")

    def open_ranged(self, key: str) -> BinaryIO:
        return self.open(key)

    def read_range(self, key: str, start: int, end_inclusive: int) -> bytes:
        check_range(start, end_inclusive)
        with self._existing(key).open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if start >= size:
                raise BadInput(f"byte range starts at {start}, beyond the size {size} of {key!r}")
            f.seek(start)
            return f.read(min(end_inclusive, size - 1) - start + 1)

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def url(self, key: str, *, expires: int | None = None) -> str:
        return self._existing(key).as_uri()

    def local_path(self, key: str) -> Path | None:
        return self._existing(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Walk only the directory the prefix names (or its parent, for a partial last segment).
        directory = prefix if prefix.endswith("/") or not prefix else prefix.rpartition("/")[0]
        start = self.root / directory
        try:
            self._inside_root(start)
        except BadInput:
            return iter(())
        keys = []
        for dirpath, dirnames, filenames in os.walk(start):  # does not follow directory symlinks
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    self._inside_root(full)
                except BadInput:
                    continue  # a symlink pointing outside the root is not an object of ours
                keys.append(key)
        return iter(sorted(keys))

    def download_to(self, key: str, path) -> Path:
        source = self._existing(key)
        return write_atomically(lambda dest: shutil.copyfile(source, dest), Path(path))


class _LocalWriter(ObjectWriter):
    """A hidden temp file beside the key, fsynced and renamed over it on commit."""

    def __init__(self, path: Path):
        self.path = path
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        self._temp = Path(temp_name)
        self._handle: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        if self._handle is None:
            raise ValueError("writer already finished")
        self._handle.write(data)

    def commit(self) -> None:
        if self._handle is None:
            raise ValueError("writer already finished")
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            os.replace(self._temp, self.path)
            _fsync_directory(self.path.parent)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._temp.unlink(missing_ok=True)


def _copy_file(source: BinaryIO, destination: BinaryIO) -> None:
    """Copy in the kernel (sendfile) where possible, as shutil.copyfile does: masters are gigabytes."""
    offset = 0
    try:
        while sent := os.sendfile(destination.fileno(), source.fileno(), offset, 1 << 30):
            offset += sent
    except OSError:
        if offset:
            raise
        shutil.copyfileobj(source, destination, _COPY_CHUNK)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
