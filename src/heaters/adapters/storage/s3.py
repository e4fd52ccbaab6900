"""S3 storage (boto3): AWS or any S3-compatible store through a custom endpoint (MinIO, moto, …).

Atomic writes come with S3 itself: an object becomes visible only when its single PUT or its multipart
upload completes, and boto3 aborts a multipart upload whose source fails. Credentials come from
boto3's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles), never from
Heaters settings. Reads for playback and media use presigned GET URLs with byte ranges, so serving a
clip never downloads a whole proxy.

Writes of a key first abort any unfinished multipart upload of the same key: every key has one writer at
a time (deterministic keys under per-entity job locks), so such an upload belongs to an attempt that died
(kill -9) and would otherwise keep its parts in the bucket until a lifecycle rule removes them.

Presigned URLs handed to browsers can be signed for another address than the one the servers use
(`public_endpoint_url`), for when the browser reaches the store through a public name or proxy.

Objects in an archival class (GLACIER, DEEP_ARCHIVE) cannot be read without a restore; such reads raise
Refused with a message that says so.
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from heaters.adapters.storage.base import ObjectWriter, Storage, check_range, write_atomically
from heaters.domain.errors import BadInput, NotFound, Refused
from heaters.domain.storage_keys import validate_key, validate_prefix

DEFAULT_URL_SECONDS = 3600
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        prefix: str = "",
        default_url_seconds: int = DEFAULT_URL_SECONDS,
        storage_class_by_prefix: Mapping[str, str] | None = None,
        client: Any | None = None,
        public_endpoint_url: str | None = None,
    ):
        """`storage_class_by_prefix` gives the class of objects under a key prefix when the caller names
        none, e.g. `{"masters/": "GLACIER"}`, so the archival policy lives in one place (the factory)."""
        if not bucket:
            raise BadInput("S3 storage needs a bucket name (HEATERS_S3_BUCKET)")
        self.bucket = bucket
        self.region = region
        self.prefix = _normalise_prefix(prefix)
        self.default_url_seconds = default_url_seconds
        self.storage_class_by_prefix = {validate_prefix(p): c for p, c in (storage_class_by_prefix or {}).items() if c}
        if client is None:
            # Path-style addressing for custom endpoints: S3-compatible servers on an IP or localhost
            # have no per-bucket DNS names. SigV4 is what every current store accepts.
            config = Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                retries={"mode": "standard"},
            )
            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        self.client = client
        self.public_client = client
        if public_endpoint_url:
            # Signing is local: this client never connects anywhere, it only signs for the public address.
            public_config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
            self.public_client = boto3.client(
                "s3", endpoint_url=public_endpoint_url, region_name=region, config=public_config
            )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # --- names

    def _name(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and S3-compatible stores)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if _code(error) not in _MISSING_CODES | {"NoSuchBucket"}:
                raise
            if self.region == "us-east-1":
                self.client.create_bucket(Bucket=self.bucket)
            else:  # every other AWS region must be named explicitly
                self.client.create_bucket(
                    Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
                )

    # --- writes

    def _default_storage_class(self, key: str) -> str | None:
        matches = [p for p in self.storage_class_by_prefix if key.startswith(p)]
        return self.storage_class_by_prefix[max(matches, key=len)] if matches else None

    def _extra_args(self, key: str, storage_class: str | None, content_type: str | None) -> dict[str, str]:
        args = {"ContentType": content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"}
        storage_class = storage_class or self._default_storage_class(key)
        if storage_class:
            args["StorageClass"] = storage_class
        return args

    def abort_unfinished_uploads(self, key: str) -> int:
        """Abort the unfinished multipart uploads of exactly `key` (see the module docstring)."""
        name = self._name(key)
        aborted = 0
        response = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=name)
        for upload in response.get("Uploads", ()):
            if upload["Key"] == name:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload["UploadId"])
                aborted += 1
        return aborted

    def unfinished_uploads(self, prefix: str = "") -> list[str]:
        """Keys with a multipart upload started and neither completed nor aborted (for checks and ops)."""
        validate_prefix(prefix)
        keys: list[str] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys += [u["Key"][len(self.prefix) :] for u in page.get("Uploads", ())]
        return keys

    def open_writer(self, key, *, storage_class=None, content_type=None) -> ObjectWriter:
        self.abort_unfinished_uploads(key)
        return _S3Writer(self, self._name(key), self._extra_args(key, storage_class, content_type))

    @contextmanager
    def media_output(self, key, scratch_dir, *, storage_class=None, content_type=None) -> Iterator[Path | BinaryIO]:
        """A seekable writer that uploads the object part by part as the muxer writes it: nothing of it
        lands in scratch (a long video's master is tens of GB)."""
        self.abort_unfinished_uploads(key)
        writer = _S3SeekableWriter(self, self._name(key), self._extra_args(key, storage_class, content_type))
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def put_file(self, key, path, *, storage_class=None, content_type=None) -> None:
        source = Path(path)
        if not source.is_file():
            raise NotFound(f"no local file to store: {source}")
        self.abort_unfinished_uploads(key)
        # boto3's transfer manager uses a multipart upload for large files and aborts it if the upload fails.
        self.client.upload_file(
            str(source), self.bucket, self._name(key), ExtraArgs=self._extra_args(key, storage_class, content_type)
        )

    def put_bytes(self, key, data, *, storage_class=None, content_type=None) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._name(key),
            Body=bytes(data),
            **self._extra_args(key, storage_class, content_type),
        )

    def put_stream(self, key, stream, *, storage_class=None, content_type=None) -> None:
        self.abort_unfinished_uploads(key)
        self.client.upload_fileobj(
            stream, self.bucket, self._name(key), ExtraArgs=self._extra_args(key, storage_class, content_type)
        )

    # --- reads

    def _get(self, key: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key), **kwargs)
        except ClientError as error:
            _raise_mapped(error, key)

    def open(self, key: str) -> BinaryIO:
        return self._get(key)["Body"]

    def open_ranged(self, key: str) -> BinaryIO:
        return _RangedReader(self, key, self.size(key))

    def read_range(self, key: str, start: int, end_inclusive: int) -> bytes:
        check_range(start, end_inclusive)
        body = self._get(key, Range=f"bytes={start}-{end_inclusive}")["Body"]
        with body:
            return body.read()

    def _head(self, key: str) -> dict[str, Any]:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            _raise_mapped(error, key)

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def storage_class(self, key: str) -> str:
        """The object's storage class (S3 omits it for STANDARD)."""
        return self._head(key).get("StorageClass") or "STANDARD"

    def url(self, key: str, *, expires: int | None = None) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._name(key)},
            ExpiresIn=expires or self.default_url_seconds,
        )

    def browser_url(self, key: str, *, expires: int | None = None) -> str:
        return self.public_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._name(key)},
            ExpiresIn=expires or self.default_url_seconds,
        )

    def local_path(self, key: str) -> Path | None:
        validate_key(key)
        return None

    def object_uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)}"

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)  # here, not in the generator, so a bad prefix fails at the call
        return self._list(self.prefix + prefix)

    def _list(self, full_prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix) :]

    def download_to(self, key: str, path) -> Path:
        name = self._name(key)

        def download(temp_path: str) -> None:
            try:
                self.client.download_file(self.bucket, name, temp_path)
            except ClientError as error:
                _raise_mapped(error, key)

        return write_atomically(download, Path(path))


MIN_PART_BYTES = 8 * 1024 * 1024  # S3's minimum is 5 MiB for every part but the last
_PARTS_PER_SIZE_STEP = 1000  # part size grows by MIN_PART_BYTES every 1000 parts: 10,000 parts reach ~430 GiB


class _S3Writer(ObjectWriter):
    """Buffers up to one part; a small object becomes one PUT, a large one a multipart upload that is
    started with the first full part and aborted on any failure."""

    def __init__(self, storage: S3Storage, name: str, extra_args: dict[str, str]):
        self.client, self.bucket, self.name, self.extra_args = storage.client, storage.bucket, name, extra_args
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._finished = False

    def _part_size(self) -> int:
        return MIN_PART_BYTES * (1 + len(self._parts) // _PARTS_PER_SIZE_STEP)

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("writer already finished")
        self._buffer += data
        try:
            while len(self._buffer) >= self._part_size():
                size = self._part_size()
                self._upload_part(bytes(self._buffer[:size]))
                del self._buffer[:size]
        except BaseException:
            self.abort()
            raise

    def _upload_part(self, data: bytes) -> None:
        if self._upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.name, **self.extra_args)
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.name, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        if self._finished:
            raise ValueError("writer already finished")
        try:
            if self._upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=self.name, Body=bytes(self._buffer), **self.extra_args)
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.name, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
                )
            self._finished = True
            self._buffer = bytearray()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.name, UploadId=self._upload_id)


class _Positioned:
    """seek/tell over `_pos` and `_size`, as a file does (the S3 reader and the muxer's writer)."""

    _pos: int
    _size: int

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = offset + (0, self._pos, self._size)[whence]
        if position < 0:
            raise ValueError(f"seek to {position}")
        self._pos = position
        return position


class _RangedReader(_Positioned, io.RawIOBase):
    """Reads an object by ranged GETs of BLOCK_BYTES, keeping the last few blocks (a demuxer reads its index,
    then seeks back into the media data; a decoder seeking to a chunk reads forward from there)."""

    BLOCK_BYTES = 4 * 1024 * 1024
    BLOCKS_KEPT = 4

    def __init__(self, storage: S3Storage, key: str, size: int):
        super().__init__()
        self._storage, self._key, self._size = storage, key, size
        self._pos = 0
        self._blocks: dict[int, bytes] = {}  # block index -> bytes, oldest first

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, self.BLOCK_BYTES)
        block = self._block(index)
        count = min(len(buffer), len(block) - offset)
        buffer[:count] = block[offset : offset + count]
        self._pos += count
        return count

    def _block(self, index: int) -> bytes:
        block = self._blocks.pop(index, None)
        if block is None:
            start = index * self.BLOCK_BYTES
            block = self._storage.read_range(self._key, start, min(start + self.BLOCK_BYTES, self._size) - 1)
        self._blocks[index] = block  # most recently used last
        while len(self._blocks) > self.BLOCKS_KEPT:
            del self._blocks[next(iter(self._blocks))]
        return block


class _S3SeekableWriter(_Positioned, ObjectWriter):
    """A muxer's output (PyAV takes any object with write/seek/tell) streamed into a multipart upload.

    Matroska and MP4 muxers write front to back, then at the end seek back into their first bytes to fill
    in sizes, durations and the index position. So the head (the first HEAD_BYTES) stays in memory and is
    uploaded last, as part 1; everything after it is uploaded part by part as soon as a part is full (plus
    some slack for a short seek back), by a few threads so reading the next segment overlaps the upload.
    A write into a part already uploaded raises: the muxer would need the whole file (e.g. MP4 `+faststart`,
    which must not be asked of this writer). Memory: the head plus a few parts."""

    HEAD_BYTES = MIN_PART_BYTES
    SLACK_BYTES = 1024 * 1024
    UPLOADS_IN_FLIGHT = 3

    def __init__(self, storage: S3Storage, name: str, extra_args: dict[str, str]):
        self.client, self.bucket, self.name, self.extra_args = storage.client, storage.bucket, name, extra_args
        self._head = bytearray()
        self._tail = bytearray()  # bytes [_tail_start, _tail_start + len(_tail)) of the object
        self._tail_start = self.HEAD_BYTES
        self._size = self._pos = 0
        self._upload_id: str | None = None
        self._pending: list[tuple[int, Future]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._finished = False

    # the file interface PyAV uses
    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        if self._finished:
            raise ValueError("writer already finished")
        view, position = memoryview(data), self._pos
        try:
            while view:
                if position < self.HEAD_BYTES:
                    taken = min(len(view), self.HEAD_BYTES - position)
                    _write_at(self._head, position, view[:taken])
                elif position >= self._tail_start:
                    taken = len(view)
                    _write_at(self._tail, position - self._tail_start, view)
                else:
                    raise OSError(
                        f"{self.name}: the muxer wrote at byte {position}, in a part already uploaded "
                        f"(only the first {self.HEAD_BYTES} bytes can be rewritten)"
                    )
                position += taken
                view = view[taken:]
            self._pos = position
            self._size = max(self._size, position)
            part = self._part_size()
            while len(self._tail) >= part + self.SLACK_BYTES:
                self._upload_part(bytes(self._tail[:part]))
                del self._tail[:part]
                self._tail_start += part
                part = self._part_size()
        except BaseException:
            self.abort()
            raise
        return len(data)

    def _part_size(self) -> int:
        return MIN_PART_BYTES * (1 + len(self._pending) // _PARTS_PER_SIZE_STEP)

    def _upload_part(self, data: bytes, number: int | None = None) -> None:
        if self._upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.name, **self.extra_args)
            self._upload_id = started["UploadId"]
            self._pool = ThreadPoolExecutor(self.UPLOADS_IN_FLIGHT, thread_name_prefix="s3-part")
        number = number or len(self._pending) + 2  # part 1 is the head, uploaded last
        for _, done in (item for item in self._pending if item[1].done()):
            if done.exception() is not None:
                raise done.exception()  # a failed part fails the object now, not at the end
        in_flight = [f for _, f in self._pending if not f.done()]
        if len(in_flight) >= self.UPLOADS_IN_FLIGHT:  # bounded memory: wait for the oldest
            in_flight[0].result()
        future = self._pool.submit(
            self.client.upload_part,
            Bucket=self.bucket,
            Key=self.name,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._pending.append((number, future))

    def commit(self) -> None:
        if self._finished:
            raise ValueError("writer already finished")
        try:
            head = bytes(self._head.ljust(min(self._size, self.HEAD_BYTES), b"\0"))
            if self._size <= self.HEAD_BYTES:
                self.client.put_object(Bucket=self.bucket, Key=self.name, Body=head, **self.extra_args)
            else:
                if self._tail:
                    self._upload_part(bytes(self._tail))
                self._upload_part(head, number=1)
                parts = sorted(
                    ({"PartNumber": n, "ETag": f.result()["ETag"]} for n, f in self._pending),
                    key=lambda p: p["PartNumber"],
                )
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.name, UploadId=self._upload_id, MultipartUpload={"Parts": parts}
                )
            self._finished = True
            self._release()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._finished:
            return
        self._finished = True
        for _, future in self._pending:
            future.cancel()
        self._release()
        if self._upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.name, UploadId=self._upload_id)

    def _release(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._head, self._tail, self._pending = bytearray(), bytearray(), []


def _write_at(buffer: bytearray, offset: int, data: memoryview) -> None:
    if offset > len(buffer):  # a seek past the end: the gap reads as zeros, as in a file
        buffer.extend(bytes(offset - len(buffer)))
    buffer[offset : offset + len(data)] = data


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    validate_key(prefix)
    return prefix + "/"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _raise_mapped(error: ClientError, key: str) -> NoReturn:
    """Raise the domain error for the S3 errors a user can act on; anything else stays a ClientError."""
    code = _code(error)
    if code in _MISSING_CODES:
        raise NotFound(f"no stored object {key!r}") from error
    if code == "InvalidObjectState":
        raise Refused(f"{key!r} is in an archival storage class and must be restored before it can be read") from error
    if code in ("InvalidRange", "416"):
        raise BadInput(f"the requested byte range is beyond the end of {key!r}") from error
    raise error
