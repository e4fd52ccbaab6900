"""The worker: a procrastinate app with one task per stage, plus periodic recovery.

Tasks are plain functions registered on an explicit app, closing over the runtime. Any number of
workers, on any number of machines, can share one database and one object store: procrastinate hands
each job to one worker, and the per-(stage, entity) lock keeps two jobs for the same entity apart.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import procrastinate

from heaters.adapters.job_queue import QUEUE
from heaters.domain.stages import CHUNK_TASK, MANIFEST_TASK, STAGES, Stage
from heaters.pipeline import recovery
from heaters.pipeline.chunked import run_chunk
from heaters.pipeline.runner import run_stage
from heaters.pipeline.stages import WORK, rewrite_manifest
from heaters.runtime import Runtime

log = logging.getLogger(__name__)


def build_worker_app(runtime: Runtime) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=runtime.database.libpq_url))
    for stage in STAGES.values():
        app.task(name=stage.name, queue=QUEUE)(_stage_task(runtime, stage))

    @app.task(name=CHUNK_TASK, queue=QUEUE)
    def chunk_task(entity_id: int) -> str:
        return run_chunk(runtime, entity_id)

    @app.task(name=MANIFEST_TASK, queue=QUEUE)
    def manifest_task(entity_id: int) -> None:
        rewrite_manifest(runtime, entity_id)

    settings = runtime.settings

    @app.periodic(cron=f"* * * * * */{settings.recovery_interval_seconds}", periodic_id="recover")
    @app.task(name="recover", queue=QUEUE, queueing_lock="recover")
    async def recover(timestamp: int) -> None:
        await recovery.retry_stalled_jobs(app, settings.worker_stalled_seconds)
        await asyncio.to_thread(recovery.requeue_orphans, runtime)

    return app


def _stage_task(runtime: Runtime, stage: Stage):
    work = WORK[stage.name]

    def task(entity_id: int) -> str:
        result = run_stage(runtime, stage, entity_id, lambda row, progress: work(runtime, row, progress))
        return result.outcome  # run_stage logs the start and the end of the run

    task.__name__ = f"{stage.name}_task"
    return task


def run_worker(runtime: Runtime, *, concurrency: int = 1, install_signal_handlers: bool = True) -> None:
    """Run until stopped (Ctrl+C / SIGTERM finish the current jobs first)."""
    app = build_worker_app(runtime)
    app.run_worker(
        queues=[QUEUE],
        concurrency=concurrency,
        install_signal_handlers=install_signal_handlers,
        update_heartbeat_interval=runtime.settings.worker_heartbeat_seconds,
        stalled_worker_timeout=runtime.settings.worker_stalled_seconds,
        delete_jobs="successful",
    )


class WorkerThread:
    """An in-process worker for `heaters serve` (the one-process default set-up) that can be stopped
    cleanly before the database goes away: `stop()` lets running jobs finish (up to a timeout)."""

    def __init__(self, runtime: Runtime, concurrency: int) -> None:
        self._app = build_worker_app(runtime)
        self._options = {
            "queues": [QUEUE],
            "concurrency": concurrency,
            "install_signal_handlers": False,
            "update_heartbeat_interval": runtime.settings.worker_heartbeat_seconds,
            "stalled_worker_timeout": runtime.settings.worker_stalled_seconds,
            "delete_jobs": "successful",
        }
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._run, name="heaters-worker", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            async with self._app.open_async():
                self._task = asyncio.current_task()
                await self._app.run_worker_async(**self._options)

        try:
            self._loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass

    def start(self) -> WorkerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        if self._task is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)


def start_worker_thread(runtime: Runtime, *, concurrency: int = 1) -> WorkerThread:
    return WorkerThread(runtime, concurrency).start()
