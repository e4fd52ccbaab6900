"""Web fixtures: a real proxy of real footage in storage, a video with clips from its known cuts, the app,
and signed-in HTTP clients."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo
from heaters.adapters.sample_media import KNOWN_CUTS, fetch
from heaters.domain.storage_keys import proxy_key
from heaters.domain.timeline import clips_from_cuts
from heaters.services.users import create_user
from heaters.web.app import create_app
from tests.adapters.media_helpers import make_proxy

PASSWORD = "correct horse battery"
BIKES_FRAMES = 250
BIKES_FPS = 25.0


@pytest.fixture(scope="session")
def bikes_proxy(tmp_path_factory) -> Path:
    return make_proxy(fetch("bikes.mp4"), tmp_path_factory.mktemp("proxy") / "bikes_proxy.mp4")


def add_video(runtime, proxy: Path, cuts=None, title="Bikes at the crossing", frames=BIKES_FRAMES) -> int:
    cuts = KNOWN_CUTS["bikes.mp4"] if cuts is None else cuts
    with runtime.database.sessions.begin() as session:
        video = SourceVideo(
            source="bikes.mp4", title=title, state="scenes_detected", attempts=0, fps=BIKES_FPS,
            frame_count=frames, width=640, height=272, duration_seconds=frames / BIKES_FPS,
        )  # fmt: skip
        session.add(video)
        session.flush()
        video.proxy_key = proxy_key(video.id)
        for start, end in clips_from_cuts(list(cuts), frames, 1):
            session.add(
                ClipRow(video_id=video.id, start_frame=start, end_frame=end, state="pending_review", attempts=0)
            )
        video_id = video.id
    runtime.storage.put_file(proxy_key(video_id), proxy)
    return video_id


@pytest.fixture
def video_id(runtime, bikes_proxy) -> int:
    return add_video(runtime, bikes_proxy)


@pytest.fixture
def reviewers(runtime):
    return create_user(runtime.database, "ana", PASSWORD), create_user(runtime.database, "ben", PASSWORD)


@pytest.fixture
def app(runtime):
    return create_app(runtime)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def client(app, reviewers):
    with TestClient(app, follow_redirects=False) as c:
        c.csrf = sign_in(c, "ana")
        yield c


@pytest.fixture
def anonymous(app):
    with TestClient(app, follow_redirects=False) as c:
        yield c


@contextmanager
def served(app) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (random port) in a thread; stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Streams (server-sent events) still open when the test ends are cut after a moment, as `heaters serve` does.
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        for listening in ("live", "sessions"):  # lifespan is off: what the app's shutdown would close
            hub = getattr(app.state, listening, None)
            if hub is not None:
                hub.close()
        thread.join(timeout=10)
        sock.close()
