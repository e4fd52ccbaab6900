"""Sources that arrive as files go into storage from the process that receives them.

Nothing crosses machines but PostgreSQL and the object store: a browser upload streams from the web
process straight into storage as it arrives (S3 multipart for large files), and `heaters ingest PATH`
copies the file from the operator's machine. Workers only ever read the stored original.

Order of events, so nothing is recorded that does not exist and nothing stored is left unrecorded:
1. checks that need no storage (allowed roots, empty file, the first bytes look like a video, size limit
   while the bytes arrive);
2. a video id is reserved (a sequence value, no row yet) and the bytes are written to the final key
   `originals/{id}/original.{ext}`, hashed on the way; a failed or refused transfer is aborted;
3. the same content already ingested: the new object is deleted and the earlier video is returned;
   otherwise the row is recorded in state `new` with its key and hash, and the download stage queued
   (it only confirms the object is there).
A process killed between 2 and 3 leaves one unrecorded object (or an unfinished multipart upload, which
the bucket's AbortIncompleteMultipartUpload lifecycle rule removes).
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import BinaryIO

from heaters.adapters.db.intake_store import StoredSources, StoredVideo
from heaters.adapters.db.uow import connection, transaction
from heaters.adapters.download import allowed_local_path
from heaters.adapters.storage.base import ObjectWriter
from heaters.domain import storage_keys
from heaters.domain.errors import BadInput
from heaters.domain.sources import SNIFF_BYTES, safe_filename, upload_extension
from heaters.domain.stages import DOWNLOAD
from heaters.runtime import Runtime
from heaters.services.ingest import UPLOAD_PREFIX, Submitted


class _HashingReader:
    """A read-only file wrapper that hashes what passes through (one pass: hash while storing)."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def submit_local_file(runtime: Runtime, text: str, *, force: bool = False) -> Submitted:
    """`heaters ingest PATH` (or a path typed into the dashboard): copied into storage by this process."""
    path = allowed_local_path(text, runtime.settings.allowed_roots)
    source = str(path)
    if not force and (existing := _stored(runtime, lambda g: g.with_source(source))) is not None:
        return Submitted(existing, False, source)
    if path.stat().st_size == 0:
        raise BadInput(f"file {text!r} is empty (0 bytes)")
    return store_file(runtime, path, source=source, filename=path.name, force=force)


def store_file(runtime: Runtime, path: Path, *, source: str, filename: str, force: bool = False) -> Submitted:
    """Store the local file `path` as a new video's original and record it (see the module docstring)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            extension = upload_extension(filename, head)  # the one sniffer: refuses what is not a video
            video_id = _stored(runtime, StoredSources.reserve_id)
            key = storage_keys.original_key(video_id, extension)
            handle.seek(0)
            reader = _HashingReader(handle)
            runtime.storage.put_stream(key, reader, content_type=_content_type(key))
    except PermissionError:
        raise BadInput(f"file {str(path)!r} cannot be read (permission denied)") from None
    return _record(runtime, video_id, key, reader.digest.hexdigest(), source, Path(filename).stem, force)


class UploadSink:
    """Where a browser upload goes while it arrives: its final key in storage. Blocking methods (call them
    from a thread in async code): `start` once the first bytes are known, `write`, then `commit` or `abort`."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.key: str | None = None
        self.video_id: int | None = None
        self._writer: ObjectWriter | None = None
        self._digest = hashlib.sha256()

    @property
    def started(self) -> bool:
        return self._writer is not None

    def start(self, filename: str, head: bytes) -> None:
        extension = upload_extension(safe_filename(filename), head)  # BadInput: not a known container
        self.video_id = _stored(self.runtime, StoredSources.reserve_id)
        self.key = storage_keys.original_key(self.video_id, extension)
        self._writer = self.runtime.storage.open_writer(self.key, content_type=_content_type(self.key))

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._writer.write(data)

    def commit(self) -> None:
        self._writer.commit()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def record_upload(runtime: Runtime, sink: UploadSink, filename: str) -> Submitted:
    """Record a committed upload (or return the video that already has the same content)."""
    name = safe_filename(filename)
    return _record(runtime, sink.video_id, sink.key, sink.sha256, UPLOAD_PREFIX + name, Path(name).stem, False)


def _record(runtime: Runtime, video_id: int, key: str, sha256: str, source: str, title: str, force: bool) -> Submitted:
    if not force and (duplicate := _stored(runtime, lambda g: g.with_content(sha256))) is not None:
        runtime.storage.delete(key)
        return Submitted(duplicate, False, source)
    video = StoredVideo(video_id, source, title, key, sha256, allow_duplicate=force)
    try:
        with transaction(runtime.database) as uow:
            StoredSources(uow.conn).add(video)
    except BaseException:
        runtime.storage.delete(key)
        raise
    runtime.queue.defer(DOWNLOAD, video_id)
    return Submitted(video_id, True, source)


def _stored(runtime: Runtime, read):
    with connection(runtime.database) as uow:
        return read(StoredSources(uow.conn))


def _content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"
