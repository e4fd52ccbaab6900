"""Jinja2 templates with what every page needs: the signed-in reviewer, the CSRF token, flash messages,
and cache-busted static URLs."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from heaters.web.security import csrf_token, signed_in

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")


@cache
def _static_version(name: str) -> str:
    return hashlib.sha256((WEB_DIR / "static" / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={_static_version(name)}"


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], {"kind": kind, "message": message}][-5:]


def render(request: Request, template: str, status_code: int = 200, **context):
    messages = request.session.pop("flash", [])
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": signed_in(request),
            "csrf": csrf_token(request),
            "flashes": messages,
            "static_url": static_url,
            **context,
        },
        status_code=status_code,
    )
