"""Pipeline fixtures: a runtime allowed to read the sample-media cache, and a worker run to completion."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from heaters.adapters.job_queue import QUEUE
from heaters.adapters.sample_media import DEFAULT_CACHE
from heaters.pipeline.worker import build_worker_app


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(
        update={
            "allowed_roots": [DEFAULT_CACHE, tmp_path],
            "export_grace_seconds": 0,
            "retry_backoff_seconds": 1,
            "max_attempts": 2,
        }
    )


def drain(runtime, timeout: float = 600) -> None:
    """Run a real worker until no stage job is left, waiting for retries scheduled a little later."""
    app = build_worker_app(runtime)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, concurrency=1)
        with runtime.database.engine.connect() as conn:
            next_at = conn.execute(
                text(
                    "SELECT min(scheduled_at) - now() FROM procrastinate_jobs "
                    "WHERE status = 'todo' AND task_name <> 'recover'"
                )
            ).scalar()
        if next_at is None:
            return
        time.sleep(min(max(next_at.total_seconds(), 0.05), 5))
    raise TimeoutError("the queue did not drain")
