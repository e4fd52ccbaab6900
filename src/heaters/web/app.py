"""The FastAPI application factory. Routes are thin: they call the same services as the CLI.

Wiring only: sessions, templates and static files, the routers, the access log, the hardening middleware
(body caps, security headers), the operations endpoints (`/health` liveness, `/ready` readiness, `/metrics`
for Prometheus), and the one place where errors become HTTP statuses (Refused 409, NotFound 404, BadInput
400, a value the database refuses 400; sign-in needed: redirect or 401), their messages redacted (no storage
URL or secret reaches a browser).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from heaters.domain.errors import BadInput, HeatersError, IllegalTransition, NotFound, Refused
from heaters.domain.redact import redact
from heaters.runtime import Runtime
from heaters.services.errors import DatabaseRefusedValue
from heaters.services.operations import readiness
from heaters.services.sessions import SessionCache
from heaters.web import routes_auth, routes_dashboard, routes_library, routes_review
from heaters.web.access_log import AccessLog
from heaters.web.hardening import HardeningMiddleware
from heaters.web.live import LiveTimelines
from heaters.web.login_guard import LoginGuard
from heaters.web.media import MediaCache
from heaters.web.security import LoginRequired, session_secret
from heaters.web.templating import flash
from heaters.web.uploads import NotAllowed, TooLarge

WEB_DIR = Path(__file__).parent
CLIP_CACHE_BYTES = 512 * 1024**2
STRIP_CACHE_BYTES = 64 * 1024**2


# The one mapping of domain errors to HTTP statuses (most specific class first).
_STATUS_OF_ERROR: tuple[tuple[type[HeatersError], int], ...] = (
    (TooLarge, 413),
    (NotFound, 404),
    (Refused, 409),
    (IllegalTransition, 409),
    (BadInput, 400),
)


def status_of(error: HeatersError) -> int:
    return next((status for kind, status in _STATUS_OF_ERROR if isinstance(error, kind)), 400)


def error_response(request: Request, message: str, status: int):
    """JSON `{"error": …}` with the status for the API and scripts; a form posted by a page gets the message as a
    flash on the page it came from."""
    message = redact(message)
    if request.method == "POST" and "application/json" not in request.headers.get("accept", ""):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            flash(request, message, "error")
            return RedirectResponse("/", status_code=303)
    return JSONResponse({"error": message}, status_code=status)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Heaters", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.state.clip_cache = MediaCache(CLIP_CACHE_BYTES)
    # Clips are cut into files in this process's scratch (data_dir/work/run-PID-…): removed when the process
    # closes its runtime, swept by the next start after a kill — the data dir keeps nothing.
    app.state.clip_cache_dir = runtime.scratch.make_dir("clip-cache")
    app.state.strip_cache = MediaCache(STRIP_CACHE_BYTES)
    settings = runtime.settings
    app.state.login_guard = LoginGuard.from_settings(settings)
    app.state.live = LiveTimelines(runtime)
    app.router.on_shutdown.append(app.state.live.close)
    # The listener starts with the first lookup (an app that serves nothing opens no connection for it).
    app.state.sessions = SessionCache(runtime.database, runtime.settings.session_cache_seconds)
    app.router.on_shutdown.append(app.state.sessions.close)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings, runtime.database),
        session_cookie="heaters_session",
        max_age=settings.session_days * 24 * 3600,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    # Outermost: bodies are capped and bad addresses refused before anything else reads the request.
    app.add_middleware(
        HardeningMiddleware, max_request_bytes=settings.max_request_bytes, max_upload_bytes=settings.max_upload_bytes
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
        answers = readiness(runtime)
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

    @app.exception_handler(DatabaseRefusedValue)
    async def data_error(request: Request, exc: DatabaseRefusedValue):
        # A value PostgreSQL cannot take (an integer out of range, a NUL byte): the request's fault, not ours.
        return JSONResponse({"error": "a value in the request is out of range or malformed"}, status_code=400)

    @app.exception_handler(HeatersError)
    async def domain_error(request: Request, exc: HeatersError):
        return error_response(request, str(exc), status_of(exc))

    @app.exception_handler(NotAllowed)
    async def upload_not_allowed(request: Request, exc: NotAllowed):
        return error_response(request, str(exc), 403)

    return app
