"""Workers killed with SIGKILL at random moments lose nothing and repeat nothing.

A full pipeline on real footage (ingest → preprocess → detect → approve every clip → export →
keyframes → embed) runs while the worker *process* is killed at least 10 times and restarted. The result
must equal a clean run: same clips, same exported files (checksums), no duplicate rows, no orphan
objects, and no stage that completed twice for one entity.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from heaters.adapters.db.connection import open_database
from heaters.adapters.db.models import Artifact, Embedding, SourceVideo, StageRun
from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.job_queue import JobQueue
from heaters.adapters.sample_media import fetch
from heaters.adapters.storage import storage_from_settings
from heaters.runtime import Runtime
from heaters.services.ingest import submit_source
from heaters.services.users import create_user
from tests.conftest import new_database, review_queue
from tests.pipeline.conftest import drain

SOURCES = ("bikes.mp4", "Megamind.avi")
KILLS = 10


def worker_env(runtime: Runtime) -> dict[str, str]:
    s = runtime.settings
    return {
        **os.environ,
        "HEATERS_DATA_DIR": str(s.data_path),
        "HEATERS_DATABASE_URL": s.database_url,
        "HEATERS_ALLOWED_ROOTS": json.dumps([str(p) for p in s.allowed_roots]),
        "HEATERS_EXPORT_GRACE_SECONDS": "0",
        "HEATERS_RETRY_BACKOFF_SECONDS": "1",
        "HEATERS_MAX_ATTEMPTS": "3",
        "HEATERS_WORKER_HEARTBEAT_SECONDS": "0.5",
        "HEATERS_WORKER_STALLED_SECONDS": "2",
        "HEATERS_RECOVERY_INTERVAL_SECONDS": "1",
    }


def start_worker(runtime: Runtime) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from heaters.cli import main; main()", "worker"],
        env=worker_env(runtime),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_working(runtime: Runtime, pid: int, timeout: float) -> None:
    """Until the worker process `pid` has started some stage (kills should land in real work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.database.sessions() as session:
            if session.scalar(select(StageRun.id).where(StageRun.worker.endswith(f":{pid}")).limit(1)):
                return
        time.sleep(0.05)


def approve_pending(runtime: Runtime, reviewer_id: int) -> None:
    review_queue(runtime, reviewer_id)


def finished(runtime: Runtime) -> bool:
    with runtime.database.sessions() as session:
        videos = session.scalars(select(SourceVideo.state)).all()
        clips = session.scalars(select(ClipRow.state).where(ClipRow.state != "superseded")).all()
    return set(videos) == {"scenes_detected"} and bool(clips) and set(clips) == {"embedded"}


def outcome(runtime: Runtime) -> dict:
    """What a run produced, in terms that must not depend on crashes: spans, files, counts."""
    with runtime.database.sessions() as session:
        videos = {v.id: v.source for v in session.scalars(select(SourceVideo))}
        clips = session.execute(select(ClipRow.video_id, ClipRow.start_frame, ClipRow.end_frame, ClipRow.state)).all()
        artifacts = session.execute(select(Artifact.video_id, Artifact.kind, Artifact.key, Artifact.sha256)).all()
        embeddings = session.scalar(select(func.count()).select_from(Embedding))
    name = {vid: os.path.basename(source) for vid, source in videos.items()}
    return {
        "clips": sorted((name[v], s, e, st) for v, s, e, st in clips),
        "exports": sorted(
            (name[v], k.split("/", 2)[2].split("_", 1)[1], h) for v, kind, k, h in artifacts if kind == "export"
        ),
        "keyframes": sum(1 for a in artifacts if a[1] == "keyframe"),
        "embeddings": embeddings,
    }


def referenced_keys(runtime: Runtime) -> set[str]:
    with runtime.database.sessions() as session:
        keys = {k for (k,) in session.execute(select(Artifact.key))}
        for v in session.scalars(select(SourceVideo)):
            keys |= {k for k in (v.original_key, v.master_key, v.proxy_key, v.features_key) if k}
    return keys


def make_runtime(base_settings, admin_url, data_dir) -> Runtime:
    settings = base_settings.model_copy(update={"data_dir": data_dir, "database_url": new_database(admin_url)})
    settings.__dict__.pop("data_path", None)  # cached_property of the copied settings
    database = open_database(settings)
    return Runtime(settings, database, storage_from_settings(settings), JobQueue(database))


@pytest.mark.slow
def test_pipeline_survives_sigkill_of_workers(settings, postgres_admin_url, tmp_path):
    for name in SOURCES:
        fetch(name)
    clean = make_runtime(settings, postgres_admin_url, tmp_path / "clean")
    chaos = make_runtime(settings, postgres_admin_url, tmp_path / "chaos")

    # The clean run: one in-process worker, nobody killed.
    clean_reviewer = create_user(clean.database, "ana", "password-1")
    for name in SOURCES:
        submit_source(clean, str(fetch(name)))
    drain(clean)
    approve_pending(clean, clean_reviewer.id)
    drain(clean)
    assert finished(clean)

    # The chaos run: a worker process killed with SIGKILL at random moments, then restarted.
    rng = random.Random(20261125)
    reviewer = create_user(chaos.database, "ana", "password-1")
    for name in SOURCES:
        submit_source(chaos, str(fetch(name)))
    kills, deadline = 0, time.monotonic() + 420
    while time.monotonic() < deadline:
        worker = start_worker(chaos)
        if kills < KILLS:
            wait_until_working(chaos, worker.pid, timeout=15)
            time.sleep(rng.uniform(0.0, 1.5))  # somewhere inside a stage, or between two
            approve_pending(chaos, reviewer.id)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            continue
        while time.monotonic() < deadline and not finished(chaos):  # let the last worker finish
            approve_pending(chaos, reviewer.id)
            time.sleep(0.5)
        worker.terminate()
        worker.wait(timeout=60)
        break
    assert kills >= KILLS
    assert finished(chaos), outcome(chaos)

    assert outcome(chaos) == outcome(clean)
    stored = set(chaos.storage.list(""))
    assert stored == referenced_keys(chaos)  # no orphan objects, no record pointing at a missing one
    with chaos.database.sessions() as session:
        done = session.execute(
            select(StageRun.stage, StageRun.entity_id, func.count())
            .where(StageRun.outcome == "done")
            .group_by(StageRun.stage, StageRun.entity_id)
        ).all()
        interrupted = session.scalar(
            select(func.count()).select_from(StageRun).where(StageRun.outcome == "interrupted")
        )
    assert done and all(count == 1 for *_, count in done)
    assert interrupted >= 1  # the kills did land in the middle of work
    for rt in (clean, chaos):
        rt.close()
