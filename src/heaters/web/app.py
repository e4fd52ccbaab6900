"""The FastAPI application factory. Routes are thin: they call the same services as the CLI.

Wiring only: sessions, templates and static files, the routers, and the one place where domain errors
become HTTP statuses (Refused 409, NotFound 404, BadInput 400; sign-in needed: redirect or 401).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from heaters.domain.errors import BadInput, HeatersError, IllegalTransition, NotFound, Refused
from heaters.runtime import Runtime
from heaters.services.status import database_reachable
from heaters.web import routes_auth, routes_dashboard, routes_library, routes_review
from heaters.web.live import LiveTimelines
from heaters.web.media import MediaCache
from heaters.web.security import LoginRequired, session_secret
from heaters.web.templating import flash
from heaters.web.uploads import NotAllowed, TooLarge

WEB_DIR = Path(__file__).parent
CLIP_CACHE_BYTES = 512 * 1024**2
STRIP_CACHE_BYTES = 64 * 1024**2
SESSION_DAYS = 14


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
    app.state.strip_cache = MediaCache(STRIP_CACHE_BYTES)
    app.state.live = LiveTimelines(runtime)
    app.router.on_shutdown.append(app.state.live.close)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(runtime.settings),
        session_cookie="heaters_session",
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
    )
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "database": database_reachable(runtime)}

    app.include_router(routes_auth.router)
    app.include_router(routes_review.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_library.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(HeatersError)
    async def domain_error(request: Request, exc: HeatersError):
        return error_response(request, str(exc), status_of(exc))

    @app.exception_handler(NotAllowed)
    async def upload_not_allowed(request: Request, exc: NotAllowed):
        return error_response(request, str(exc), 403)

    return app
