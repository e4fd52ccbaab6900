"""Request hardening for every route, as one pure ASGI middleware (no body is buffered here).

- Every request body is capped: `max_request_bytes` for forms and JSON, the upload limit (plus multipart
  overhead) for the upload route. A declared Content-Length over the cap is answered 413 before reading;
  a body that grows past it while being read is cut off with 413 too.
- A NUL byte in the path or query string (raw or %00) is answered 400: PostgreSQL text cannot hold one.
- Security headers on every response: a strict Content-Security-Policy (scripts, styles and frames only
  from us; no framing by others), nosniff, no referrer leaks across sites.
"""

from __future__ import annotations

import json

# Media may come from the object store (presigned URLs) on another origin; everything else only from us.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: http: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
UPLOAD_PATH = "/videos/upload"
_MULTIPART_OVERHEAD = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class HardeningMiddleware:
    def __init__(self, app, *, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes + _MULTIPART_OVERHEAD

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string", b"")
        if b"\x00" in raw or b"%00" in raw or b"\x00" in query or b"%00" in query:
            await _plain(send, 400, "NUL bytes are not allowed in addresses")
            return
        cap = self.max_upload_bytes if scope.get("path") == UPLOAD_PATH else self.max_request_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _plain(send, 400, "bad Content-Length")
                return
            if int(declared) > cap:
                await _plain(send, 413, f"the request body is over the limit of {cap:,} bytes")
                return
        received = 0
        started = False

        async def capped_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(f"the request body is over the limit of {cap:,} bytes")
            return message

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, capped_receive, send_with_headers)
        except BodyTooLarge as error:
            if started:
                raise
            await _plain(send, 413, str(error))


async def _plain(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})
