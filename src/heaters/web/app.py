"""The FastAPI application factory. Routes are thin: they call the same services as the CLI.

Wiring only: sessions, templates and static files, the routers, and the one place where domain errors
become HTTP statuses (Refused 409, NotFound 404, BadInput 400, a value the database refuses 400; sign-in
needed: redirect or 401).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.middleware.sessions import SessionMiddleware

from heaters.adapters.db.connection import ping
from heaters.domain.errors import BadInput, HeatersError, NotFound, Refused
from heaters.runtime import Runtime
from heaters.web import routes_auth, routes_dashboard, routes_library, routes_review
from heaters.web.hardening import HardeningMiddleware
from heaters.web.login_guard import LoginGuard
from heaters.web.media import MediaCache, process_cache_dir
from heaters.web.security import LoginRequired, session_secret

WEB_DIR = Path(__file__).parent
CLIP_CACHE_BYTES = 512 * 1024**2
STRIP_CACHE_BYTES = 64 * 1024**2


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Heaters", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.state.clip_cache = MediaCache(CLIP_CACHE_BYTES)
    app.state.clip_cache_dir = process_cache_dir(runtime.settings.data_path / "cache" / "clips")
    app.state.strip_cache = MediaCache(STRIP_CACHE_BYTES)
    settings = runtime.settings
    app.state.login_guard = LoginGuard.from_settings(settings)
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
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "database": ping(runtime.database)}

    app.include_router(routes_auth.router)
    app.include_router(routes_review.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_library.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        # A value PostgreSQL cannot take (an integer out of range, a NUL byte): the request's fault, not ours.
        return JSONResponse({"error": "a value in the request is out of range or malformed"}, status_code=400)

    @app.exception_handler(HeatersError)
    async def domain_error(request: Request, exc: HeatersError):
        status = 409 if isinstance(exc, Refused) else 404 if isinstance(exc, NotFound) else 400
        if isinstance(exc, BadInput | Refused | NotFound):
            return JSONResponse({"error": str(exc)}, status_code=status)
        return JSONResponse({"error": str(exc)}, status_code=500)

    return app
