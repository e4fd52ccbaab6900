"""Browser uploads: a multipart body streamed straight into storage as it arrives.

Not Starlette's form parser, which spools files to the system temp directory and only lets us look at
the size afterwards: here the size limit stops the transfer as soon as it is crossed, and a body whose
first bytes are obviously not a video (HTML, an image, a PDF, an archive…) is refused before anything
is stored (the one sniffer, `domain.sources.require_video_container`). The file's bytes are handed to a sink
(`services.intake.UploadSink`: the final storage key, an S3 multipart upload for large files) in pieces of
FLUSH_BYTES, from a thread so the event loop never waits on storage; any failure or refusal aborts the sink.
Preprocess still checks the file properly (probe, dimensions, duration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from heaters.domain.errors import BadInput
from heaters.domain.sources import require_video_container

FILE_FIELD = "file"
FLUSH_BYTES = 8 * 1024 * 1024  # one S3 part
_SMALL_FIELD_LIMIT = 4096


class TooLarge(BadInput):
    """The upload is over the configured limit."""


class NotAllowed(Exception):
    """The fields before the file did not authorise it (e.g. no CSRF token): nothing is written."""


class UploadSink(Protocol):
    """Blocking; `start(filename, head)` once before the first `write`."""

    started: bool

    def start(self, filename: str, head: bytes) -> None: ...
    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


@dataclass
class ReceivedUpload:
    filename: str
    size: int
    fields: dict[str, str]


async def receive_upload(
    request: Request, sink: UploadSink, max_bytes: int, allow_file: Callable[[dict[str, str]], bool]
) -> ReceivedUpload:
    """Stream the `file` part of a multipart request into `sink`; small text fields are collected.
    `allow_file(fields seen so far)` decides, when the file part begins, whether to accept it (the CSRF
    check: the token field comes first in our form). Raises NotAllowed, TooLarge or BadInput; the sink
    is committed only when everything passed, and aborted otherwise."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise BadInput("send the file as multipart/form-data")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise TooLarge(f"the upload is {int(declared):,} bytes; the limit is {max_bytes:,} bytes")
    state = _PartState(max_bytes, allow_file)
    parser = MultipartParser(params[b"boundary"], state.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            state.raise_pending()
            if len(state.pending) >= FLUSH_BYTES:
                await _flush(state, sink)
        parser.finalize()
        state.raise_pending()
        if not state.has_file or state.size == 0:
            raise BadInput("no file in the upload (or an empty file)")
        state.finish_head()
        state.raise_pending()
        await _flush(state, sink)
        await run_in_threadpool(sink.commit)
    except BaseException:
        sink.abort()  # also on a client that went away (cancellation): no parts left behind
        raise
    return ReceivedUpload(state.filename, state.size, state.fields)


async def _flush(state: _PartState, sink: UploadSink) -> None:
    if not sink.started:
        await run_in_threadpool(sink.start, state.filename, state.head)
    data = state.take()
    if data:
        await run_in_threadpool(sink.write, data)


class _PartState:
    """The multipart parser's callbacks: the file part's bytes to `pending` (drained by the receive loop),
    small fields to memory."""

    def __init__(self, max_bytes: int, allow_file: Callable[[dict[str, str]], bool]):
        self.allow_file = allow_file
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.has_file = False
        self.filename = ""
        self.size = 0
        self.error: BaseException | None = None
        self.pending = bytearray()
        self.head = b""
        self._checked = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add("_header_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_header_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def raise_pending(self) -> None:
        if self.error is not None:
            raise self.error

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _part_begin(self) -> None:
        self._headers, self._name, self._is_file, self._value = {}, "", False, bytearray()

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options and self._name == FILE_FIELD and not self.has_file:
            if not self.allow_file(self.fields):
                self.error = NotAllowed("missing or wrong CSRF token; reload the page")
                return
            self._is_file = self.has_file = True
            raw = options[b"filename"].decode("utf-8", "replace")
            self.filename = Path(raw.replace("\\", "/")).name[:200] or "upload"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        chunk = data[start:end]
        if not self._is_file:
            self._value += chunk
            if len(self._value) > _SMALL_FIELD_LIMIT:
                self.error = BadInput(f"form field {self._name!r} is too long")
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.error = TooLarge(f"the upload is over the limit of {self.max_bytes:,} bytes")
            return
        if not self._checked:
            self.head += chunk[: 512 - len(self.head)]
            if len(self.head) >= 512:
                self.finish_head()
        self.pending += chunk

    def take(self) -> bytes:
        data = bytes(self.pending)
        self.pending = bytearray()
        return data

    def finish_head(self) -> None:
        if not self._checked and self.has_file:
            self._checked = True
            try:  # the same sniffer as the download stage's: what passes here passes there
                require_video_container(self.filename, self.head)
            except BadInput as error:
                self.error = error

    def _part_end(self) -> None:
        if self._is_file:
            self._is_file = False
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")
