"""What a running process needs, wired once from the settings: database, storage, job queue.

Entry points (web app, worker, CLI) call `open_runtime` and pass the result down explicitly;
nothing below them reaches for a global.
"""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.connection import Database, open_database
from heaters.adapters.job_queue import JobQueue
from heaters.adapters.storage import Storage, storage_from_settings
from heaters.config import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    storage: Storage
    queue: JobQueue

    def close(self) -> None:
        self.queue.close()
        self.database.engine.dispose()


def open_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or Settings()
    database = open_database(settings)
    return Runtime(
        settings=settings, database=database, storage=storage_from_settings(settings), queue=JobQueue(database)
    )
