"""What a running process needs, wired once from the settings: database, storage, job queue, scratch.

Entry points (web app, worker, CLI) call `open_runtime` and pass the result down explicitly;
nothing below them reaches for a global.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from heaters.adapters.db.connection import Database, open_database
from heaters.adapters.job_queue import JobQueue
from heaters.adapters.scratch import Scratch
from heaters.adapters.storage import Storage, storage_from_settings
from heaters.config import Settings, check_settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    storage: Storage
    queue: JobQueue
    _scratch: Scratch | None = field(default=None, repr=False)
    _scratch_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def scratch(self) -> Scratch:
        """This process's scratch directory under data_dir/work (claimed on first use)."""
        with self._scratch_lock:
            if self._scratch is None:
                self._scratch = Scratch(self.settings.data_path / "work")
            return self._scratch

    def close(self) -> None:
        self.queue.close()
        self.database.engine.dispose()
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None


def open_runtime(settings: Settings | None = None, *, migrate: bool | None = None) -> Runtime:
    """`migrate`: None follows the `migrate_on_start` setting (see `open_database`)."""
    settings = check_settings(settings or Settings())
    database = open_database(settings, migrate=migrate)
    return Runtime(
        settings=settings, database=database, storage=storage_from_settings(settings), queue=JobQueue(database)
    )
