"""Who is signed in, and CSRF protection.

Sessions live in the database (`adapters.db.sessions`): the signed cookie (Starlette SessionMiddleware) holds
a random session token and a per-session CSRF token; every request checks the token against the database (or
against this process's memory of it, which the database's notices keep current), so a session revoked by logout
or a password change stops working at once, in every web process. The cookie's signing key is
`HEATERS_SECRET_KEY` (at least 32 characters) or one generated once into the database and shared by every
process using it. Pages without a signed-in reviewer redirect to /login; media and API answer 401.
Every state-changing request carries the CSRF token, in the `X-CSRF-Token` header (the JS module) or a
`csrf_token` form field (plain forms); otherwise 403. Sign-in is checked before any body is read.

The dependencies are `async def`: a session this process keeps in memory (`SessionCache`, forgotten the moment
the database announces a sign-out, password change or user change) is answered on the event loop; any other is
looked up in the thread pool, never on the event loop, which would otherwise stop serving every other request
and live stream while it waits.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import quote

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from heaters.config import Settings
from heaters.domain.errors import BadInput
from heaters.services.sessions import (
    MIN_SECRET_LENGTH,
    Database,
    SessionCache,
    create_session,
    revoke_session,
    shared_secret,
)
from heaters.services.users import Reviewer

SESSION_TOKEN = "sid"
SESSION_CSRF = "csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """Raised by page routes; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_url: str):
        self.next_url = next_url


def session_secret(settings: Settings, database: Database) -> str:
    """HEATERS_SECRET_KEY, or the deployment's secret generated once into the database (shared by every web
    process on it). A short configured secret is refused: it could be guessed, and sessions forged."""
    if settings.secret_key is not None:
        if len(settings.secret_key.strip()) < MIN_SECRET_LENGTH:
            raise BadInput(
                f"HEATERS_SECRET_KEY is {len(settings.secret_key.strip())} characters; use at least "
                f"{MIN_SECRET_LENGTH} random characters, or unset it to use the one kept in the database"
            )
        return settings.secret_key
    return shared_secret(database, "session")


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(SESSION_CSRF)
    return bool(expected and submitted and secrets.compare_digest(expected, submitted))


async def require_csrf_header(request: Request) -> None:
    """Dependency for JSON API writes."""
    if not csrf_valid(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


async def require_csrf_form(request: Request) -> None:
    """Dependency for form posts (urlencoded or small multipart forms): header or form field. Sign-in is checked
    first, so nobody unauthenticated makes the server read (and spool) a body."""
    if await signed_in_off_loop(request) is None:
        raise LoginRequired(quote(request.url.path, safe="/"))
    if csrf_valid(request, request.headers.get(CSRF_HEADER)):
        return
    form = await request.form(max_files=1, max_fields=20, max_part_size=64 * 1024)
    if not csrf_valid(request, form.get(CSRF_FIELD)):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


def _database(request: Request) -> Database:
    return request.app.state.runtime.database


def _sessions(request: Request) -> SessionCache:
    return request.app.state.sessions


def _token(request: Request) -> str | None:
    token = request.session.get(SESSION_TOKEN)
    return token if isinstance(token, str) and token else None


def _remember(request: Request, user) -> Reviewer | None:
    reviewer = Reviewer(user.user_id, user.user_name) if user is not None else None
    request.state.reviewer = reviewer
    return reviewer


def signed_in(request: Request) -> Reviewer | None:
    """The reviewer of this request's live session (looked up once per request), or None."""
    if "reviewer" in request.scope.get("state", {}):
        return request.state.reviewer
    token = _token(request)
    user = None
    if token is not None:
        user = _sessions(request).cached(token) or _sessions(request).lookup(token)
        if user is None:
            request.session.clear()  # revoked or expired: the cookie is worth nothing now
    return _remember(request, user)


async def signed_in_off_loop(request: Request) -> Reviewer | None:
    """`signed_in` from async code: a kept session is answered here; a lookup waits on the database in the thread
    pool, not on the event loop."""
    if "reviewer" in request.scope.get("state", {}):
        return request.state.reviewer
    token = _token(request)
    if token is not None and (user := _sessions(request).cached(token)) is not None:
        return _remember(request, user)
    return await run_in_threadpool(signed_in, request)


def sign_in(request: Request, reviewer: Reviewer) -> None:
    request.session.clear()  # a new session on sign-in: no fixation of a pre-login session or token
    settings = request.app.state.runtime.settings
    address = request.client.host if request.client else None
    request.session[SESSION_TOKEN] = create_session(
        _database(request), reviewer.id, timedelta(days=settings.session_days), address
    )
    request.state.reviewer = reviewer
    csrf_token(request)


def sign_out(request: Request) -> None:
    token = _token(request)
    if token is not None:
        revoke_session(_database(request), token)
        _sessions(request).forget(token)  # the notice reaches the other processes; this one forgets now
    request.session.clear()
    request.state.reviewer = None


async def page_user(request: Request) -> Reviewer:
    """Dependency for pages: the reviewer, or a redirect to /login."""
    reviewer = await signed_in_off_loop(request)
    if reviewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/?=&"))
    return reviewer


async def api_user(request: Request) -> Reviewer:
    """Dependency for media and API: the reviewer, or 401."""
    reviewer = await signed_in_off_loop(request)
    if reviewer is None:
        raise HTTPException(status_code=401, detail="sign in first")
    return reviewer
