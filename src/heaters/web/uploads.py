"""Browser uploads: a multipart body streamed straight to a file under data_dir/uploads.

Not Starlette's form parser, which spools files to the system temp directory and only lets us look at
the size afterwards: here the size limit stops the transfer as soon as it is crossed, and a body whose
first bytes are obviously not a video (HTML, an image, a PDF, an archive…) is refused before it is
written out (the one sniffer, `domain.sources.require_video_container`). The download stage still checks
the file properly (probe, dimensions, duration).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from heaters.domain.errors import BadInput
from heaters.domain.sources import require_video_container

FILE_FIELD = "file"
_SMALL_FIELD_LIMIT = 4096


class TooLarge(BadInput):
    """The upload is over the configured limit."""


class NotAllowed(Exception):
    """The fields before the file did not authorise it (e.g. no CSRF token): nothing is written."""


@dataclass
class ReceivedUpload:
    path: Path
    filename: str
    size: int
    fields: dict[str, str]


async def receive_upload(
    request: Request, directory: Path, max_bytes: int, allow_file: Callable[[dict[str, str]], bool]
) -> ReceivedUpload:
    """Stream the `file` part of a multipart request to a new file in `directory`; small text fields are
    collected. `allow_file(fields seen so far)` decides, when the file part begins, whether to accept it
    (the CSRF check: the token field comes first in our form). Raises NotAllowed, TooLarge or BadInput;
    never leaves a partial file behind."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise BadInput("send the file as multipart/form-data")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise TooLarge(f"the upload is {int(declared):,} bytes; the limit is {max_bytes:,} bytes")
    directory.mkdir(parents=True, exist_ok=True)
    state = _PartState(directory, max_bytes, allow_file)
    parser = MultipartParser(params[b"boundary"], state.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            state.raise_pending()
        parser.finalize()
        state.raise_pending()
        if state.path is None or state.size == 0:
            raise BadInput("no file in the upload (or an empty file)")
        state.close()
        state.finish_head()
        state.raise_pending()
    except BaseException:
        state.discard()
        raise
    return ReceivedUpload(state.path, state.filename, state.size, state.fields)


class _PartState:
    """The multipart parser's callbacks: route the file part to disk, small fields to memory."""

    def __init__(self, directory: Path, max_bytes: int, allow_file: Callable[[dict[str, str]], bool]):
        self.directory = directory
        self.allow_file = allow_file
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.path: Path | None = None
        self.filename = ""
        self.size = 0
        self.error: BaseException | None = None
        self._handle = None
        self._head = b""
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
        if b"filename" in options and self._name == FILE_FIELD and self.path is None:
            if not self.allow_file(self.fields):
                self.error = NotAllowed("missing or wrong CSRF token; reload the page")
                return
            self._is_file = True
            raw = options[b"filename"].decode("utf-8", "replace")
            self.filename = Path(raw.replace("\\", "/")).name[:200] or "upload"
            fd, name = tempfile.mkstemp(prefix="incoming-", suffix=".part", dir=self.directory)
            self.path = Path(name)
            self._handle = os.fdopen(fd, "wb")

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
            self._head += chunk[: 512 - len(self._head)]
            if len(self._head) >= 512:
                self.finish_head()
        self._handle.write(chunk)

    def finish_head(self) -> None:
        if not self._checked and self.path is not None:
            self._checked = True
            try:  # the same sniffer as the download stage's: what passes here passes there
                require_video_container(self.filename, self._head)
            except BadInput as error:
                self.error = error

    def _part_end(self) -> None:
        if self._is_file:
            if self._handle is not None:
                self._handle.close()
            self._is_file = False
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._handle is not None and not self._handle.closed:
            self._handle.close()

    def discard(self) -> None:
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
