"""Who is signed in, and CSRF protection.

Sessions are signed cookies (Starlette SessionMiddleware) holding the reviewer's id and name and a
per-session CSRF token. Pages without a signed-in reviewer redirect to /login; media and API answer 401.
Every state-changing request carries the CSRF token, in the `X-CSRF-Token` header (the JS module) or a
`csrf_token` form field (plain forms); otherwise 403.

The dependencies are `async def` although they never wait: they only read the signed cookie's session, and
FastAPI runs a plain `def` dependency in its thread pool — two thread hops per request for nothing.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import HTTPException, Request

from heaters.config import Settings
from heaters.services.users import Reviewer

SESSION_USER = "user_id"
SESSION_NAME = "user_name"
SESSION_CSRF = "csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """Raised by page routes; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_url: str):
        self.next_url = next_url


def session_secret(settings: Settings) -> str:
    """The configured secret, or one generated once into data_dir/secret_key (readable by us only)."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_path / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().decode().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_bytes().decode().strip()


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
    """Dependency for form posts (urlencoded or small multipart forms): header or form field."""
    if csrf_valid(request, request.headers.get(CSRF_HEADER)):
        return
    form = await request.form()
    if not csrf_valid(request, form.get(CSRF_FIELD)):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


def signed_in(request: Request) -> Reviewer | None:
    user_id = request.session.get(SESSION_USER)
    return Reviewer(int(user_id), request.session.get(SESSION_NAME, "")) if user_id is not None else None


def sign_in(request: Request, reviewer: Reviewer) -> None:
    request.session.clear()  # a new session on sign-in: no fixation of a pre-login session or token
    request.session[SESSION_USER] = reviewer.id
    request.session[SESSION_NAME] = reviewer.name
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


async def page_user(request: Request) -> Reviewer:
    """Dependency for pages: the reviewer, or a redirect to /login."""
    reviewer = signed_in(request)
    if reviewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/?=&"))
    return reviewer


async def api_user(request: Request) -> Reviewer:
    """Dependency for media and API: the reviewer, or 401."""
    reviewer = signed_in(request)
    if reviewer is None:
        raise HTTPException(status_code=401, detail="sign in first")
    return reviewer
