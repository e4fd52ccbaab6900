"""The access log: one line per HTTP request (method, path, status, bytes, duration, client).

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which would buffer streamed responses).
The query string is left out: it is not needed to read the log, and it is where secrets travel.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("heaters.access")


class AccessLog:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = {"status": 500, "bytes": 0}

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            client = scope.get("client")
            log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                answer["status"],
                extra={
                    "status": answer["status"],
                    "bytes": answer["bytes"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client[0] if client else None,
                },
            )
