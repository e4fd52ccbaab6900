"""The job queue (procrastinate on the project's PostgreSQL), seen from code that queues work.

Workers build their own procrastinate app with the tasks registered (`heaters.pipeline.worker`);
everything else — the web app, the CLI, a stage queueing the next one — only needs to *defer* by task
name, which this small synchronous facade does.
"""

from __future__ import annotations

import threading

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from heaters.adapters.db.connection import Database
from heaters.domain.stages import Stage

QUEUE = "heaters"


class JobQueue:
    def __init__(self, database: Database) -> None:
        self._app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=database.libpq_url, min_size=1, max_size=4)
        )
        self._opened = False
        self._open_lock = threading.Lock()

    def _open(self) -> procrastinate.App:
        with self._open_lock:
            if not self._opened:
                self._app.open()
                self._opened = True
        return self._app

    def defer(self, stage: Stage, entity_id: int, *, delay_seconds: float = 0) -> bool:
        """Queue `stage` for the entity; False if a job for it is already waiting (that one will do)."""
        deferrer = self._open().configure_task(
            name=stage.name,
            queue=QUEUE,
            lock=stage.lock(entity_id),
            queueing_lock=stage.lock(entity_id),
            schedule_in={"seconds": delay_seconds} if delay_seconds else None,
        )
        try:
            deferrer.defer(entity_id=entity_id)
        except AlreadyEnqueued:
            return False
        return True

    def close(self) -> None:
        if self._opened:
            self._app.close()
            self._opened = False
