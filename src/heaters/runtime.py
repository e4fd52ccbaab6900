"""What a running process needs, wired once from the settings: the database and the storage.

Entry points (web app, worker, CLI) call `open_runtime` and pass the result down explicitly;
nothing below them reaches for a global.
"""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.connection import Database, open_database
from heaters.adapters.storage import Storage, storage_from_settings
from heaters.config import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    storage: Storage

    def close(self) -> None:
        self.database.engine.dispose()


def open_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or Settings()
    return Runtime(settings=settings, database=open_database(settings), storage=storage_from_settings(settings))
