"""The FastAPI application factory. Routes are thin: they call the same services as the CLI.

Wiring only: sessions, templates and static files, the routers, the access log, the operations endpoints
(`/health` liveness, `/ready` readiness, `/metrics` for Prometheus), and the one place where domain errors
become HTTP statuses (Refused 409, NotFound 404, BadInput 400; sign-in needed: redirect or 401), their
messages redacted (no storage URL or secret reaches a browser).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from heaters.adapters.db.connection import ping
from heaters.domain.errors import BadInput, HeatersError, NotFound, Refused
from heaters.domain.redact import redact
from heaters.runtime import Runtime
from heaters.web import routes_auth, routes_dashboard, routes_library, routes_review
from heaters.web.access_log import AccessLog
from heaters.web.media import MediaCache
from heaters.web.security import LoginRequired, session_secret

WEB_DIR = Path(__file__).parent
CLIP_CACHE_BYTES = 512 * 1024**2
STRIP_CACHE_BYTES = 64 * 1024**2
SESSION_DAYS = 14
log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Heaters", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.state.clip_cache = MediaCache(CLIP_CACHE_BYTES)
    app.state.strip_cache = MediaCache(STRIP_CACHE_BYTES)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(runtime.settings),
        session_cookie="heaters_session",
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
    )
    app.add_middleware(AccessLog)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/health")
    async def health() -> dict:
        """Liveness: the process answers (it touches nothing, so a database outage does not restart it)."""
        return {"status": "ok"}

    @app.get("/ready")
    def ready() -> JSONResponse:
        """Readiness: the database, the object store and the job queue all answer."""
        from heaters.adapters.db.ops_store import queue_reachable

        checks = {"database": lambda: ping(runtime.database), "storage": runtime.storage.check}
        checks["queue"] = lambda: queue_reachable(runtime.database)
        answers: dict[str, str] = {}
        for name, check in checks.items():
            try:
                check()
                answers[name] = "ok"
            except Exception as error:  # noqa: BLE001 — any failure means not ready; say which and why
                log.warning("not ready: %s: %s", name, error)
                answers[name] = redact(f"{type(error).__name__}: {error}")[:300]
        ok = all(v == "ok" for v in answers.values())
        return JSONResponse({"status": "ready" if ok else "not ready", **answers}, status_code=200 if ok else 503)

    registry = None

    @app.get("/metrics")
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from heaters.web.metrics import metrics_registry

        nonlocal registry
        registry = registry or metrics_registry(runtime)
        return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(routes_auth.router)
    app.include_router(routes_review.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_library.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(HeatersError)
    async def domain_error(request: Request, exc: HeatersError):
        status = 409 if isinstance(exc, Refused) else 404 if isinstance(exc, NotFound) else 400
        if isinstance(exc, BadInput | Refused | NotFound):
            return JSONResponse({"error": redact(str(exc))}, status_code=status)
        return JSONResponse({"error": redact(str(exc))}, status_code=500)

    return app
