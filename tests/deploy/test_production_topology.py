"""The README's production topology, for real: nothing is shared between processes but PostgreSQL and S3.

- PostgreSQL runs as a separate server on a TCP port with password authentication; Heaters connects as
  its own non-superuser role that owns the database. The superuser only creates the extensions.
- S3 is moto's server; presigned URLs for browsers are signed for another address (public endpoint).
- `heaters migrate` is run once by the operator; `heaters serve --no-worker` (twice, started together on
  the fresh database) and two `heaters worker`s run as separate processes, each with its own data dir as
  if on its own machine. A fourth data dir is the operator's machine running `heaters ingest PATH`.
- Videos come in by URL (loopback allowed explicitly), by a browser-style upload through the web API, and
  by local path; they are reviewed through the HTTP API (sign in, CSRF, approve) until every approved
  clip is embedded. One worker is killed with SIGKILL mid-preprocess; the other finishes that video, and
  the killed worker's scratch is swept when it starts again.
- At the end: no data dir holds anything, the bucket holds exactly the keys the database references,
  no multipart upload is left unfinished, either web process accepts the other's session and CSRF
  token, and a clip played from S3 through `/clips/{id}/video.mp4` with Range has exactly its frames.
Measured figures (recovery after the kill, peak RSS, database connections per process) are printed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import boto3
import httpx
import numpy as np
import psycopg
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from prometheus_client.parser import text_string_to_metric_families

from heaters.adapters.sample_media import fetch
from tests.deploy.servers import (
    APP_PASSWORD,
    APP_ROLE,
    FileServer,
    PostgresServer,
    free_port,
    start_postgres,
    wait_until,
)

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "deploy-admin-password"
BUCKET = "heaters-deploy"
CLI = [sys.executable, "-c", "from heaters.cli import main; main()"]
LIFECYCLE_RULE = {
    "Rules": [
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
}


class Process:
    """One Heaters process with its own data dir and log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], root: Path):
        self.name, self.args, self.env = name, args, env
        self.log_path = root / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen([*CLI, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self, timeout: float = 60) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode


def data_dir_contents(path: Path) -> list[str]:
    """Everything in a data dir except empty directories."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir() or any(p.iterdir()))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client: httpx.Client, name: str, password: str) -> str:
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/").text)


def frames_of(data_or_path) -> list[np.ndarray]:
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    with av.open(source) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture
def postgres():
    server = start_postgres()
    try:
        server.create_app_database()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def s3_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield port
    server.stop()


def test_production_topology_end_to_end(postgres: PostgresServer, s3_endpoint: int, tmp_path: Path):
    root = Path(tempfile.mkdtemp(prefix="heaters-deploy-", dir="/tmp"))
    internal, public = f"http://127.0.0.1:{s3_endpoint}", f"http://localhost:{s3_endpoint}"
    aws = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "deploy-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-credentials"),
        "AWS_CONFIG_FILE": str(root / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=internal,
        region_name="us-east-1",
        aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket=BUCKET)  # the operator's steps: a bucket and the README's lifecycle rule
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=LIFECYCLE_RULE)

    app_url = postgres.url(APP_ROLE, APP_PASSWORD)
    shared = {  # every setting every process must share (the README's list)
        "HEATERS_DATABASE_URL": app_url,
        "HEATERS_STORAGE_BACKEND": "s3",
        "HEATERS_S3_BUCKET": BUCKET,
        "HEATERS_S3_ENDPOINT_URL": internal,
        "HEATERS_S3_PUBLIC_ENDPOINT_URL": public,
        "HEATERS_S3_PREFIX": "lib",
        "HEATERS_MIGRATE_ON_START": "false",
        "HEATERS_ALLOW_PRIVATE_URLS": '["127.0.0.1"]',
        "HEATERS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # No HEATERS_SECRET_KEY: the two web processes share the secret kept in the database, and must accept
        # each other's sessions with no secret configured at all.
        "HEATERS_EXPORT_GRACE_SECONDS": "0",
        "HEATERS_RETRY_BACKOFF_SECONDS": "1",
        "HEATERS_WORKER_HEARTBEAT_SECONDS": "0.5",
        "HEATERS_WORKER_STALLED_SECONDS": "3",
        "HEATERS_RECOVERY_INTERVAL_SECONDS": "1",
    }
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HEATERS_", "AWS_"))}
    base_env.update(aws, PYTHONUNBUFFERED="1", **shared)

    def env_for(name: str, **extra: str) -> dict[str, str]:
        data_dir = root / name
        data_dir.mkdir(exist_ok=True)
        return {**base_env, "HEATERS_DATA_DIR": str(data_dir), **extra}

    def database(sql: str, *params):
        with psycopg.connect(app_url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    # 1. Migrations: the app role cannot create extensions; the real error says what the superuser must do.
    refused = subprocess.run([*CLI, "migrate"], env=env_for("operator"), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    message = " ".join((refused.stdout + refused.stderr).split())
    assert "permission denied to create extension" in message and "CREATE EXTENSION IF NOT EXISTS vector" in message
    assert "InFailedSqlTransaction" not in message and APP_PASSWORD not in message
    postgres.create_extensions()
    migrated = subprocess.run([*CLI, "migrate"], env=env_for("operator"), capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    # 2. Two web processes start together on the fresh database (race for the first user), two workers.
    ports = free_port(), free_port()
    webs = [
        Process(f"web{i}", ["serve", "--no-worker", "--port", str(port)], env_for(f"web{i}"), root).start()
        for i, port in enumerate(ports, 1)
    ]
    worker_a = Process("worker-a", ["worker"], env_for("worker-a"), root).start()
    worker_b = Process("worker-b", ["worker"], env_for("worker-b", HEATERS_LOG_FORMAT="json"), root).start()
    workers = {worker_a.pid: worker_a, worker_b.pid: worker_b}
    processes = [*webs, worker_a, worker_b]
    web_urls = [f"http://127.0.0.1:{port}" for port in ports]

    def healthy(url: str) -> bool:
        try:
            return httpx.get(url + "/ready", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    media = root / "media"
    media.mkdir()
    for name in ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4"):
        shutil.copyfile(fetch(name), media / name)
    operator_files = root / "operator-files"
    operator_files.mkdir()
    shutil.copyfile(media / "bigbuckbunny.mp4", operator_files / "bunny.mp4")

    connections: dict[str, int] = {}

    def sample_connections() -> None:
        for application, count in database(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE usename = %s GROUP BY 1", APP_ROLE
        ):
            connections[application] = max(connections.get(application, 0), count)

    try:
        for web, url in zip(webs, web_urls, strict=True):
            wait_until(lambda url=url, web=web: healthy(url) or web.popen.poll() is not None, 120, f"{web.name}")
            assert web.popen.poll() is None, web.log()
        assert database("SELECT name FROM users") == [("admin",)]
        assert sum("Created the first reviewer" in web.log() for web in webs) == 1

        client = httpx.Client(base_url=web_urls[0], follow_redirects=False, timeout=60)
        csrf = sign_in(client, "admin", ADMIN_PASSWORD)
        headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}

        # 3. Ingest three ways: URL (loopback allowed), browser-style upload, `heaters ingest PATH`.
        with FileServer(media) as files:
            by_url = client.post(
                "/videos", data={"source": f"{files.base_url}/bikes.mp4", "csrf_token": csrf}, headers=headers
            )
            assert by_url.status_code == 200, by_url.text
            upload = (media / "carphone_pristine.mp4").read_bytes()
            uploaded = client.post(
                "/videos/upload", files={"file": ("carphone.mp4", upload, "video/mp4")}, headers=headers
            )
            assert uploaded.status_code == 200, uploaded.text
            ingest = subprocess.run(
                [*CLI, "ingest", str(operator_files / "bunny.mp4"), "--json"],
                env=env_for("operator", HEATERS_ALLOWED_ROOTS=json.dumps([str(operator_files)])),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert ingest.returncode == 0, ingest.stdout + ingest.stderr
            video_ids = {
                "url": by_url.json()["video_id"],
                "upload": uploaded.json()["video_id"],
                "path": json.loads(ingest.stdout)["videos"][0]["id"],
            }

            # 4. SIGKILL a worker in the middle of a preprocess; the other worker finishes that video.
            running = wait_until(
                lambda: database(
                    "SELECT entity_id, worker FROM stage_runs WHERE stage = 'preprocess' AND outcome = 'running'"
                ),
                240,
                "a preprocess to start",
                interval=0.02,
            )
            killed_video, worker_name = running[0]
            victim = workers[int(worker_name.rsplit(":", 1)[1])]
            survivor = worker_b if victim is worker_a else worker_a
            wait_until(  # its scratch is in use: the original is being read or decoded
                lambda: any("/preprocess-" in p for p in leftover_now(victim)), 60, "preprocess scratch", interval=0.01
            )
            victim.popen.send_signal(signal.SIGKILL)
            killed_at = time.time()
            victim.popen.wait(10)
            leftover = data_dir_contents(Path(victim.env["HEATERS_DATA_DIR"]))
            assert any(p.startswith("work/run-") for p in leftover), leftover  # a kill leaves scratch behind
            finished = wait_until(
                lambda: database(
                    "SELECT worker, started_at, finished_at FROM stage_runs "
                    "WHERE stage = 'preprocess' AND entity_id = %s AND outcome = 'done'",
                    killed_video,
                ),
                240,
                "the surviving worker to finish the killed preprocess",
            )
            assert finished[0][0].endswith(f":{survivor.pid}")
            restarted_after = finished[0][1].timestamp() - killed_at
            survivor_busy = database(  # the survivor runs one job at a time: its own work comes first
                "SELECT max(finished_at) FROM stage_runs WHERE worker = %s AND started_at < %s",
                finished[0][0],
                finished[0][1],
            )[0][0]
            busy_after = max(0.0, survivor_busy.timestamp() - killed_at) if survivor_busy else 0.0
            recovered_after = finished[0][2].timestamp() - killed_at
            # The killed worker starts again on its machine and sweeps what the dead run left.
            victim.start()
            workers[victim.pid] = victim
            wait_until(lambda: not any(p.startswith("work/run-") for p in leftover_now(victim)), 120, "the sweep")

            # 5. Review through the HTTP API until every approved clip is embedded.
            def all_done() -> bool:
                sample_connections()
                while (clip := client.get("/api/review/next").json().get("clip")) is not None:
                    answer = client.post(
                        f"/api/clips/{clip['id']}/actions", json={"action": "approve"}, headers=headers
                    )
                    assert answer.status_code == 200, answer.text
                videos = dict(database("SELECT id, state FROM source_videos"))
                failed = [v for v in videos.values() if v.endswith("_failed")]
                assert not failed, database("SELECT id, state, last_error FROM source_videos")
                clips = [s for (s,) in database("SELECT state FROM clips WHERE state <> 'superseded'")]
                return (
                    set(videos) == set(video_ids.values())
                    and set(videos.values()) == {"scenes_detected"}
                    and clips
                    and set(clips) == {"embedded"}
                )

            wait_until(all_done, 480, "every approved clip to be embedded", interval=1)

        # 6. Playback from S3: exactly the clip's frames, through Range requests.
        clip_id, start, end, proxy_key = database(
            "SELECT c.id, c.start_frame, c.end_frame, v.proxy_key FROM clips c JOIN source_videos v "
            "ON v.id = c.video_id WHERE v.id = %s AND c.start_frame > 0 ORDER BY c.start_frame LIMIT 1",
            video_ids["url"],
        )[0]
        first = client.get(f"/clips/{clip_id}/video.mp4", headers={"Range": "bytes=0-999"})
        assert first.status_code == 206 and len(first.content) == 1000
        size = int(first.headers["content-range"].rsplit("/", 1)[1])
        rest = client.get(f"/clips/{clip_id}/video.mp4", headers={"Range": f"bytes=1000-{size - 1}"})
        assert rest.status_code == 206
        proxy = root / "proxy.mp4"
        s3.download_file(BUCKET, f"lib/{proxy_key}", str(proxy))
        played, expected = frames_of(first.content + rest.content), frames_of(proxy)[start:end]
        assert len(played) == end - start
        assert all(np.array_equal(a, b) for a, b in zip(played, expected, strict=True))
        # The exported file is handed to the browser as a presigned URL for the public address.
        export = client.get(f"/clips/{clip_id}/export.mp4")
        assert export.status_code == 307 and export.headers["location"].startswith(public + "/")
        assert httpx.get(export.headers["location"], headers={"Range": "bytes=0-9"}).status_code == 206

        # 7. Either web process accepts the other's session and CSRF token.
        other = httpx.Client(base_url=web_urls[1], cookies=client.cookies, follow_redirects=False, timeout=60)
        assert other.get("/api/videos").status_code == 200
        again = other.post(
            "/videos", data={"source": f"{files.base_url}/bikes.mp4", "csrf_token": csrf}, headers=headers
        )
        assert again.status_code == 200 and again.json()["created"] is False

        # 8. Operations: readiness, metrics from the database, structured logs.
        assert other.get("/ready").json() == {"status": "ready", "database": "ok", "storage": "ok", "queue": "ok"}
        metrics = other.get("/metrics").text
        clip_count = database("SELECT count(*) FROM clips WHERE state = 'embedded'")[0][0]
        assert f'heaters_clips{{state="embedded"}} {float(clip_count)}' in metrics
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
        }
        done_preprocess = (("outcome", "done"), ("stage", "preprocess"))
        assert samples[("heaters_stage_duration_seconds_count", done_preprocess)] == 3
        assert re.search(r"^\S+Z INFO +heaters\.access: GET /api/review/next 200", webs[0].log(), re.MULTILINE)
        json_lines = [json.loads(line) for line in worker_b.log().splitlines() if line.startswith("{")]
        assert any(e.get("stage") == "embed" and e.get("outcome") == "done" for e in json_lines)
        assert all({"time", "level", "logger", "message"} <= e.keys() for e in json_lines)
        assert not [e for (e,) in database("SELECT last_error FROM source_videos") if e and "X-Amz" in e]

        peak_rss = {p.name: p.peak_rss_mb() for p in [*webs, worker_a, worker_b]}
        sample_connections()
        names = {p.pid: p.name for p in processes}
        names.update({p.pid: p.name for p in workers.values()})
    finally:
        for process in [*webs, *workers.values()]:
            if process.popen is not None:
                process.stop()
        for process in [*webs, *workers.values()]:
            if process.popen.returncode not in (0, -signal.SIGKILL):
                print(f"--- {process.name} exited with {process.popen.returncode}:\n{process.log()[-4000:]}")

    # 9. The end state: nothing on any machine's disk, the bucket holds exactly what the database names.
    for name in ("web1", "web2", "worker-a", "worker-b", "operator"):
        assert data_dir_contents(root / name) == [], name
    referenced = {
        key
        for (key,) in database(
            "SELECT unnest(ARRAY[original_key, master_key, proxy_key, features_key]) FROM source_videos "
            "UNION SELECT key FROM artifacts"
        )
        if key
    }
    stored = {o["Key"].removeprefix("lib/") for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
              for o in page.get("Contents", [])}  # fmt: skip
    assert stored == referenced
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []

    by_process: dict[str, int] = {}
    for application, count in connections.items():
        pid = int(application.rsplit(":", 1)[1]) if application.startswith("heaters:") else None
        by_process[f"{names.get(pid, 'test harness')} ({application or 'no name'})"] = count
    print("\nDEPLOYMENT FIGURES")
    print(f"  killed worker during preprocess of video {killed_video}")
    print(f"  kill -> surviving worker free of its own job:        {busy_after:.1f} s")
    print(f"  kill -> surviving worker starts the preprocess again: {restarted_after:.1f} s")
    print(f"  kill -> preprocess of that video done:              {recovered_after:.1f} s")
    for name, mb in peak_rss.items():
        print(f"  peak RSS {name:<9} {mb:7.1f} MB")
    for name, count in sorted(by_process.items()):
        print(f"  max DB connections {name}: {count}")
    shutil.rmtree(root, ignore_errors=True)


def leftover_now(process: Process) -> list[str]:
    return data_dir_contents(Path(process.env["HEATERS_DATA_DIR"]))
