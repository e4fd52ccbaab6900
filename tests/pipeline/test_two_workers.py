"""Two worker processes on one queue: every stage runs exactly once per entity, never concurrently."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest
from sqlalchemy import select

from heaters.adapters.db.models import StageRun
from heaters.adapters.sample_media import fetch
from heaters.services.ingest import submit_source
from heaters.services.users import create_user
from tests.pipeline.test_fault_injection import approve_pending, finished, start_worker

SOURCES = ("bikes.mp4", "Megamind.avi", "carphone_pristine.mp4", "bigbuckbunny.mp4")


@pytest.mark.slow
def test_two_workers_share_the_queue_without_running_a_stage_twice(runtime):
    reviewer = create_user(runtime.database, "ana", "password-1")
    for name in SOURCES:
        submit_source(runtime, str(fetch(name)))
    workers = [start_worker(runtime), start_worker(runtime)]
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and not finished(runtime):
            approve_pending(runtime, reviewer.id)
            time.sleep(0.5)
        assert finished(runtime)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=60)

    with runtime.database.sessions() as session:
        runs = session.scalars(select(StageRun).order_by(StageRun.stage, StageRun.entity_id, StageRun.started_at)).all()
    by_entity: dict[tuple[str, int], list[StageRun]] = {}
    for run in runs:
        by_entity.setdefault((run.stage, run.entity_id), []).append(run)
    for key, entity_runs in by_entity.items():
        assert [r.outcome for r in entity_runs] == ["done"], key  # once, and only once
        for earlier, later in pairwise(entity_runs):
            assert earlier.finished_at <= later.started_at, key
    assert len({r.worker for r in runs}) == 2  # both workers took part
    assert {stage for stage, _ in by_entity} == {
        "download",
        "preprocess",
        "detect_scenes",
        "export",
        "keyframes",
        "embed",
    }
