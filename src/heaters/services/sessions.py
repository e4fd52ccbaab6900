"""Reviewer sign-in sessions: stored in the database so that signing out (or a password change) revokes them
in every web process at once, and the signing secret every web process shares. The web's security module
uses these; the SQL is in `heaters.adapters.db.sessions`."""

from __future__ import annotations

from heaters.adapters.db.connection import Database
from heaters.adapters.db.sessions import (
    MIN_SECRET_LENGTH,
    SessionUser,
    create_session,
    revoke_session,
    session_user,
    shared_secret,
)

__all__ = [
    "MIN_SECRET_LENGTH",
    "Database",
    "SessionUser",
    "create_session",
    "revoke_session",
    "session_user",
    "shared_secret",
]
