"""Local files written so a reader never sees half of one, and their checksums: the one implementation that
storage, downloads, media cutters and the sample-media cache share."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


@contextmanager
def atomic_file(destination: Path, *, prefix: str = ".tmp-", fsync: bool = False) -> Iterator[Path]:
    """A temporary path beside `destination` (same file system, so the final rename is atomic), renamed over
    it when the block succeeds and removed when it raises: `destination` is old/absent or complete."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=destination.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        if fsync:
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(temp, destination)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_bytes_atomically(destination: Path, data: bytes) -> None:
    with atomic_file(destination) as temp:
        temp.write_bytes(data)


def copy_hashing(source: BinaryIO, target: BinaryIO, progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Copy a stream, computing its SHA-256 on the way: (hex digest, bytes copied)."""
    digest = hashlib.sha256()
    copied = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        copied += len(chunk)
        if progress:
            progress(copied)
    return digest.hexdigest(), copied


def sha256_of_file(path: Path) -> tuple[str, int]:
    """(hex digest, size in bytes) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
