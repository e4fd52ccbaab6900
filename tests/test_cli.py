"""The `heaters` command line, run as a user runs it: a real process, real database, real files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx

from heaters.adapters.sample_media import DEFAULT_CACHE, fetch

CLI = [sys.executable, "-c", "from heaters.cli import main; main()"]


def env_for(settings) -> dict[str, str]:
    return {
        **os.environ,
        "HEATERS_DATA_DIR": str(settings.data_path),
        "HEATERS_DATABASE_URL": settings.database_url,
        "HEATERS_ALLOWED_ROOTS": json.dumps([str(DEFAULT_CACHE)]),
    }


def run(settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env_for(settings), capture_output=True, text=True, timeout=timeout)


def test_status_json_lists_every_state(settings):
    result = run(settings, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["videos"]["new"] == 0 and status["clips"]["pending_review"] == 0
    assert status["recent_videos"] == []


def test_ingest_wait_follows_a_video_to_review_ready(settings):
    bikes = str(fetch("bikes.mp4"))
    result = run(settings, "ingest", bikes, "--wait", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    (video,) = json.loads(result.stdout)["videos"]
    assert (video["state"], video["frames"], video["created"]) == ("scenes_detected", 250, True)
    assert video["clips"] >= 5
    again = json.loads(run(settings, "ingest", bikes, "--json").stdout)["videos"][0]
    assert (again["id"], again["created"]) == (video["id"], False)  # not ingested twice


def test_a_domain_error_is_a_message_and_exit_code_2_not_a_traceback(settings):
    result = run(settings, "retry", "video:999")
    assert result.returncode == 2
    assert "no video 999" in result.stderr and "Traceback" not in result.stdout + result.stderr


def test_serve_answers_health_and_prints_where_to_sign_in(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**env_for(settings), "HEATERS_ADMIN_PASSWORD": "correct-horse"}
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--no-worker"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()
        assert ready == {"status": "ready", "database": "ok", "storage": "ok", "queue": "ok"}
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'heaters_queue_jobs{stage="preprocess",status="todo"} 0.0' in metrics
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in output and "admin" in output


def test_ingest_refuses_at_submit_time_naming_the_setting(settings, tmp_path):
    private = run(settings, "ingest", "http://10.0.0.1/x.mp4")
    assert private.returncode == 2
    assert "HEATERS_ALLOW_PRIVATE_URLS" in private.stdout + private.stderr
    outside = run(settings, "ingest", "/etc/hostname")
    assert outside.returncode == 2
    assert "HEATERS_ALLOWED_ROOTS" in " ".join((outside.stdout + outside.stderr).split())
    status = json.loads(run(settings, "status", "--json").stdout)
    assert status["recent_videos"] == []  # nothing recorded
