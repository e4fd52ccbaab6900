"""Sessions, sign-in and request hardening against the real app, database and (where the wire matters) a real
uvicorn server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

import heaters.services.users as users_service
from heaters.adapters.db.connection import open_database
from heaters.config import Settings
from heaters.domain.errors import BadInput
from heaters.services.users import set_password
from heaters.web.app import create_app
from heaters.web.security import session_secret
from tests.web.conftest import PASSWORD, csrf_of, served, sign_in
from tests.web.test_session_cache import wait_until

# --- the session secret (finding 3, issue 12 item 2)


def test_simultaneous_starts_all_get_the_same_long_secret(settings, tmp_path):
    """30 'processes' (own settings and engine each) starting at the same moment on a fresh database."""
    starters = 30
    barrier = threading.Barrier(starters)
    secrets: list[str] = []
    errors: list[BaseException] = []

    def start(index: int) -> None:
        own = Settings(data_dir=tmp_path / f"machine-{index % 3}", database_url=settings.database_url)
        database = open_database(own, migrate=False)
        try:
            barrier.wait()
            secrets.append(session_secret(own, database))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            database.engine.dispose()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(secrets) == starters and len(set(secrets)) == 1
    assert len(secrets[0]) >= 32
    assert not any((tmp_path / f"machine-{i}" / "secret_key").exists() for i in range(3))


def test_a_short_configured_secret_is_refused(settings, database):
    with pytest.raises(BadInput, match=r"HEATERS_SECRET_KEY is 6 characters; use at least 32"):
        session_secret(
            Settings(data_dir=settings.data_dir, database_url=settings.database_url, secret_key="abcdef"), database
        )


def test_two_web_processes_with_their_own_data_dirs_accept_each_others_sessions(runtime, reviewers, tmp_path):
    from dataclasses import replace

    other = replace(
        runtime, settings=Settings(data_dir=tmp_path / "elsewhere", database_url=runtime.settings.database_url)
    )
    with TestClient(create_app(runtime), follow_redirects=False) as first:
        csrf = sign_in(first, "ana")
        cookie = first.cookies.get("heaters_session")
    with TestClient(create_app(other), follow_redirects=False) as second:
        second.cookies.set("heaters_session", cookie)
        assert second.get("/api/review/next").status_code == 200
        # the CSRF token of the session is valid there too
        assert second.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303


# --- revocable sessions (finding 6)


def test_a_cookie_captured_before_logout_is_worthless_after_it(app, reviewers, video_id):
    with TestClient(app, follow_redirects=False) as browser:
        csrf = sign_in(browser, "ana")
        captured = browser.cookies.get("heaters_session")
        assert browser.get("/api/review/next").status_code == 200
        assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    with TestClient(app, follow_redirects=False) as attacker:
        attacker.cookies.set("heaters_session", captured)
        assert attacker.get("/api/review/next").status_code == 401
        assert attacker.get("/review").status_code == 303  # to the sign-in page
        assert attacker.post(
            "/api/clips/1/actions", json={"action": "approve"}, headers={"X-CSRF-Token": csrf}
        ).status_code in (401, 403)


def test_a_password_change_signs_out_every_session(app, runtime, reviewers):
    with TestClient(app, follow_redirects=False) as laptop, TestClient(app, follow_redirects=False) as phone:
        sign_in(laptop, "ana")
        sign_in(phone, "ana")
        assert app.state.sessions.wait_usable(timeout=60)  # listening: the password change below is heard
        heard = app.state.sessions.notices
        set_password(runtime.database, "ana", "a brand new password")  # as the CLI does, from another process
        wait_until(lambda: app.state.sessions.notices > heard)  # the database's notice: milliseconds
        assert laptop.get("/api/review/next").status_code == 401
        assert phone.get("/api/review/next").status_code == 401
        sign_in(laptop, "ana", "a brand new password")
        assert laptop.get("/api/review/next").status_code == 200


def test_cookie_secure_setting(runtime, reviewers):
    runtime.settings.cookie_secure = True
    with TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False) as browser:
        response = browser.get("/login")
        assert "secure" in response.headers["set-cookie"].lower()
        assert "httponly" in response.headers["set-cookie"].lower()


# --- sign-in rate limit and bounded hashing (finding 7)


def _attempt(client: TestClient, name: str, password: str):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"})


def test_sign_in_is_throttled_per_name(anonymous, reviewers, runtime):
    for _ in range(runtime.settings.login_attempts_per_name):
        assert _attempt(anonymous, "ana", "wrong password").status_code == 401
    refused = _attempt(anonymous, "ana", PASSWORD)  # even the right password, for a while
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in refused.text.lower()
    assert _attempt(anonymous, "ben", PASSWORD).status_code == 303  # other names are not locked out


def test_sign_in_is_throttled_per_address(anonymous, reviewers, runtime):
    for i in range(runtime.settings.login_attempts_per_address):
        assert _attempt(anonymous, f"guess-{i}", "wrong password").status_code == 401
    assert _attempt(anonymous, "ben", PASSWORD).status_code == 429


def test_concurrent_password_checks_are_bounded(app, reviewers, runtime, monkeypatch):
    """40 sign-ins at once: at most `login_concurrent_hashes` Argon2 checks (64 MiB each) run together."""
    running = [0]
    peak = [0]
    lock = threading.Lock()
    real = users_service._hasher

    class CountingHasher:  # the real Argon2 work, counted
        def _counted(self, method, *args, **kwargs):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            try:
                return method(*args, **kwargs)
            finally:
                with lock:
                    running[0] -= 1

        def verify(self, *args, **kwargs):
            return self._counted(real.verify, *args, **kwargs)

        def hash(self, *args, **kwargs):
            return self._counted(real.hash, *args, **kwargs)

    monkeypatch.setattr(users_service, "_hasher", CountingHasher())
    runtime.settings.login_attempts_per_address = 1000
    runtime.settings.login_attempts_per_name = 1000
    statuses: list[int] = []

    def one() -> None:
        with TestClient(app, follow_redirects=False) as browser:
            statuses.append(_attempt(browser, "ana", "wrong password").status_code)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 40 and set(statuses) <= {401, 503}
    assert 1 <= peak[0] <= runtime.settings.login_concurrent_hashes


# --- bodies (finding 8)


def _raw_post_start(base: str, path: str, declared: int, first: bytes) -> bytes:
    """Send a POST declaring a large body, send only its first bytes, and read what the server answers."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=20) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        sock.sendall(head + first)
        try:
            return sock.recv(4096)
        except TimeoutError:
            return b""


def test_an_unauthenticated_form_post_is_answered_before_its_body_is_read(app, runtime):
    part = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n' + b"\0" * 60000
    with served(app) as base:
        # within the size cap: the sign-in check answers without waiting for (or spooling) the rest
        answer = _raw_post_start(base, "/videos", 900_000, part)
        assert answer.startswith(b"HTTP/1.1 303"), answer[:200]
        assert b"location: /login" in answer.lower()
        # over the cap: refused from the declared length alone
        answer = _raw_post_start(base, "/videos", 200 * 1024**2, part)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    spooled = (
        list((runtime.settings.data_path / "uploads").glob("*"))
        if (runtime.settings.data_path / "uploads").exists()
        else []
    )
    assert spooled == []


def test_every_body_is_capped(anonymous, client):
    big = "x" * (2 * 1024 * 1024)
    assert anonymous.post("/login", data={"name": big, "password": "p"}).status_code == 413
    response = client.post(
        "/api/clips/1/actions", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={"X-CSRF-Token": client.csrf}
    )
    assert response.status_code == 413


# --- low items: headers, bad values


def test_pages_carry_security_headers(anonymous, client):
    for response in (anonymous.get("/login"), client.get("/"), client.get("/api/videos")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        "/api/review/clips/2147483648",
        "/api/review/clips/99999999999999999999999",
        "/clips/2147483648/video.mp4",
        "/videos/9223372036854775808/strip.jpg",
        "/api/clips/2147483648/similar",
        "/api/library?video=2147483648",
        "/api/library?offset=9223372036854775808",
        "/api/search?text=a%00b",
        "/library?state=%00",
        "/keyframes/2147483648",
        "/clips/2147483648/export.mp4",
    ],
)
def test_out_of_range_integers_and_nul_bytes_are_client_errors(client, video_id, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])


def test_nul_bytes_and_huge_numbers_in_bodies_are_client_errors(client, anonymous, video_id, reviewers):
    token = csrf_of(anonymous.get("/login").text)
    assert anonymous.post("/login", data={"name": "a\0b", "password": "x" * 8, "csrf_token": token}).status_code == 401
    response = client.post(
        "/api/clips/1/actions", json={"action": "split", "frame": 2**40}, headers={"X-CSRF-Token": client.csrf}
    )
    assert 400 <= response.status_code < 500, response.text
    response = client.post(
        "/videos",
        data={"source": "http://example.com/\0", "csrf_token": client.csrf},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400


# --- clip playback (finding 11)


def test_a_small_range_of_a_clip_does_not_hold_the_clip_in_memory(client, video_id, app):
    import tracemalloc

    full = client.get("/clips/3/video.mp4")
    assert full.status_code == 200 and len(full.content) > 200_000
    kept = list(app.state.clip_cache_dir.iterdir())
    assert len(kept) == 1  # the first answer's cut, kept on disk for the next request
    from heaters.web.media import MediaCache

    app.state.clip_cache = MediaCache(0)  # nothing kept: the next request cuts again
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = client.get("/clips/3/video.mp4", headers={"Range": "bytes=1000-2023"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 206 and response.content == full.content[1000:2024]
    assert peak < len(full.content) / 2, (peak, len(full.content))
    # the cut lived in this process's cache directory, not in memory; one not kept is gone once served
    assert list(app.state.clip_cache_dir.iterdir()) == kept


# --- submit-time refusals


@pytest.mark.parametrize(
    "source,words",
    [
        ("http://10.0.0.1/x.mp4", "HEATERS_ALLOW_PRIVATE_URLS"),
        ("http://[::ffff:127.0.0.1]:9/x.mp4", "HEATERS_ALLOW_PRIVATE_URLS"),
        ("/etc/hostname", "HEATERS_ALLOWED_ROOTS"),
    ],
)
def test_the_dashboard_refuses_at_submit_time_naming_the_setting(client, runtime, source, words):
    response = client.post(
        "/videos", data={"source": source, "csrf_token": client.csrf}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400 and words in response.json()["error"]
    page = client.post("/videos", data={"source": source, "csrf_token": client.csrf})
    assert page.status_code == 303 and words in client.get("/").text
    assert client.get("/api/videos").json()["videos"] == []


def test_the_dashboard_refuses_a_still_image_in_an_allowed_root(client, runtime, tmp_path):
    from PIL import Image

    root = tmp_path / "media"
    root.mkdir()
    Image.new("RGB", (64, 48)).save(root / "holiday.mp4", format="PNG")
    runtime.settings.allowed_roots = [root]
    response = client.post(
        "/videos",
        data={"source": str(root / "holiday.mp4"), "csrf_token": client.csrf},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400 and "still image (PNG), not a video" in response.json()["error"]
