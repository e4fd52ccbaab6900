"""Reviewer sign-in sessions: stored in the database so that signing out (or a password change) revokes them
in every web process at once, and the signing secret every web process shares. The web's security module
uses these; the SQL is in `heaters.adapters.db.sessions`.

`SessionCache` keeps the sessions a process has seen in memory, so that a key press costs no sign-in lookup,
without making revocation any slower: it forgets a session the moment the database announces its change.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from heaters.adapters.db.connection import Database
from heaters.adapters.db.live import ChannelListener
from heaters.adapters.db.sessions import (
    FORGET_ALL,
    MIN_SECRET_LENGTH,
    SESSION_CHANNEL,
    SessionUser,
    create_session,
    revoke_session,
    session_id,
    session_user,
    shared_secret,
)

__all__ = [
    "MIN_SECRET_LENGTH",
    "Database",
    "SessionCache",
    "SessionUser",
    "create_session",
    "revoke_session",
    "session_user",
    "shared_secret",
]


class SessionCache:
    """The live sessions this process has looked up, by token. As strict as a lookup on every request:

    - it answers only while its listener LISTENs on the sessions channel (fed by the tables' triggers, so every
      way a session ends is heard: sign-out, password change, housekeeping, a user changed or deleted by hand);
      until then, and from the moment that connection is lost, every request is looked up and what was kept is
      forgotten (notices sent meanwhile are lost);
    - a notice drops its session, or everything (a user changed);
    - a lookup is kept only if no notice arrived while it ran (a generation count), so a revocation that commits
      during a lookup is never cached as live;
    - a hit checks the session's own expiry, and an entry older than `max_age` seconds is looked up again;
    - this process's own sign-out forgets the session at once (`forget`), before its notice comes back.

    The remaining window is the notice's trip from PostgreSQL to each other process's listener (milliseconds).
    Unknown and dead sessions are never kept: each costs a lookup, as before."""

    def __init__(self, database: Database, max_age: float, max_entries: int = 10_000) -> None:
        self._database = database
        self._max_age = max_age
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[SessionUser, float]] = OrderedDict()  # session id -> (user, kept at)
        self._lock = threading.Lock()
        self._generation = 0
        self._listener: ChannelListener | None = None
        self._usable = False
        self.notices = 0  # notices heard so far (tests wait on it)

    @property
    def enabled(self) -> bool:
        return self._max_age > 0

    def start(self) -> SessionCache:
        """Start listening (idempotent); the cache answers once LISTEN is in place."""
        with self._lock:
            if self._listener is None and self.enabled:
                self._listener = ChannelListener(
                    self._database.libpq_url, SESSION_CHANNEL, self._noticed, on_listening=self._listening
                ).start()
        return self

    def wait_usable(self, timeout: float = 10.0) -> bool:
        """Wait until the listener is in place (tests; requests never wait: they look up meanwhile)."""
        self.start()
        return self._listener is not None and self._listener.wait_listening(timeout) and self._usable

    @property
    def usable(self) -> bool:
        """Answering from memory (the listener is in place)."""
        return self._usable

    def cached(self, token: str) -> SessionUser | None:
        """The kept user of this token's session, or None (not kept: look it up)."""
        if not self._usable:
            return None
        key = session_id(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            user, kept_at = entry
            if not self._usable or time.monotonic() - kept_at > self._max_age or _expired(user):
                del self._entries[key]
                return None
            return user

    def lookup(self, token: str) -> SessionUser | None:
        """Look the session up in the database (live: its user; otherwise None) and keep a live one."""
        with self._lock:
            generation = self._generation
        user = session_user(self._database, token)
        if user is None or not self.enabled:
            return user
        self.start()
        with self._lock:
            if self._usable and self._generation == generation:
                key = session_id(token)
                self._entries[key] = (user, time.monotonic())
                self._entries.move_to_end(key)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return user

    def forget(self, token: str) -> None:
        """This process ended the session (sign-out): forget it now."""
        with self._lock:
            self._generation += 1
            self._entries.pop(session_id(token), None)

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        self._forget_all(usable=False)

    # on the listener's thread

    def _noticed(self, payload: str) -> None:
        with self._lock:
            self._generation += 1
            self.notices += 1
            if payload == FORGET_ALL:
                self._entries.clear()
            else:
                self._entries.pop(payload, None)

    def _listening(self, listening: bool) -> None:
        self._forget_all(usable=listening)

    def _forget_all(self, *, usable: bool) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._usable = usable


def _expired(user: SessionUser) -> bool:
    return user.expires_at is not None and user.expires_at <= datetime.now(UTC)
