# ruff: noqa: F811  (fixtures are imported by name)
"""The live timeline across processes, and a clean stop: `heaters serve` (a subprocess) streams a video's
timeline to a signed-in page; a review action made by *another process* (this test, through the services,
on the same database) arrives on that stream; SIGTERM then stops the server although the stream is open."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from heaters.config import Settings
from heaters.runtime import open_runtime
from heaters.services import review
from heaters.services.users import create_user
from tests.e2e.conftest import ADMIN_PASSWORD, START_TIMEOUT, _free_port, _healthy, _stop_leftover_postgres
from tests.web.conftest import PASSWORD, add_video, bikes_proxy  # noqa: F401

pytestmark = pytest.mark.slow


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"name": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return client


def test_a_change_by_another_process_reaches_the_stream_and_sigterm_still_stops_the_server(bikes_proxy):
    root = Path(tempfile.mkdtemp(prefix="heaters-live-", dir="/tmp"))
    root.chmod(0o755)
    data_dir = root / "data"
    port = _free_port()
    env = dict(os.environ, HEATERS_DATA_DIR=str(data_dir), HEATERS_ADMIN_PASSWORD=ADMIN_PASSWORD)
    env.pop("HEATERS_DATABASE_URL", None)
    cli = [sys.executable, "-c", "from heaters.cli import main; main()"]
    command = [*cli, "serve", "--no-worker", "--port", str(port)]
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    runtime = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(base):
            assert process.poll() is None and time.monotonic() < deadline, (root / "serve.log").read_text()
            time.sleep(0.5)
        # this process attaches to the same (embedded) database, as the CLI does
        runtime = open_runtime(Settings(data_dir=data_dir))
        video_id = add_video(runtime, bikes_proxy)
        reviewer = create_user(runtime.database, "ana", PASSWORD)
        first = review.video_timeline(runtime, video_id)[0]

        events: list[dict] = []
        client = signed_in(base)
        connected = threading.Event()

        def listen() -> None:
            try:
                with client.stream("GET", f"/api/review/videos/{video_id}/live", timeout=None) as response:
                    for line in response.iter_lines():
                        if line.startswith("data:"):
                            events.append(json.loads(line[5:]))
                            connected.set()
            except httpx.HTTPError:
                pass

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert connected.wait(30), "no initial timeline event"
        review.act_and_show(runtime, reviewer.id, first.id, "approve")
        deadline = time.monotonic() + 30
        while not any(c["id"] == first.id and c["state"] == "review_approved" for e in events for c in e["timeline"]):
            assert time.monotonic() < deadline, events
            time.sleep(0.05)
        # SIGTERM with the stream still open: the server stops by itself
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        client.close()
    finally:
        if runtime is not None:
            runtime.close()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()
        _stop_leftover_postgres(data_dir / "postgres")
        shutil.rmtree(root, ignore_errors=True)
