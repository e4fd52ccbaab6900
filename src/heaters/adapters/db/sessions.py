"""Gateway for web sessions and shared secrets (tables `web_sessions`, `app_secrets`, migration 0005).

A session row is keyed by the SHA-256 of a random token; the token travels only inside the signed cookie, so
a database reader cannot replay a session. A session is valid while it is neither revoked nor expired and
its user still exists.

Every change to a session row or a user row is announced on `SESSION_CHANNEL` by the tables' triggers (migration
0009): the payload is the changed session's id, or "*" when a user changed (forget every session). Processes that
keep sessions in memory listen to it (`heaters.services.sessions.SessionCache`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from heaters.adapters.db.connection import Database

MIN_SECRET_LENGTH = 32
SESSION_CHANNEL = "heaters_sessions"
FORGET_ALL = "*"


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    user_name: str
    expires_at: datetime | None = None


def session_id(token: str) -> str:
    """The stored id of a session token (its SHA-256): what the triggers announce."""
    return hashlib.sha256(token.encode()).hexdigest()


def shared_secret(database: Database, name: str) -> str:
    """The secret called `name`, created at random by the first process to ask (race-free: every process gets
    the value that won the insert)."""
    candidate = secrets.token_urlsafe(48)
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO app_secrets (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING"),
            {"name": name, "value": candidate},
        )
        value = conn.execute(text("SELECT value FROM app_secrets WHERE name = :name"), {"name": name}).scalar_one()
    return value


def create_session(database: Database, user_id: int, lifetime: timedelta, address: str | None = None) -> str:
    """A new session for the user; returns its token (to be kept in the signed cookie only)."""
    token = secrets.token_urlsafe(32)
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO web_sessions (id, user_id, expires_at, address) "
                "VALUES (:id, :user_id, now() + :lifetime, :address)"
            ),
            {"id": session_id(token), "user_id": user_id, "lifetime": lifetime, "address": (address or "")[:64]},
        )
    return token


_SESSION_USER = text(
    "SELECT u.id, u.name, s.expires_at FROM web_sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.id = :id AND s.revoked_at IS NULL AND s.expires_at > now()"
)


def session_user(database: Database, token: str) -> SessionUser | None:
    """The user of a live session, or None (unknown, revoked, expired, or the user is gone). One statement on its
    own (autocommit: no BEGIN/ROLLBACK round trips)."""
    with database.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        row = conn.execute(_SESSION_USER, {"id": session_id(token)}).first()
    return SessionUser(row[0], row[1], row[2]) if row else None


def revoke_session(database: Database, token: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE web_sessions SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"),
            {"id": session_id(token)},
        )


def revoke_user_sessions(database: Database, user_id: int) -> int:
    """Revoke every live session of a user (password change); returns how many."""
    with database.engine.begin() as conn:
        result = conn.execute(
            text("UPDATE web_sessions SET revoked_at = now() WHERE user_id = :user AND revoked_at IS NULL"),
            {"user": user_id},
        )
    return result.rowcount


def delete_dead_sessions(database: Database, older_than: datetime) -> int:
    """Housekeeping: forget sessions that expired or were revoked before `older_than`."""
    with database.engine.begin() as conn:
        result = conn.execute(
            text("DELETE FROM web_sessions WHERE expires_at < :t OR revoked_at < :t"), {"t": older_than}
        )
    return result.rowcount


def replace_password(database: Database, name: str, password_hash: str) -> int | None:
    """Set a user's password hash and revoke all their sessions, in one transaction; the user's id, or None."""
    with database.engine.begin() as conn:
        user_id = conn.execute(
            text("UPDATE users SET password_hash = :hash WHERE name = :name RETURNING id"),
            {"hash": password_hash, "name": name},
        ).scalar()
        if user_id is not None:
            conn.execute(
                text("UPDATE web_sessions SET revoked_at = now() WHERE user_id = :user AND revoked_at IS NULL"),
                {"user": user_id},
            )
    return user_id
