"""Test helper: a tiny HTTP file server on 127.0.0.1 that honours `Range` (like S3 does) and records the
byte ranges it served, so tests can check that a clip cut reads only part of the proxy."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RangeFileServer:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.served: list[tuple[str, str | None, int]] = []  # (path, Range header, bytes sent)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except ConnectionError:
                    pass  # the client hung up (FFmpeg does when it seeks); nothing to report

            def do_GET(self) -> None:
                path = owner.root / self.path.split("?", 1)[0].lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                size = len(data)
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if match:
                    start = int(match.group(1) or 0)
                    end = int(match.group(2)) if match.group(2) else size - 1
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    end = min(end, size - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                    body = data[start : end + 1]
                else:
                    self.send_response(200)
                    body = data
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                sent = 0
                try:
                    # In chunks: FFmpeg drops a connection mid-body when it seeks elsewhere, and we
                    # want to count only what was actually sent.
                    for offset in range(0, len(body), 64 * 1024):
                        sent += self.wfile.write(body[offset : offset + 64 * 1024]) or 0
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                owner.served.append((self.path, self.headers.get("Range"), sent))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RangeFileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
