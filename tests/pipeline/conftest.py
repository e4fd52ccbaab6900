"""Pipeline fixtures: a runtime allowed to read the sample-media cache, and a worker run to completion."""

from __future__ import annotations

import pytest

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


def drain(runtime) -> None:
    """Run a real worker until the queue has nothing left to do now."""
    app = build_worker_app(runtime)
    app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, concurrency=1)
