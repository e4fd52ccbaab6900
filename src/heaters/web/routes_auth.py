"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from heaters.services.users import authenticate
from heaters.web.login_guard import TooManyAttempts
from heaters.web.security import csrf_valid, require_csrf_form, sign_in, sign_out, signed_in
from heaters.web.templating import render

router = APIRouter()
HASH_WAIT_SECONDS = 10


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://…" would make the sign-in page an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/review"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    if signed_in(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None, name="")


@router.post("/login")
def login(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    next: str = Form("/review"),
    csrf_token: str = Form(""),
):
    if not csrf_valid(request, csrf_token):
        return render(
            request, "login.html", 403, next=_safe_next(next), error="The form expired; try again.", name=name
        )
    guard = request.app.state.login_guard
    address = request.client.host if request.client else "?"
    try:
        guard.check(address, name)
    except TooManyAttempts as exc:
        response = render(
            request, "login.html", 429, next=_safe_next(next), error=f"{str(exc).capitalize()}.", name=name
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # Argon2 takes 64 MiB per check: only a few at once; the rest wait briefly, then are told to retry.
    if not guard.hashing.acquire(timeout=HASH_WAIT_SECONDS):
        response = render(
            request, "login.html", 503, next=_safe_next(next), error="Too many sign-ins at once; try again.", name=name
        )
        response.headers["Retry-After"] = "2"
        return response
    try:
        reviewer = authenticate(request.app.state.runtime.database, name, password)
    finally:
        guard.hashing.release()
    if reviewer is None:
        guard.failed(address, name)
        return render(request, "login.html", 401, next=_safe_next(next), error="Wrong name or password.", name=name)
    guard.succeeded(name)
    sign_in(request, reviewer)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf_form)])
def logout(request: Request):
    sign_out(request)
    return RedirectResponse("/login", status_code=303)
