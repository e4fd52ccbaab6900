"""WebDataset tar shards on the local filesystem, written with `webdataset.TarWriter`.

A shard is written under a temporary name (`heaters-000007.tar.partial`) and becomes visible under its
final name only by `finalize` (an atomic rename), after the caller has recorded it. Each sample's MP4
is streamed from storage into the tar in blocks (S3 included: nothing is staged on disk, and memory
holds one block, not the clip), its SHA-256 checked on the way against the checksum the export recorded.
The small members (JSON, keyframes, embedding) go through `TarWriter.write`, so the shard is exactly
what `webdataset` writes and reads.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import time
from pathlib import Path
from typing import BinaryIO

import webdataset

from heaters.domain.errors import BadInput
from heaters.domain.interchange import PARTIAL_SUFFIX, shard_seq

_MODE = 0o444
_OWNER = "heaters"


class _HashingWriter:
    """A write-only file that hashes and counts everything written through it. tarfile's stream mode
    writes 10 KiB records; they are gathered into 1 MiB writes (fewer system calls and hash updates)."""

    CHUNK = 1 << 20

    def __init__(self, file: BinaryIO):
        self.file = file
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._buffer = bytearray()

    def write(self, data) -> int:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= self.CHUNK:
            self._drain()
        return len(data)

    def _drain(self) -> None:
        self.sha256.update(self._buffer)
        self.file.write(self._buffer)
        self._buffer.clear()

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._drain()
        self.file.flush()


class _CheckedReader:
    """Reads a stream and hashes what it delivered, to compare with the recorded checksum afterwards."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        return data


class ShardWriter:
    """One shard being written to `directory/name.partial`."""

    def __init__(self, directory: Path, name: str):
        self.directory = directory
        self.name = name
        self.partial = directory / (name + PARTIAL_SUFFIX)
        self._file = open(self.partial, "wb", buffering=0)  # noqa: SIM115 (closed by finish/abort); writes are 1 MiB
        self._hashing = _HashingWriter(self._file)
        self._mtime = int(time.time())
        self._tar = webdataset.TarWriter(self._hashing, user=_OWNER, group=_OWNER, mode=_MODE, mtime=self._mtime)
        self.samples = 0

    @property
    def bytes_written(self) -> int:
        return self._hashing.size

    def add(self, key: str, video: BinaryIO, video_size: int, video_sha256: str, members: dict) -> None:
        """Add sample `key`: the MP4 streamed from `video` (exactly `video_size` bytes, checked against
        `video_sha256`), then `members` ({"json": dict, "kf025.jpg": bytes, "npy": ndarray, …})."""
        info = tarfile.TarInfo(f"{key}.mp4")
        info.size = video_size
        info.mtime, info.mode, info.uname, info.gname = self._mtime, _MODE, _OWNER, _OWNER
        reader = _CheckedReader(video)
        try:
            self._tar.tarstream.addfile(info, reader)
        except OSError as error:  # tarfile: "unexpected end of data" when the object is shorter
            raise BadInput(f"sample {key}: the stored clip is not the {video_size} bytes recorded ({error})") from error
        if reader.sha256.hexdigest() != video_sha256:
            raise BadInput(f"sample {key}: the stored clip's SHA-256 differs from the one recorded at export")
        self._tar.write({"__key__": key, **members})
        self.samples += 1

    def finish(self) -> tuple[str, int]:
        """Close the tar, flush it to disk; return (sha256, size) of the shard file."""
        self._tar.close()
        self._hashing.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._hashing.sha256.hexdigest(), self._hashing.size

    def abort(self) -> None:
        try:
            self._file.close()
        finally:
            self.partial.unlink(missing_ok=True)


def finalize(directory: Path, name: str) -> Path:
    """Give a finished shard its final name (atomic rename, made durable)."""
    final = directory / name
    os.replace(directory / (name + PARTIAL_SUFFIX), final)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


def shard_files(directory: Path) -> list[Path]:
    """Shard files and shard temp files in `directory` (other files are left alone)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and shard_seq(p.name) is not None)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
