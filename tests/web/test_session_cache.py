"""The in-memory session cache (`heaters.services.sessions.SessionCache`) is as strict as a lookup on every
request: whatever ends a session — a sign-out in another web process, a password change, a user or session
changed by hand in SQL — is refused as soon as the database's notice arrives, and while the cache cannot hear
notices every request is looked up again. Two apps on one database stand for two web processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from fastapi.testclient import TestClient

import heaters.services.sessions as sessions_service
from heaters.config import Settings
from heaters.services.users import create_user, set_password
from heaters.web.app import create_app
from tests.web.conftest import sign_in

KEEP = 3600.0  # seconds: longer than any test, so only a notice (never age) can drop a kept session


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """Every database lookup of a session (the cache's misses), in every app of the test."""
    seen: list[str] = []
    real = sessions_service.session_user

    def counted(database, token):
        seen.append(token)
        return real(database, token)

    monkeypatch.setattr(sessions_service, "session_user", counted)
    return seen


def web_process(runtime, tmp_path, name: str):
    settings = Settings(
        data_dir=tmp_path / name, database_url=runtime.settings.database_url, session_cache_seconds=KEEP
    )
    app = create_app(replace(runtime, settings=settings))
    assert app.state.sessions.wait_usable(timeout=60)  # generous: a loaded CI machine connects slowly
    return app


@pytest.fixture
def two_processes(runtime, reviewers, tmp_path) -> Iterator[tuple[TestClient, TestClient]]:
    first, second = web_process(runtime, tmp_path, "one"), web_process(runtime, tmp_path, "two")
    with TestClient(first, follow_redirects=False) as a, TestClient(second, follow_redirects=False) as b:
        a.csrf = sign_in(a, "ana")
        b.cookies.set("heaters_session", a.cookies.get("heaters_session"))  # the same browser, another process
        yield a, b


def heard(client: TestClient, before: int) -> bool:
    return client.app.state.sessions.notices > before


def test_a_kept_session_costs_no_lookup(two_processes, lookups):
    a, b = two_processes
    assert b.get("/api/review/next").status_code == 200
    first = len(lookups)
    for _ in range(5):
        assert b.get("/api/review/next").status_code == 200
        assert a.get("/api/review/next").status_code == 200
    assert len(lookups) <= first + 1  # at most `a`'s first lookup after its sign-in page


def test_a_sign_out_in_one_process_is_refused_by_the_other(two_processes, lookups):
    a, b = two_processes
    assert b.get("/api/review/next").status_code == 200  # kept by `b`
    before = b.app.state.sessions.notices
    assert a.post("/logout", headers={"X-CSRF-Token": a.csrf}).status_code == 303
    wait_until(lambda: heard(b, before))
    assert b.get("/api/review/next").status_code == 401
    assert b.post("/api/undo", headers={"X-CSRF-Token": a.csrf}).status_code in (401, 403)


def test_the_signing_out_process_refuses_at_once_without_waiting_for_the_notice(runtime, reviewers, tmp_path):
    app = web_process(runtime, tmp_path, "one")
    with TestClient(app, follow_redirects=False) as browser, TestClient(app, follow_redirects=False) as thief:
        csrf = sign_in(browser, "ana")
        thief.cookies.set("heaters_session", browser.cookies.get("heaters_session"))
        assert thief.get("/api/review/next").status_code == 200  # kept
        app.state.sessions._noticed = lambda payload: None  # deaf: only the sign-out itself can drop it
        assert browser.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
        assert thief.get("/api/review/next").status_code == 401


def test_a_password_change_elsewhere_is_refused_by_every_process(two_processes, runtime):
    a, b = two_processes
    assert a.get("/api/review/next").status_code == 200
    assert b.get("/api/review/next").status_code == 200
    before = (a.app.state.sessions.notices, b.app.state.sessions.notices)
    set_password(runtime.database, "ana", "a brand new password")  # the CLI: a third process
    wait_until(lambda: heard(a, before[0]) and heard(b, before[1]))
    assert a.get("/api/review/next").status_code == 401
    assert b.get("/api/review/next").status_code == 401


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE web_sessions SET revoked_at = now()",
        "UPDATE web_sessions SET expires_at = now() - interval '1 second'",
        "DELETE FROM web_sessions",
        "DELETE FROM users WHERE name = 'cleo'",  # the sessions go with the user (cascade)
        "UPDATE users SET name = 'someone else' WHERE name = 'cleo'",
    ],
)
def test_a_session_or_user_changed_by_hand_is_refused(runtime, reviewers, tmp_path, sql):
    create_user(runtime.database, "cleo", "cleo's password")
    app = web_process(runtime, tmp_path, "one")
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser, "cleo", "cleo's password")
        assert browser.get("/api/review/next").status_code == 200
        before = app.state.sessions.notices
        with psycopg.connect(runtime.database.libpq_url, autocommit=True) as conn:
            conn.execute(sql)
        wait_until(lambda: app.state.sessions.notices > before)
        if sql.startswith("UPDATE users"):  # still a live session, of a renamed user: looked up again
            assert browser.get("/api/review/next").status_code == 200
            assert browser.app.state.sessions.cached(browser.cookies.get("heaters_session")) is None
        else:
            assert browser.get("/api/review/next").status_code == 401


def test_while_the_cache_cannot_hear_every_request_is_looked_up(two_processes, runtime, lookups):
    a, b = two_processes
    assert b.get("/api/review/next").status_code == 200
    cache = b.app.state.sessions
    with psycopg.connect(runtime.database.libpq_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN heaters_sessions'")
        wait_until(lambda: not cache.usable)
        # A revocation nobody hears (the listeners are gone): the next request looks the session up.
        conn.execute("UPDATE web_sessions SET revoked_at = now()")
    before = len(lookups)
    assert b.get("/api/review/next").status_code == 401
    assert len(lookups) == before + 1
    wait_until(lambda: cache.usable)  # the listener is back


def test_a_lookup_that_a_revocation_overtakes_is_not_kept(two_processes, runtime, monkeypatch):
    a, b = two_processes
    cache = b.app.state.sessions
    real = sessions_service.session_user

    def overtaken(database, token):
        user = real(database, token)  # live when read …
        before = cache.notices
        with psycopg.connect(runtime.database.libpq_url, autocommit=True) as conn:
            conn.execute("UPDATE web_sessions SET revoked_at = now()")  # … revoked before it is kept
        wait_until(lambda: cache.notices > before)
        return user

    monkeypatch.setattr(sessions_service, "session_user", overtaken)
    assert cache.lookup(token_of(b)) is not None  # the stale answer of that one lookup …
    monkeypatch.setattr(sessions_service, "session_user", real)
    assert cache.cached(token_of(b)) is None  # … is not kept
    assert b.get("/api/review/next").status_code == 401


def token_of(client: TestClient) -> str:
    """The session token inside the signed cookie (what the cache is keyed by)."""
    import base64
    import json

    cookie = client.cookies.get("heaters_session")
    payload = cookie.split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
